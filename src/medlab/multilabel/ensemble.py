"""An ensemble of finished grid cells: the mean of their document probabilities.

Each cell's prediction table (id, split, true_<label>, prob_<label> per validation and test
document) is averaged label by label; the result is a prediction table of the same form, so
the ensemble is evaluated like any cell, its thresholds tuned on the averaged validation
probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from medlab.io import read_json

# the name of the ensemble's run directory and of its row in the grid table
ENSEMBLE_NAME = "ensemble"
# the TF-IDF baseline's run directory (medlab.multilabel.baseline), an ensemble member name
BASELINE_NAME = "tfidf"


def average_predictions(tables: dict[str, pd.DataFrame], label_set: list[str]) -> pd.DataFrame:
    """The mean of the ``prob_<label>`` columns of several prediction tables, by name.

    Every table must list the same documents (``id``, ``split``) with the same truth, in any
    order; the result follows the first table's order. Raises ValueError naming the cell
    whose documents or truth differ from the first's, and when ``tables`` is empty.
    """
    if not tables:
        raise ValueError("an ensemble needs at least one cell's predictions")
    names = list(tables)
    keys = ["id", "split"]
    truth_columns = [f"true_{label}" for label in label_set]
    prob_columns = [f"prob_{label}" for label in label_set]
    first = tables[names[0]]
    result = first[keys + truth_columns].reset_index(drop=True)
    probabilities = np.zeros((len(first), len(label_set)))
    for name in names:
        table = tables[name]
        missing = [c for c in keys + truth_columns + prob_columns if c not in table.columns]
        if missing:
            raise ValueError(f"predictions of {name}: no column(s) {', '.join(missing)}")
        aligned = result[keys].merge(table, on=keys, how="left", validate="one_to_one")
        if len(table) != len(first) or aligned[prob_columns].isna().any().any():
            raise ValueError(
                f"predictions of {name} do not cover the same documents as those of "
                f"{names[0]}; an ensemble needs cells trained on one split of one dataset"
            )
        if not np.array_equal(aligned[truth_columns].to_numpy(), result[truth_columns].to_numpy()):
            raise ValueError(f"predictions of {name}: true labels differ from those of {names[0]}")
        probabilities += aligned[prob_columns].to_numpy()
    result[prob_columns] = probabilities / len(names)
    # the column order of a cell's table (medlab.multilabel.runner.prediction_table)
    return result[keys + [f"{kind}_{label}" for label in label_set for kind in ("true", "prob")]]


def ensemble_summary(summary_files: list) -> dict:
    """The training cost of an ensemble from its members' ``summary.json`` files: total
    training seconds, training units of the largest member, examples/s of the whole (units over seconds),
    peak memory of the largest member, and the ``members``: the names of the run directories
    holding the files; per-epoch and loss figures do not apply (NaN)."""
    summaries = [read_json(path) for path in summary_files]
    seconds = sum(s["train_seconds"] for s in summaries)
    units_seen = sum(s["examples_per_s"] * s["train_seconds"] for s in summaries)
    return {
        "best_epoch": float("nan"),
        "epochs_trained": max(s["epochs_trained"] for s in summaries),
        "training_units": max(s["training_units"] for s in summaries),
        "examples_per_s": units_seen / seconds if seconds else float("nan"),
        "peak_memory_mb": max(s["peak_memory_mb"] for s in summaries),
        "train_seconds": seconds,
        "loss_cv_last_epoch": float("nan"),
        "loss_cv_all_steps": float("nan"),
        # the members' run directories, for applying the ensemble to new texts
        "members": [Path(path).parent.name for path in summary_files],
    }
