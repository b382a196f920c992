import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from medlab.gnn.spec import ARCHS_WITH_EDGE_FEATURES, GNN_LOSSES, SCHEDULERS
from medlab.registry import (
    ARCHITECTURES,
    HEAD_SELECTIONS,
    LOSSES,
    POOLINGS,
    SPLIT_KINDS,
    Registry,
)

SCHEMA = yaml.safe_load((Path(__file__).parents[2] / "schemas" / "config.schema.yaml").read_text())
GNN_OPTIONS = SCHEMA["$defs"]["gnn_options"]["properties"]
PROPERTIES = SCHEMA["properties"]
DISABLED_HEADS = PROPERTIES["attention"]["properties"]["disabled_heads"]["properties"]


@pytest.mark.parametrize(
    "names, enum",
    [
        (ARCHITECTURES.names(), GNN_OPTIONS["arch"]["enum"]),
        (POOLINGS.names(), GNN_OPTIONS["pooling"]["enum"]),
        (GNN_LOSSES, GNN_OPTIONS["loss"]["enum"]),
        (SCHEDULERS, GNN_OPTIONS["lr_scheduler"]["enum"]),
        (
            LOSSES.names(),
            PROPERTIES["multilabel"]["properties"]["grid"]["properties"]["loss"]["items"]["enum"],
        ),
        (SPLIT_KINDS.names(), PROPERTIES["gnn"]["properties"]["splits"]["items"]["enum"]),
        (HEAD_SELECTIONS.names(), DISABLED_HEADS["policy"]["enum"]),
    ],
    ids=["architectures", "poolings", "gnn losses", "schedulers", "losses", "split kinds", "heads"],
)
def test_names_equal_the_schema_enum(names, enum):
    assert list(names) == enum


def test_subsets_name_registered_parts():
    assert set(GNN_LOSSES) <= set(LOSSES.names())
    assert set(ARCHS_WITH_EDGE_FEATURES) <= set(ARCHITECTURES.names())


@pytest.mark.parametrize(
    "registry", [ARCHITECTURES, POOLINGS, LOSSES, SPLIT_KINDS, HEAD_SELECTIONS], ids=repr
)
def test_every_declared_name_has_an_implementation(registry):
    for name in registry.names():
        assert callable(registry.get(name))


def test_reading_the_names_imports_no_torch():
    # the workflow reads them while Snakemake parses the Snakefile
    code = (
        "import sys, medlab.registry, medlab.gnn.spec; "
        "print(medlab.registry.LOSSES.names()); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match=r"unknown loss 'huber'; expected one of \['bce'"):
        LOSSES.get("huber")
    assert "gat" in ARCHITECTURES and "huber" not in LOSSES


def test_registration_is_checked():
    registry = Registry("colour", ("red", "blue"), implemented_in="medlab.registry")
    registry.register("red")(lambda: "r")
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("red")
    with pytest.raises(ValueError, match="unknown colour 'green'"):
        registry.register("green")
    assert registry.get("red")() == "r"
    with pytest.raises(LookupError, match="no implementation"):
        registry.get("blue")
