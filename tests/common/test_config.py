import copy

import pytest
import yaml

from medlab.config import (
    ConfigError,
    check_config,
    deep_merge,
    gnn_variant_spec,
    load_config,
    validate_schema,
)

PRESETS = ["tiny", "benchmark", "paper"]


@pytest.fixture(scope="module")
def default_config(root):
    return load_config(root)


def _schema_check(root, config):
    validate_schema(config, root / "schemas" / "config.schema.yaml")
    check_config(config)


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_validates(root, preset):
    config = load_config(root, root / "presets" / f"{preset}.yaml")
    assert config["preset"] == preset


def test_merge_replaces_lists_and_merges_mappings():
    merged = deep_merge({"a": {"x": 1, "y": [1, 2]}, "b": 1}, {"a": {"y": [3]}})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 1}


def test_variant_overrides_defaults(default_config):
    spec = gnn_variant_spec(default_config, "gat_noedge")
    assert spec["edge_features"] is False and spec["arch"] == "gat"
    assert list(spec) == sorted(spec)  # stable params -> no spurious reruns


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("gnn", "unknown_key"), 1, "gnn.*unknown_key"),
        (("gnn", "defaults", "lr"), "fast", "gnn.defaults.lr"),
        (("gnn", "defaults", "dropout"), 1.5, "gnn.defaults.dropout"),
        (("gnn", "splits"), ["temporal"], "gnn.splits.0"),
        (("datasets", "bbbp", "sha256"), "abc", "datasets.bbbp.sha256"),
        (("experiments", "gnn"), "yes", "experiments.gnn"),
    ],
)
def test_schema_errors_name_the_key(root, default_config, path, value, expected):
    config = copy.deepcopy(default_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=expected):
        _schema_check(root, config)


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda c: c["gnn"]["run_variants"].append("nope"), r"gnn.run_variants\[\d+\].*nope"),
        (
            lambda c: c["gnn"]["variants"].update(bad={"arch": "gcn", "edge_features": True}),
            "gnn.variants.bad.*edge features",
        ),
        (
            lambda c: c["gnn"]["variants"].update(bad={"hidden": 30, "heads": 4}),
            "gnn.variants.bad.*divisible",
        ),
        (lambda c: c["gnn"].update(datasets=["nowhere"]), r"gnn.datasets\[0\]"),
        (lambda c: c["gnn"].update(split_fractions=[0.5, 0.3, 0.3]), "gnn.split_fractions"),
        (lambda c: c["gnn"]["comparisons"].update(x=["ghost"]), "gnn.comparisons.x"),
        (lambda c: c["rag"]["passages"].update(size=20, overlap=20), "rag.passages.overlap"),
        (lambda c: c["rag"].update(top_k=[5, 50]), "rag.retrieval_depth"),
        (lambda c: c["rag"].update(focus_method="hybrid_weighted"), "rag.focus_method"),
        (
            lambda c: c["rag"].update(read_methods=["hybrid_weighted", "hybrid_rerank"]),
            r"rag.read_methods\[1\]",
        ),
        (lambda c: c["rag"]["retrievers"].append("hybrid_rerank"), "rag.retrievers.*reranker"),
        (
            lambda c: c["rag"]["retriever_training"].update(enabled=False),
            "rag.retrievers.*retriever_training",
        ),
        (lambda c: c["rag"]["corpus"].update(format="squad"), "rag.corpus.*exactly one"),
        (
            lambda c: c["rag"]["corpus"].update(format="squad", dataset="nowhere"),
            "rag.corpus.dataset",
        ),
        (lambda c: c["multilabel"].update(unit="sentence"), "multilabel.unit.*hoc"),
        (
            lambda c: (
                c["rag"]["reader"]["ablation"].update(enabled=True),
                c["rag"]["reader"]["synthetic"].update(enabled=False),
            ),
            "rag.reader.ablation.enabled.*synthetic.enabled",
        ),
        (
            lambda c: (
                c["rag"]["reader"]["ablation"].update(enabled=True),
                c["rag"].update(readers=["sentence"]),
            ),
            "rag.reader.ablation.enabled.*extractive",
        ),
    ],
)
def test_cross_key_errors_name_the_key(root, default_config, mutate, expected):
    config = copy.deepcopy(default_config)
    mutate(config)
    with pytest.raises(ConfigError, match=expected):
        _schema_check(root, config)


def _walk_properties(schema, path=""):
    for name, sub in schema.get("properties", {}).items():
        yield f"{path}{name}", sub
        yield from _walk_properties(sub, f"{path}{name}.")
    for name, sub in schema.get("$defs", {}).items():
        yield from _walk_properties(sub, f"$defs.{name}.")


def test_every_schema_key_has_type_description_default(root):
    schema = yaml.safe_load((root / "schemas" / "config.schema.yaml").read_text())
    for key, sub in _walk_properties(schema):
        assert "description" in sub, f"{key} has no description"
        assert "default" in sub, f"{key} has no default"
        assert any(k in sub for k in ("type", "enum", "$ref", "allOf")), f"{key} has no type"


def test_schema_defaults_match_config_yaml(root, default_config):
    """The schema documents config.yaml's own values (for the keys both hold as scalars)."""
    schema = yaml.safe_load((root / "schemas" / "config.schema.yaml").read_text())
    options = schema["$defs"]["gnn_options"]["properties"]
    for key, sub in options.items():
        assert sub["default"] == default_config["gnn"]["defaults"][key], f"gnn.defaults.{key}"
    for key in ("device", "retries", "data_mirror"):
        assert schema["properties"][key]["default"] == default_config[key], key


def test_a_preset_replaces_the_attention_model_map_and_merges_the_rest(root, default_config):
    """attention.models is replaced whole (the paper preset runs bert_base only, not MiniLM too);
    other maps still merge key by key."""
    config = load_config(root, root / "presets" / "paper.yaml")
    assert config["attention"]["models"] == {"bert_base": "bert-base-uncased"}
    assert config["attention"]["max_length"] == default_config["attention"]["max_length"]
    merged = deep_merge(default_config, {"attention": {"heatmap_layer": 1}})
    assert merged["attention"]["models"] == default_config["attention"]["models"]


def test_hub_models_are_left_to_their_first_job(root):
    from medlab.attention.ranges import check_attention_ranges
    from medlab.config import check_model_ranges

    config = load_config(root, root / "presets" / "paper.yaml")
    assert check_model_ranges(config) == ["bert_base"]
    with pytest.raises(ConfigError, match=r"attention.heatmap_layer: 12 .*bert_base has 12 layers"):
        check_attention_ranges("bert_base", 12, 12, heatmap_layer=12)
    check_attention_ranges("bert_base", 12, 12, heatmap_layer=11, disabled_heads=[[11, 11]])


def test_unknown_key_inside_a_named_entry_suggests_the_nearest(root, default_config):
    from medlab.config import check_unknown_keys

    config = copy.deepcopy(default_config)
    config["gnn"]["variants"]["gat_edge"] = {"dropuot": 0.2}
    with pytest.raises(
        ConfigError, match="gnn.variants.gat_edge.dropuot.*gnn.variants.gat_edge.dropout"
    ):
        check_unknown_keys(config, root / "schemas" / "config.schema.yaml")


def test_attention_range_errors_are_config_errors():
    """The attention jobs raise medlab.errors.ConfigError without importing medlab.config;
    it is the class medlab.config exports, so callers catch one class."""
    import medlab.config
    from medlab.attention.ranges import check_attention_ranges
    from medlab.errors import ConfigError as LeafConfigError

    assert medlab.config.ConfigError is LeafConfigError
    with pytest.raises(medlab.config.ConfigError, match="heatmap_layer"):
        check_attention_ranges("m", 2, 2, heatmap_layer=5)
