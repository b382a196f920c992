"""The collapse classification and verdict on hand-made histories."""

import math

import pandas as pd
import pytest

from medlab.gnn.collapse import (
    collapse_row,
    collapse_table,
    collapse_verdict,
    fell_at_epoch,
    is_collapsed,
)


def _history(val_auroc: list[float], logit_std: list[float] | None = None) -> pd.DataFrame:
    epochs = len(val_auroc)
    return pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "val_auroc": val_auroc,
            "val_logit_std": logit_std or [1.0] * epochs,
            "val_saturated_fraction": [0.0] * (epochs - 1) + [0.9],
            "oversmoothing_index": [0.5] * (epochs - 1) + [0.99],
        }
    )


# peaks at 0.92 in epoch 3, then falls for good from epoch 5: the original's collapse
PEAK_THEN_FALL = _history(
    [0.70, 0.85, 0.92, 0.65, 0.55, 0.62, 0.52, 0.51], [2.0, 2.5, 3.0, 1.0, 0.2, 0.1, 0.01, 0.001]
)


@pytest.mark.parametrize(
    ("best_val", "final_test", "expected"),
    [(0.92, 0.51, True), (0.8, 0.59, True), (0.79, 0.5, False), (0.92, 0.6, False)],
)
def test_collapse_needs_a_peak_and_a_fall(best_val, final_test, expected):
    assert is_collapsed(best_val, final_test) is expected


def test_collapse_row_dates_the_fall_and_reads_the_diagnostics():
    row = collapse_row(PEAK_THEN_FALL, final_test_auroc=0.51)
    assert row["collapsed"] == "yes"
    assert (row["best_epoch"], row["best_val_auroc"]) == (3, 0.92)
    # epoch 5 dips below 0.6, epoch 6 recovers to 0.62, the fall that lasts starts at epoch 7
    assert row["fell_at_epoch"] == 7
    assert (row["logit_std_first"], row["logit_std_best"], row["logit_std_final"]) == (
        2.0,
        3.0,
        0.001,
    )
    assert row["saturated_fraction_final"] == 0.9
    assert row["oversmoothing_index_final"] == 0.99


def test_a_run_that_stays_up_has_no_fall():
    history = _history([0.7, 0.85, 0.9, 0.88])
    assert fell_at_epoch(history, best_epoch=3) is None
    assert collapse_row(history, final_test_auroc=0.87)["collapsed"] == "no"


def test_histories_without_diagnostics_give_nan():
    row = collapse_row(pd.DataFrame({"epoch": [1, 2], "val_auroc": [0.9, 0.5]}), 0.5)
    assert row["collapsed"] == "yes" and math.isnan(row["logit_std_final"])


def _runs() -> list[dict]:
    def run(variant, seed, history, final_test):
        return dict(
            dataset="bbbp",
            split="random",
            variant=variant,
            seed=seed,
            history=history,
            final_test_auroc=final_test,
        )

    stable = _history([0.8, 0.9, 0.91])
    never = _history([0.55, 0.6, 0.58])
    return [
        run("residual", 0, stable, 0.9),
        run("control", 0, PEAK_THEN_FALL, 0.51),
        run("control", 1, stable, 0.9),
        run("high_lr", 0, never, 0.5),
        run("deep", 0, PEAK_THEN_FALL, 0.5),
        run("not_in_study", 0, PEAK_THEN_FALL, 0.5),
    ]


STUDY = ["control", "deep", "residual", "high_lr"]


def test_table_keeps_study_runs_in_study_order():
    table = collapse_table(_runs(), STUDY)
    assert table[["variant", "seed"]].values.tolist() == [
        ["control", 0],
        ["control", 1],
        ["deep", 0],
        ["residual", 0],
        ["high_lr", 0],
    ]
    assert table["collapsed"].tolist() == ["yes", "no", "yes", "no", "no"]


def test_verdict_names_conditions_and_remedies():
    verdict = collapse_verdict(collapse_table(_runs(), STUDY), STUDY)
    assert verdict.startswith("The control control collapsed (1/2 runs); ")
    assert "conditions that reproduce a collapse: deep (1/1 runs)" in verdict
    assert "changes under which no run collapsed: residual (0/1 runs)" in verdict
    assert "never reaching validation AUROC 0.8: high_lr" in verdict
    assert "so these remedies prevent it: residual" in verdict


def test_verdict_without_runs_says_so():
    assert "no run" in collapse_verdict(collapse_table([], STUDY), STUDY)
