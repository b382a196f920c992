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
        raise ConfigError(
            f"config key gnn.variants: no variant named {variant!r}; defined: {sorted(gnn['variants'])}"
        )
    merged = {**gnn["defaults"], **gnn["variants"][variant]}
    return dict(sorted(merged.items()))


def check_config(config: dict) -> None:
    """Cross-key checks; raise ConfigError naming the key."""
    if config.get("experiments", {}).get("gnn"):
        _check_gnn(config)
    if config.get("experiments", {}).get("rag"):
        _check_rag(config)
    if config.get("experiments", {}).get("multilabel"):
        _check_multilabel(config)


def _check_multilabel(config: dict) -> None:
    settings = config["multilabel"]
    if settings["unit"] == "sentence" and settings["dataset"] != "hoc":
        raise ConfigError(
            f"config key multilabel.unit: sentence units need sentence labels, which only the hoc dataset has (dataset is {settings['dataset']!r})"
        )


def _check_rag(config: dict) -> None:
    rag = config["rag"]
    corpus = rag["corpus"]
    if corpus["format"] == "jsonl" and not (corpus["documents"] and corpus["questions"]):
        raise ConfigError(
            "config key rag.corpus: format jsonl needs both `documents` and `questions` paths"
        )
    if corpus["format"] == "squad":
        if bool(corpus["file"]) == bool(corpus["dataset"]):
            raise ConfigError(
                "config key rag.corpus: format squad needs exactly one of `file` (a local path) or `dataset`"
            )
        if corpus["dataset"] and corpus["dataset"] not in config["datasets"]:
            raise ConfigError(
                f"config key rag.corpus.dataset: {corpus['dataset']!r} is not defined under datasets"
            )
    if rag["passages"]["overlap"] >= rag["passages"]["size"]:
        raise ConfigError(
            f"config key rag.passages.overlap: {rag['passages']['overlap']} must be smaller than size {rag['passages']['size']}"
        )
    if abs(sum(rag["split_fractions"]) - 1.0) > 1e-6:
        raise ConfigError(f"config key rag.split_fractions: {rag['split_fractions']} must sum to 1")
    deepest = max(rag["top_k"] + ([rag["adaptive"]["max_k"]] if rag["adaptive"]["enabled"] else []))
    if rag["retrieval_depth"] < deepest:
        raise ConfigError(
            f"config key rag.retrieval_depth: {rag['retrieval_depth']} is below the largest cutoff {deepest} (top_k / adaptive.max_k)"
        )
    if rag["adaptive"]["min_k"] > rag["adaptive"]["max_k"]:
        raise ConfigError("config key rag.adaptive.min_k: must not exceed max_k")
    if "dense_finetuned" in rag_base_retrievers(rag) and not rag["retriever_training"]["enabled"]:
        raise ConfigError(
            "config key rag.retrievers: dense_finetuned (or hybrid.dense: dense_finetuned) needs rag.retriever_training.enabled: true"
        )
    if "hybrid_rerank" in rag["retrievers"] and not rag["reranker"]:
        raise ConfigError(
            "config key rag.retrievers: hybrid_rerank needs a cross-encoder in rag.reranker"
        )
    for index, method in enumerate(rag["read_methods"]):
        if method not in rag["retrievers"]:
            raise ConfigError(
                f"config key rag.read_methods[{index}]: {method!r} is not in rag.retrievers"
            )
    if rag["focus_method"] not in rag["read_methods"]:
        raise ConfigError(
            f"config key rag.focus_method: {rag['focus_method']!r} is not in rag.read_methods"
        )


def rag_base_retrievers(rag: dict) -> list[str]:
    """The indexes the configured methods need: bm25, dense and/or dense_finetuned."""
    needed = {m for m in rag["retrievers"] if m in ("bm25", "dense", "dense_finetuned")}
    if any(m.startswith("hybrid") for m in rag["retrievers"]):
        needed |= {"bm25", rag["hybrid"]["dense"]}
    return sorted(needed)


def _check_gnn(config: dict) -> None:
    from medlab.gnn.spec import TrainSpec

    gnn = config["gnn"]
    known_datasets = set(config["datasets"]) | set(config["packaged_datasets"])
    for index, name in enumerate(gnn["datasets"]):
        if name not in known_datasets:
            raise ConfigError(
                f"config key gnn.datasets[{index}]: {name!r} is not defined under datasets or packaged_datasets"
            )
        if name not in gnn["tables"]:
            raise ConfigError(
                f"config key gnn.tables: no entry for dataset {name!r} (which columns hold SMILES and labels)"
            )
    for index, name in enumerate(gnn["run_variants"]):
        if name not in gnn["variants"]:
            raise ConfigError(
                f"config key gnn.run_variants[{index}]: {name!r} is not defined under gnn.variants"
            )
    for name in gnn["variants"]:
        try:
            TrainSpec.from_dict(gnn_variant_spec(config, name))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"config key gnn.variants.{name}: {error}") from error
    for comparison, members in gnn["comparisons"].items():
        for member in members:
            if member not in gnn["variants"]:
                raise ConfigError(
                    f"config key gnn.comparisons.{comparison}: {member!r} is not defined under gnn.variants"
                )
    fractions = gnn["split_fractions"]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(f"config key gnn.split_fractions: {fractions} must sum to 1")
