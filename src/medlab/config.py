"""Configuration: schema validation, preset merging and cross-key checks.

The schema (``schemas/config.schema.yaml``) covers types, ranges and unknown keys; the
checks here need several keys at once. Every error names the offending key, so a bad
config fails before any job runs.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path

import jsonschema
import yaml
from snakemake.utils import update_config

from medlab.attention.ranges import check_attention_ranges, model_shape
from medlab.errors import ConfigError  # also imported from here by callers of load_config
from medlab.gnn.spec import TrainSpec
from medlab.multilabel.ensemble import BASELINE_NAME
from medlab.rag.layout import rag_base_retrievers, reader_uses_synthetic

# Maps of named things that a preset replaces whole instead of extending: a preset naming its
# own attention models means "these models", not "these as well as config.yaml's".
REPLACED_MAPS: tuple[tuple[str, ...], ...] = (("attention", "models"),)


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base`` the way Snakemake merges ``--configfile``.

    Nested mappings merge key by key; lists and scalars are replaced whole. Snakemake's own
    ``update_config`` does the merge, so presets loaded here and by Snakemake agree. The maps
    in ``REPLACED_MAPS`` are the exception: an override that sets one replaces it whole (the
    Snakefile applies the same rule with ``replace_preset_maps``).
    """
    merged = copy.deepcopy(base)
    update_config(merged, copy.deepcopy(override))
    _replace_maps(merged, override)
    return merged


def replace_preset_maps(config: dict, preset_paths) -> None:
    """Give ``config`` (already merged by Snakemake) the ``REPLACED_MAPS`` of its presets.

    Snakemake merges every ``--configfile`` key by key; for each map in ``REPLACED_MAPS`` the
    last preset in ``preset_paths`` that sets it wins whole, as ``load_config`` does.
    """
    for path in preset_paths:
        _replace_maps(config, _read_yaml_mapping(Path(path)))


def _replace_maps(config: dict, override: dict) -> None:
    for keys in REPLACED_MAPS:
        value = _nested_get(override, keys)
        if value is not None:
            _nested_get(config, keys[:-1])[keys[-1]] = copy.deepcopy(value)


def _nested_get(mapping: dict, keys: tuple[str, ...]):
    """``mapping[k1][k2]...`` or None when any level is missing or not a mapping."""
    for key in keys:
        if not isinstance(mapping, dict) or key not in mapping:
            return None
        mapping = mapping[key]
    return mapping


def load_config(root: str | Path, *presets: str | Path) -> dict:
    """``config.yaml`` under ``root`` with ``presets`` merged over it, validated and checked.

    Raises ConfigError naming the file when a preset is missing or not a YAML mapping, and
    naming the key for anything the schema or the cross-key checks reject.
    """
    root = Path(root)
    config = _read_yaml_mapping(root / "config.yaml")
    for preset in presets:
        config = deep_merge(config, _read_yaml_mapping(Path(preset)))
    schema_path = root / "schemas" / "config.schema.yaml"
    check_unknown_keys(config, schema_path)
    validate_schema(config, schema_path)
    check_config(config)
    return config


def _read_yaml_mapping(path: Path) -> dict:
    """A YAML file holding a mapping (an empty file is an empty mapping)."""
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist; check the path given to --configfile"
        )
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(
            f"config file {path} holds a {type(content).__name__}, not a mapping of keys"
        )
    return content


def _load_schema(schema_path: str | Path) -> dict:
    return yaml.safe_load(Path(schema_path).read_text())


def check_unknown_keys(config: dict, schema_path: str | Path) -> None:
    """Raise ConfigError for the first key the schema does not define, with the nearest valid key.

    Runs before the full schema validation: a typo then reads as one line
    (``config key gnn.defualts: unknown key; did you mean gnn.defaults?``) rather than
    a validation error that prints the whole configuration.
    """
    schema = _load_schema(schema_path)
    for path, key, known in _unknown_keys(config, schema, schema, ()):
        where = ".".join((*path, key))
        nearest = difflib.get_close_matches(key, known, n=1)
        hint = (
            f"did you mean {'.'.join((*path, nearest[0]))}?"
            if nearest
            else f"valid keys here: {', '.join(sorted(known))}"
        )
        raise ConfigError(
            f"config key {where}: unknown key; {hint} (every key is listed in "
            f"schemas/config.schema.yaml)"
        )


def _resolve(schema: dict, root: dict) -> dict:
    """``schema`` with a local ``$ref`` followed and ``allOf`` parts merged in (one level)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**root["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    for part in schema.get("allOf", []):
        schema = {**_resolve(part, root), **{k: v for k, v in schema.items() if k != "allOf"}}
    return schema


def _unknown_keys(value, schema: dict, root: dict, path: tuple[str, ...]):
    """Yield (path, key, known keys) for each key of ``value`` its schema does not allow."""
    if not isinstance(value, dict):
        return
    schema = _resolve(schema, root)
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, child in value.items():
        key = str(key)
        if key in properties:
            yield from _unknown_keys(child, properties[key], root, (*path, key))
        elif isinstance(extra, dict):
            yield from _unknown_keys(child, extra, root, (*path, key))
        elif extra is False:
            yield path, key, list(properties)


def validate_schema(config: dict, schema_path: str | Path) -> None:
    """Validate ``config`` against the JSON schema; raise ConfigError naming the key path."""
    schema = _load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "<top level>"
        if "propertyNames" in error.schema_path:
            raise ConfigError(
                f"config key {key}: the name {error.instance!r} is not allowed; names become "
                "directories under results/, so use letters, digits, '_' and '-' only"
            )
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
    check_model_ranges(config)


def _check_split_fractions(config: dict, experiment: str) -> None:
    fractions = config[experiment]["split_fractions"]
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ConfigError(
            f"config key {experiment}.split_fractions: {fractions} must sum to 1 "
            f"(train, validation, test; they sum to {sum(fractions):g})"
        )


def _check_multilabel(config: dict) -> None:
    settings = config["multilabel"]
    _check_split_fractions(config, "multilabel")
    if settings["unit"] == "sentence" and settings["dataset"] != "hoc":
        raise ConfigError(
            f"config key multilabel.unit: sentence units need sentence labels, which only the hoc dataset has (dataset is {settings['dataset']!r})"
        )
    windows = settings.get("windows", {})
    if windows.get("enabled") and settings["unit"] != "document":
        raise ConfigError(
            "config key multilabel.windows.enabled: token windows split whole documents; "
            f"set multilabel.unit to document (it is {settings['unit']!r})"
        )
    # two special tokens ([CLS] and [SEP], <s> and </s>) in every window of a single text
    if windows.get("enabled") and windows["stride"] > windows["length"] - 2:
        raise ConfigError(
            f"config key multilabel.windows.stride: {windows['stride']} would skip tokens "
            f"between windows of {windows['length']} tokens; use at most {windows['length'] - 2}"
        )
    cells = multilabel_cell_names(settings["grid"])
    members = cells + ([BASELINE_NAME] if settings["baseline"]["enabled"] else [])
    for index, name in enumerate(settings.get("ensemble", [])):
        if name not in members:
            raise ConfigError(
                f"config key multilabel.ensemble[{index}]: {name!r} is not a cell of "
                f"multilabel.grid (nor {BASELINE_NAME!r} with multilabel.baseline.enabled); "
                f"the cells are {', '.join(cells)}"
            )


def multilabel_cell_names(grid: dict) -> list[str]:
    """The run directory name of every cell of ``multilabel.grid``, as rules/multilabel.smk
    writes it (learning rate as %g)."""
    return [
        f"bs{batch_size}_lr{lr:g}_{loss}_seed{seed}"
        for batch_size in grid["batch_size"]
        for lr in grid["lr"]
        for loss in grid["loss"]
        for seed in grid["seed"]
    ]


def _check_rag(config: dict) -> None:
    rag = config["rag"]
    corpus = rag["corpus"]
    reader = rag["reader"]
    if "extractive" in rag["readers"] and reader["stride"] * 2 > reader["max_length"]:
        # the tokenizer needs room for the question beside the passage overlap in every window
        raise ConfigError(
            f"config key rag.reader.stride: {reader['stride']} is more than half of "
            f"rag.reader.max_length {reader['max_length']}; the window would leave no room for the "
            "question (use a stride of at most max_length / 2)"
        )
    if reader["ablation"]["enabled"] and not (
        reader_uses_synthetic(rag) and "extractive" in rag["readers"]
    ):
        raise ConfigError(
            "config key rag.reader.ablation.enabled: the ablation sets the two-stage reader beside "
            "its stages alone; it needs rag.reader.fine_tune and rag.reader.synthetic.enabled "
            "true and the extractive reader in rag.readers"
        )
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
    _check_split_fractions(config, "rag")
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


def _check_gnn(config: dict) -> None:

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
    _check_collapse_study(gnn)
    _check_external(config)
    _check_split_fractions(config, "gnn")


def _check_collapse_study(gnn: dict) -> None:
    """The collapse study's variants are defined and its datasets are featurized."""
    study = gnn["collapse_study"]
    for index, name in enumerate(study["variants"]):
        if name not in gnn["variants"]:
            raise ConfigError(
                f"config key gnn.collapse_study.variants[{index}]: {name!r} is not defined under gnn.variants"
            )
    for index, name in enumerate(study["datasets"]):
        if name not in gnn["datasets"]:
            raise ConfigError(
                f"config key gnn.collapse_study.datasets[{index}]: {name!r} is not in gnn.datasets; "
                "add it there (the study trains only on featurized datasets)"
            )


def _check_external(config: dict) -> None:
    """An enabled external evaluation names a known dataset with a molecule table entry."""
    external = config["gnn"]["external"]
    if not external["enabled"]:
        return
    name = external["dataset"]
    if name not in set(config["datasets"]) | set(config["packaged_datasets"]):
        raise ConfigError(
            f"config key gnn.external.dataset: {name!r} is not defined under datasets or "
            "packaged_datasets"
        )
    if name not in config["gnn"]["tables"]:
        raise ConfigError(
            f"config key gnn.tables: no entry for the external dataset {name!r} (which columns "
            "hold SMILES and labels)"
        )


def check_model_ranges(config: dict) -> list[str]:
    """Check layer and head settings against every packaged or local attention model.

    Returns the keys of hub models that could not be checked without a download (their
    first job must call :func:`check_attention_ranges`). Raises ConfigError naming the key.
    """
    if not config.get("experiments", {}).get("attention"):
        return []
    attention, unchecked = config["attention"], []
    for model_key, model in attention["models"].items():
        shape = model_shape(model)
        if shape is None:
            unchecked.append(model_key)
        else:
            check_attention_ranges(
                model_key,
                *shape,
                heatmap_layer=attention["heatmap_layer"],
                disabled_heads=attention["disabled_heads"]["heads"],
                heads_per_layer=attention["cost"]["heads_per_layer"],
            )
    return unchecked
