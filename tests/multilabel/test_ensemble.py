"""An ensemble of grid cells: mean probabilities, evaluated and aggregated like a cell."""

import numpy as np
import pandas as pd
import pytest

from medlab.io import write_json, write_tsv
from medlab.multilabel.aggregate import CellFiles, SummaryPaths, aggregate
from medlab.multilabel.ensemble import average_predictions, ensemble_summary
from medlab.multilabel.evaluate import evaluate_predictions

LABELS = ["a", "b"]


def _cell_predictions(seed: int, documents: int = 40) -> pd.DataFrame:
    """A fake cell's prediction table: the same documents and truth, its own probabilities."""
    truth = np.random.default_rng(0).random((documents, 2)) < [0.5, 0.3]
    probs = np.clip(0.5 * truth + np.random.default_rng(seed).random((documents, 2)) * 0.6, 0, 1)
    frame = pd.DataFrame(
        {"id": [f"doc{i}" for i in range(documents)], "split": ["val", "test"] * (documents // 2)}
    )
    for j, label in enumerate(LABELS):
        frame[f"true_{label}"] = truth[:, j].astype(int)
        frame[f"prob_{label}"] = probs[:, j]
    return frame


def test_ensemble_averages_probabilities_of_each_document():
    first, second = _cell_predictions(1), _cell_predictions(2)
    shuffled = second.sample(frac=1.0, random_state=0)  # row order does not matter
    mean = average_predictions({"cell1": first, "cell2": shuffled}, LABELS)
    assert mean["id"].tolist() == first["id"].tolist()
    for label in LABELS:
        expected = (first[f"prob_{label}"] + second[f"prob_{label}"]) / 2
        assert np.allclose(mean[f"prob_{label}"], expected)
        assert mean[f"true_{label}"].tolist() == first[f"true_{label}"].tolist()
    metrics, _ = evaluate_predictions(mean, LABELS)
    assert 0 <= metrics["tuned_thresholds"]["micro_f1"] <= 1


def test_one_member_ensemble_is_that_member():
    first = _cell_predictions(1)
    assert average_predictions({"cell1": first}, LABELS).equals(first)


def test_ensemble_names_a_cell_with_other_documents():
    first, other = _cell_predictions(1), _cell_predictions(2, documents=38)
    with pytest.raises(ValueError, match="predictions of cell2 do not cover the same documents"):
        average_predictions({"cell1": first, "cell2": other}, LABELS)
    relabelled = _cell_predictions(2).assign(true_a=0)
    with pytest.raises(ValueError, match="cell2: true labels differ"):
        average_predictions({"cell1": first, "cell2": relabelled}, LABELS)


def _summary(seconds, examples_per_s):
    return {
        "best_epoch": 1,
        "epochs_trained": 2,
        "training_units": 40,
        "examples_per_s": examples_per_s,
        "peak_memory_mb": 100.0 * seconds,
        "train_seconds": seconds,
        "loss_cv_last_epoch": 0.1,
        "loss_cv_all_steps": 0.2,
    }


def test_ensemble_is_the_last_grid_row_and_left_out_of_per_setting_tables(tmp_path):
    cells = []
    for index, (batch_size, seed) in enumerate([(16, 1), (32, 2)]):
        run = tmp_path / f"cell{index}"
        metrics, per_class = evaluate_predictions(_cell_predictions(seed), LABELS)
        write_json(metrics, run / "metrics.json")
        write_tsv(per_class, run / "per_class.tsv")
        write_json(_summary(10.0 * (index + 1), 20.0), run / "summary.json")
        write_tsv(
            pd.DataFrame({"step": [1, 2], "epoch": [1, 2], "loss": [0.7, 0.5], "lr": [1e-4, 0]}),
            run / "steps.tsv",
        )
        cell = dict(dataset="synthetic", batch_size=batch_size, lr=5e-5, loss="bce", seed=0)
        cells.append(
            CellFiles(
                cell,
                *(
                    str(run / n)
                    for n in ("metrics.json", "summary.json", "steps.tsv", "per_class.tsv")
                ),
            )
        )
    run = tmp_path / "ensemble"
    mean = average_predictions(
        {"cell0": _cell_predictions(1), "cell1": _cell_predictions(2)}, LABELS
    )
    metrics, per_class = evaluate_predictions(mean, LABELS)
    write_json(metrics, run / "metrics.json")
    write_tsv(per_class, run / "per_class.tsv")
    write_json(ensemble_summary([c.summary for c in cells]), run / "summary.json")
    ensemble = CellFiles(
        {"dataset": "synthetic", "ensemble": "cell0+cell1"},
        str(run / "metrics.json"),
        str(run / "summary.json"),
        None,
        str(run / "per_class.tsv"),
    )
    out = tmp_path / "summary"
    paths = SummaryPaths(
        **{
            name: str(out / f"{name}.{'png' if name in ('heatmaps', 'loss_curves') else 'tsv'}")
            for name in SummaryPaths.__dataclass_fields__
        }
    )
    aggregate(cells, paths, ensemble=ensemble)
    grid = pd.read_csv(paths.grid, sep="\t")
    assert len(grid) == 3 and grid["ensemble"].tolist()[-1] == "cell0+cell1"
    assert grid["batch_size"].isna().tolist() == [False, False, True]
    assert grid["micro_f1@at_0.5"].iloc[-1] == pytest.approx(
        metrics["at_0.5"]["micro_f1"], abs=1e-6
    )
    assert grid["train_seconds"].iloc[-1] == 30.0
    assert len(pd.read_csv(paths.thresholds, sep="\t")) == 2
    assert len(pd.read_csv(paths.losses, sep="\t")) == 1
    assert (pd.read_csv(paths.per_class, sep="\t")["ensemble"] == "cell0+cell1").sum() == 2
