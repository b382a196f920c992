"""The collapse study: which runs collapsed to a constant predictor, when, and why.

A run *collapsed* when its best validation AUROC reached :data:`PEAK_VAL_AUROC` (it had
learned) and the weights of its last epoch score a test AUROC below
:data:`COLLAPSED_TEST_AUROC` (it no longer ranks molecules) -- the original GAT peaked at
0.92 and ended at 0.51. The table also carries the per-epoch diagnostics of
:mod:`medlab.gnn.diagnostics` at the first, best and last epoch, so each variant of the
study (one change to the original setup each) can be read as evidence for or against one
explanation: over-smoothing, optimisation, class imbalance, normalisation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

COLLAPSED_TEST_AUROC = 0.6
PEAK_VAL_AUROC = 0.8

RUN_KEYS = ["dataset", "split", "variant", "seed"]
COLLAPSE_COLUMNS = RUN_KEYS + [
    "collapsed",
    "best_epoch",
    "best_val_auroc",
    "final_val_auroc",
    "final_test_auroc",
    "fell_at_epoch",
    "logit_std_first",
    "logit_std_best",
    "logit_std_final",
    "saturated_fraction_final",
    "oversmoothing_index_final",
]


def is_collapsed(best_val_auroc: float, final_test_auroc: float) -> bool:
    """True when the run had learned (best validation AUROC >= 0.8) and its last-epoch
    weights rank the test set no better than AUROC 0.6."""
    return best_val_auroc >= PEAK_VAL_AUROC and final_test_auroc < COLLAPSED_TEST_AUROC


def fell_at_epoch(history: pd.DataFrame, best_epoch: int) -> int | None:
    """The first epoch after ``best_epoch`` from which validation AUROC stays below 0.6 to
    the end of training; None when it never does (a single bad epoch is not a fall)."""
    after = history[history["epoch"] > best_epoch]
    above = after["val_auroc"].to_numpy() >= COLLAPSED_TEST_AUROC
    if not len(after) or above[-1]:
        return None
    # the epoch after the last one still at or above the line (or the first epoch after the best)
    last_above = np.flatnonzero(above)
    start = last_above[-1] + 1 if len(last_above) else 0
    return int(after["epoch"].iloc[start])


def _value(row: pd.Series, column: str) -> float:
    # histories written before the diagnostics existed lack these columns
    return float(row[column]) if column in row.index else math.nan


def collapse_row(history: pd.DataFrame, final_test_auroc: float) -> dict:
    """The study's numbers for one run from its ``history`` (history.tsv: epoch, val_auroc,
    val_logit_std, val_saturated_fraction, oversmoothing_index) and the test AUROC of its
    last-epoch weights (metrics.json: final.test_roc_auc). Raises ValueError on an empty
    history."""
    if history.empty:
        raise ValueError("collapse_row: the run's history has no epoch")
    best = history.loc[history["val_auroc"].idxmax()]
    first, last = history.iloc[0], history.iloc[-1]
    best_epoch = int(best["epoch"])
    fell = fell_at_epoch(history, best_epoch)
    return {
        "collapsed": "yes" if is_collapsed(float(best["val_auroc"]), final_test_auroc) else "no",
        "best_epoch": best_epoch,
        "best_val_auroc": float(best["val_auroc"]),
        "final_val_auroc": float(last["val_auroc"]),
        "final_test_auroc": float(final_test_auroc),
        "fell_at_epoch": pd.NA if fell is None else fell,
        "logit_std_first": _value(first, "val_logit_std"),
        "logit_std_best": _value(best, "val_logit_std"),
        "logit_std_final": _value(last, "val_logit_std"),
        "saturated_fraction_final": _value(last, "val_saturated_fraction"),
        "oversmoothing_index_final": _value(last, "oversmoothing_index"),
    }


def collapse_table(runs: list[dict], study_variants: list[str]) -> pd.DataFrame:
    """One row per run of a study variant (columns :data:`COLLAPSE_COLUMNS`), in the order
    of ``study_variants`` then dataset, split, seed.

    Each ``runs`` item has dataset, split, variant, seed, history (DataFrame) and
    final_test_auroc; runs of other variants are left out.
    """
    order = {variant: index for index, variant in enumerate(study_variants)}
    rows = [
        {
            **{key: run[key] for key in RUN_KEYS},
            **collapse_row(run["history"], run["final_test_auroc"]),
        }
        for run in runs
        if run["variant"] in order
    ]
    table = pd.DataFrame(rows, columns=COLLAPSE_COLUMNS)
    table["fell_at_epoch"] = table["fell_at_epoch"].astype("Int64")
    rank = table["variant"].map(order)
    return (
        table.assign(_rank=rank)
        .sort_values(["_rank", "dataset", "split", "seed"])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def _count(rows: pd.DataFrame) -> str:
    return f"{(rows['collapsed'] == 'yes').sum()}/{len(rows)} runs"


def _listing(table: pd.DataFrame, variants: list[str]) -> str:
    return ", ".join(
        f"{variant} ({_count(table[table['variant'] == variant])})" for variant in variants
    )


def _outcome(rows: pd.DataFrame) -> str:
    """'collapsed' when any run collapsed, 'never learned' when no run reached the peak,
    else 'stable'."""
    if (rows["collapsed"] == "yes").any():
        return "collapsed"
    if (rows["best_val_auroc"] < PEAK_VAL_AUROC).all():
        return "never learned"
    return "stable"


def collapse_verdict(table: pd.DataFrame, study_variants: list[str]) -> str:
    """One sentence from :func:`collapse_table`: which conditions reproduce the collapse and
    which changes prevent it, relative to the control (the first study variant).

    A variant collapses when any of its runs collapsed; a variant none of whose runs
    reached a validation AUROC of 0.8 never learned, and so neither reproduces nor
    prevents a collapse.
    """
    ran = [variant for variant in study_variants if variant in set(table["variant"])]
    if not ran:
        return "The collapse study has no run (no variant of gnn.comparisons.collapse was trained)."
    outcome = {v: _outcome(table[table["variant"] == v]) for v in ran}
    control = study_variants[0]
    changes = [v for v in ran if v != control]
    by_outcome = {
        kind: [v for v in changes if outcome[v] == kind]
        for kind in ("collapsed", "stable", "never learned")
    }
    if control not in outcome:
        head = f"The control {control} did not run; "
    elif outcome[control] == "collapsed":
        head = f"The control {control} collapsed ({_count(table[table['variant'] == control])}); "
    elif outcome[control] == "never learned":
        head = f"The control {control} never reached validation AUROC {PEAK_VAL_AUROC}; "
    else:
        head = f"The control {control} did not collapse ({_count(table[table['variant'] == control])}); "
    parts = [
        "conditions that reproduce a collapse: "
        + (_listing(table, by_outcome["collapsed"]) or "none"),
        "changes under which no run collapsed: "
        + (_listing(table, by_outcome["stable"]) or "none"),
    ]
    if by_outcome["never learned"]:
        parts.append(
            f"never reaching validation AUROC {PEAK_VAL_AUROC}: "
            + ", ".join(by_outcome["never learned"])
        )
    if outcome.get(control) == "collapsed" and by_outcome["stable"]:
        parts.append("so these remedies prevent it: " + ", ".join(by_outcome["stable"]))
    definition = (
        f"collapse = final test AUROC < {COLLAPSED_TEST_AUROC} after a best validation AUROC "
        f"≥ {PEAK_VAL_AUROC}"
    )
    return head + "; ".join(parts) + f" ({definition})."
