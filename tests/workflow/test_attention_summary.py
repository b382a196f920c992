"""The attention summary from explicit per-model files: tables of every model, one titled
row of panels per model in each figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from medlab.attention import summary as attention_summary
from medlab.attention.summary import ModelFiles, SummaryPaths, summarize

CONDITIONS = ["original", "heads_disabled"]
LAYERS, HEADS, SENTENCES, TOKENS = 2, 2, 4, 3


def write_model_files(root, model: str, seed: int) -> ModelFiles:
    """Small synthetic outputs of the per-model attention rules."""
    rng = np.random.default_rng(seed)
    folder = root / model
    folder.mkdir()
    files = {"heads": [], "hidden": [], "maps": [], "info": []}
    for condition in CONDITIONS:
        grid = pd.MultiIndex.from_product(
            [range(SENTENCES), range(LAYERS), range(HEADS)], names=["sentence", "layer", "head"]
        ).to_frame(index=False)
        heads = grid.assign(
            condition=condition, entropy=rng.random(len(grid)), distance=rng.random(len(grid))
        )
        hidden = pd.DataFrame(
            {"sentence": s, "layer": layer, "cosine_change": rng.random(), "relative_l2": 0.1}
            for s in range(SENTENCES)
            for layer in range(LAYERS + 1)
        ).assign(condition=condition)
        paths = {key: folder / f"{condition}.{key}" for key in files}
        heads.to_parquet(paths["heads"], index=False)
        hidden.to_parquet(paths["hidden"], index=False)
        with open(paths["maps"], "wb") as handle:
            np.savez(handle, sentence_0=rng.random((LAYERS, HEADS, TOKENS, TOKENS)))
        info = {
            "model": f"path/of/{model}",
            "condition": condition,
            "disabled_heads": [[0, 1]] if condition != "original" else [],
            "sentences": SENTENCES,
            "tokens": {"0": ["[CLS]", "word", "[SEP]"]},
        }
        paths["info"].write_text(json.dumps(info))
        for key in files:
            files[key].append(str(paths[key]))
    curves = pd.DataFrame(
        {"band": "lower", "layers": "0-1", "fraction": [0.0, 0.5], "quality": [1.0, 0.8]}
    )
    curves.to_csv(folder / "curves.tsv", sep="\t", index=False)
    pd.DataFrame({"layer": [0], "head": [0], "importance": [0.3]}).to_csv(
        folder / "importance.tsv", sep="\t", index=False
    )
    cost, benchmarks = [], []
    for heads_per_layer in (1, 2):
        cost_path, benchmark_path = (
            folder / f"cost{heads_per_layer}.json",
            folder / f"b{heads_per_layer}.tsv",
        )
        cost_path.write_text(
            json.dumps(
                {
                    "heads_per_layer": heads_per_layer,
                    "latency_ms_median": 2.0,
                    "attention_parameters": 1e6,
                }
            )
        )
        pd.DataFrame({"s": [1.5], "max_rss": [300.0]}).to_csv(benchmark_path, sep="\t", index=False)
        cost.append(str(cost_path))
        benchmarks.append(str(benchmark_path))
    return ModelFiles(
        **files,
        importance=str(folder / "importance.tsv"),
        curves=str(folder / "curves.tsv"),
        cost=cost,
        cost_benchmarks=benchmarks,
    )


@pytest.fixture
def summarized(tmp_path, monkeypatch):
    """Summarize two models; returns (output paths, model -> figure titles per figure file)."""
    models = {
        name: write_model_files(tmp_path, name, seed)
        for seed, name in enumerate(["bert", "roberta"])
    }
    outputs = SummaryPaths(
        **{field: str(tmp_path / f"out_{field}") for field in SummaryPaths.__dataclass_fields__}
    )
    titles = {}
    save = attention_summary.save_figure

    def recording_save(fig, path):
        titles[str(path)] = [row._suptitle.get_text() for row in fig.subfigs]
        save(fig, path)

    monkeypatch.setattr(attention_summary, "save_figure", recording_save)
    summarize(models, CONDITIONS, heatmap_layer=1, threshold=0.9, outputs=outputs)
    return outputs, titles


def test_tables_hold_every_model(summarized):
    outputs, _ = summarized
    for path in (outputs.summary, outputs.tests, outputs.importance, outputs.curves, outputs.cost):
        assert set(pd.read_csv(path, sep="\t")["model"]) == {"bert", "roberta"}, path
    tolerances = pd.read_csv(outputs.tolerances, sep="\t")
    assert tolerances.set_index("model")["prunable_fraction"].to_dict() == {
        "bert": 0.0,
        "roberta": 0.0,
    }
    inputs = pd.read_csv(outputs.inputs, sep="\t")
    assert inputs["disabled_heads"].tolist() == [0, 1, 0, 1]
    cost = pd.read_csv(outputs.cost, sep="\t")
    assert cost["max_rss_mb"].tolist() == [300.0] * 4


def test_every_figure_has_one_titled_row_per_model(summarized):
    outputs, titles = summarized
    figures = ["heatmaps", "distributions", "hidden_change", "pruning_plot", "cost_plot"]
    for name in figures:
        path = getattr(outputs, name)
        assert titles[path] == ["bert", "roberta"], name
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
