"""The multi-label summary: two fake grid cells become grid rows, comparisons and figures."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from medlab.multilabel.aggregate import CellFiles, SummaryPaths, aggregate

SETTINGS = ("at_0.5", "per_class_thresholds", "tuned_thresholds", "global_threshold")
METRIC_KEYS = (
    "micro_f1",
    "macro_f1",
    "micro_precision",
    "micro_recall",
    "macro_roc_auc",
    "micro_roc_auc",
    "mean_average_precision",
)


def _write_cell(directory, cell: dict, macro_f1: dict, examples_per_s: float) -> CellFiles:
    """A cell's metrics, summary, step log and per-class table; every metric 0.5 except
    ``macro_f1`` (setting -> value)."""
    directory.mkdir(parents=True)
    metrics = {
        setting: {key: macro_f1[setting] if key == "macro_f1" else 0.5 for key in METRIC_KEYS}
        for setting in SETTINGS
    }
    metrics["at_0.5"]["labels_excluded"] = ["rare"]
    metrics["ece"] = {"raw": 0.1, "platt": 0.05}
    summary = {
        "best_epoch": 1,
        "training_units": 100,
        "examples_per_s": examples_per_s,
        "peak_memory_mb": 10.0,
        "train_seconds": 2.0,
        "loss_cv_last_epoch": 0.2,
        "loss_cv_all_steps": 0.3,
    }
    (directory / "metrics.json").write_text(json.dumps(metrics))
    (directory / "summary.json").write_text(json.dumps(summary))
    steps = pd.DataFrame({"step": [1, 2, 3], "epoch": [0, 0, 0], "loss": [0.7, 0.5, 0.4]})
    steps.to_csv(directory / "steps.tsv", sep="\t", index=False)
    per_class = pd.DataFrame({"label": ["flu", "rare"], "f1_0.5": [0.6, 0.0]})
    per_class.to_csv(directory / "per_class.tsv", sep="\t", index=False)
    return CellFiles(
        cell,
        str(directory / "metrics.json"),
        str(directory / "summary.json"),
        str(directory / "steps.tsv"),
        str(directory / "per_class.tsv"),
    )


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    root = tmp_path_factory.mktemp("multilabel")
    base = {"dataset": "synthetic", "lr": 5e-5, "loss": "bce", "seed": 0}
    # written in reverse grid order: the grid is sorted by its keys
    cells = [
        _write_cell(
            root / "bs32",
            {**base, "batch_size": 32},
            {
                "at_0.5": 0.30,
                "per_class_thresholds": 0.45,
                "tuned_thresholds": 0.45,
                "global_threshold": 0.35,
            },
            examples_per_s=400.0,
        ),
        _write_cell(
            root / "bs8",
            {**base, "batch_size": 8},
            {
                "at_0.5": 0.20,
                "per_class_thresholds": 0.50,
                "tuned_thresholds": 0.50,
                "global_threshold": 0.25,
            },
            examples_per_s=100.0,
        ),
    ]
    names = ["grid", "thresholds", "batch_sizes", "losses", "per_class"]
    paths = SummaryPaths(
        **{name: str(root / f"{name}.tsv") for name in names},
        heatmaps=str(root / "heatmaps.png"),
        loss_curves=str(root / "loss_curves.png"),
    )
    aggregate(cells, paths)
    return paths


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")


def test_grid_has_one_row_per_cell_sorted_by_the_grid_keys(summary):
    grid = _read(summary.grid)
    assert grid["batch_size"].tolist() == [8, 32]
    assert grid["macro_f1@at_0.5"].tolist() == [0.2, 0.3]
    assert grid["macro_f1@per_class_thresholds"].tolist() == [0.5, 0.45]
    assert grid["examples_per_s"].tolist() == [100.0, 400.0]
    assert grid["ece_raw"].tolist() == [0.1, 0.1] and "ece_platt" in grid
    assert (grid["micro_f1@global_threshold"] == 0.5).all()
    assert "best_epoch" in grid and "loss_cv_all_steps" in grid


def test_threshold_gain_and_batch_size_tables(summary):
    thresholds = _read(summary.thresholds)
    assert thresholds["macro_f1_gain_per_class"].round(6).tolist() == [0.3, 0.15]
    assert thresholds["micro_f1_change_per_class"].tolist() == [0.0, 0.0]
    batch_sizes = _read(summary.batch_sizes)
    assert batch_sizes[["batch_size", "examples_per_s", "cells"]].values.tolist() == [
        [8, 100.0, 1],
        [32, 400.0, 1],
    ]


def test_loss_table_averages_over_the_grid(summary):
    losses = _read(summary.losses)
    assert losses["loss"].tolist() == ["bce"] and losses["cells"].tolist() == [2]
    assert losses["macro_f1@at_0.5"].round(6).tolist() == [0.25]


def test_per_class_rows_carry_their_cell_and_figures_are_written(summary):
    per_class = _read(summary.per_class)
    assert len(per_class) == 4
    assert sorted(per_class["batch_size"].unique()) == [8, 32]
    for figure in (summary.heatmaps, summary.loss_curves):
        with open(figure, "rb") as png:
            assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_baseline_is_a_grid_row_left_out_of_the_comparisons(tmp_path):
    base = {"dataset": "synthetic", "lr": 5e-5, "loss": "bce", "seed": 0, "batch_size": 8}
    scores = {"at_0.5": 0.2, "per_class_thresholds": 0.5, "tuned_thresholds": 0.5}
    cell = _write_cell(tmp_path / "bs8", base, {**scores, "global_threshold": 0.25}, 100.0)
    baseline = _write_cell(
        tmp_path / "tfidf",
        {"dataset": "synthetic", "baseline": "tfidf"},
        {**scores, "at_0.5": 0.4, "global_threshold": 0.3},
        900.0,
    )
    names = ["grid", "thresholds", "batch_sizes", "losses", "per_class"]
    paths = SummaryPaths(
        **{name: str(tmp_path / f"{name}.tsv") for name in names},
        heatmaps=str(tmp_path / "heatmaps.png"),
        loss_curves=str(tmp_path / "loss_curves.png"),
    )
    aggregate([cell], paths, baseline=replace(baseline, steps=None))
    grid = _read(paths.grid)
    assert grid["baseline"].fillna("").tolist() == ["", "tfidf"]
    assert grid["macro_f1@at_0.5"].tolist() == [0.2, 0.4]
    assert _read(paths.batch_sizes)["cells"].tolist() == [1]
    assert _read(paths.per_class)["baseline"].fillna("").tolist() == ["", "", "tfidf", "tfidf"]
