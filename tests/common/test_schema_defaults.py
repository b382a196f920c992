"""Defaults live in schemas/config.schema.yaml: a dataclass that mirrors config keys may
carry a default only when it equals the schema's."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from medlab.gnn.featurize import TableSpec
from medlab.gnn.spec import ModelSpec, TrainSpec
from medlab.multilabel.train import FineTuneSpec

SCHEMA = yaml.safe_load((Path(__file__).parents[2] / "schemas" / "config.schema.yaml").read_text())
PROPERTIES = SCHEMA["properties"]

# dataclass -> the schema properties its fields mirror
MIRRORS = {
    ModelSpec: SCHEMA["$defs"]["gnn_options"]["properties"],
    TrainSpec: SCHEMA["$defs"]["gnn_options"]["properties"],
    FineTuneSpec: PROPERTIES["multilabel"]["properties"]["training"]["properties"],
    TableSpec: SCHEMA["$defs"]["molecule_table"]["properties"],
}


def _field_default(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


@pytest.mark.parametrize("spec", list(MIRRORS), ids=lambda spec: spec.__name__)
def test_dataclass_defaults_equal_the_schema_defaults(spec):
    properties = MIRRORS[spec]
    for field in dataclasses.fields(spec):
        default = _field_default(field)
        if default is dataclasses.MISSING:
            continue
        assert field.name in properties, (
            f"{spec.__name__}.{field.name} has a default but no schema key to take it from"
        )
        assert default == properties[field.name]["default"], (
            f"{spec.__name__}.{field.name} defaults to {default!r}, the schema to "
            f"{properties[field.name]['default']!r}"
        )


@pytest.mark.parametrize("spec", [ModelSpec, TrainSpec, FineTuneSpec], ids=lambda s: s.__name__)
def test_training_specs_take_every_value_from_the_config(spec):
    assert all(_field_default(f) is dataclasses.MISSING for f in dataclasses.fields(spec))
