"""Configuration: schema validation, preset merging and cross-key checks.

The schema (``schemas/config.schema.yaml``) covers types, ranges and unknown keys; the
checks here need several keys at once. Every error names the offending key, so a bad
config fails before any job runs.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base`` the way Snakemake merges ``--configfile``.

    Nested mappings merge key by key; lists and scalars are replaced whole.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(root: str | Path, *presets: str | Path) -> dict:
    """``config.yaml`` under ``root`` with ``presets`` merged over it, validated and checked."""
    root = Path(root)
    config = yaml.safe_load((root / "config.yaml").read_text())
    for preset in presets:
        config = deep_merge(config, yaml.safe_load(Path(preset).read_text()) or {})
    validate_schema(config, root / "schemas" / "config.schema.yaml")
    check_config(config)
    return config


def validate_schema(config: dict, schema_path: str | Path) -> None:
    """Validate ``config`` against the JSON schema; raise ConfigError naming the key path."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "<top level>"
        raise ConfigError(f"config key {key}: {error.message}")


def gnn_variant_spec(config: dict, variant: str) -> dict:
    """``gnn.defaults`` overridden by ``gnn.variants.<variant>``, keys sorted for stable params."""
    gnn = config["gnn"]
    if variant not in gnn["variants"]:
        raise ConfigError(f"config key gnn.variants: no variant named {variant!r}; defined: {sorted(gnn['variants'])}")
    merged = {**gnn["defaults"], **gnn["variants"][variant]}
    return dict(sorted(merged.items()))


def check_config(config: dict) -> None:
    """Cross-key checks; raise ConfigError naming the key."""
    if config.get("experiments", {}).get("gnn"):
        _check_gnn(config)


def _check_gnn(config: dict) -> None:
    from medlab.gnn.spec import TrainSpec

    gnn = config["gnn"]
    known_datasets = set(config["datasets"]) | set(config["packaged_datasets"])
    for index, name in enumerate(gnn["datasets"]):
        if name not in known_datasets:
            raise ConfigError(f"config key gnn.datasets[{index}]: {name!r} is not defined under datasets or packaged_datasets")
        if name not in gnn["tables"]:
            raise ConfigError(f"config key gnn.tables: no entry for dataset {name!r} (which columns hold SMILES and labels)")
    for index, name in enumerate(gnn["run_variants"]):
        if name not in gnn["variants"]:
            raise ConfigError(f"config key gnn.run_variants[{index}]: {name!r} is not defined under gnn.variants")
    for name in gnn["variants"]:
        try:
            TrainSpec.from_dict(gnn_variant_spec(config, name))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"config key gnn.variants.{name}: {error}") from error
    for comparison, members in gnn["comparisons"].items():
        for member in members:
            if member not in gnn["variants"]:
                raise ConfigError(f"config key gnn.comparisons.{comparison}: {member!r} is not defined under gnn.variants")
    fractions = gnn["split_fractions"]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(f"config key gnn.split_fractions: {fractions} must sum to 1")
