"""Multi-label metrics (scikit-learn), thresholds and calibration fitted on validation only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold

from medlab.metrics import (  # noqa: F401 (best_f1_threshold, expected_calibration_error re-exported)
    PlattScaler,
    best_f1_threshold,
    expected_calibration_error,
)


def defined_labels(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of labels with both positives and negatives (macro averages use only these)."""
    positives = labels.sum(0)
    return (positives > 0) & (positives < len(labels))


def ranking_and_threshold_metrics(
    labels: np.ndarray, probs: np.ndarray, threshold
) -> dict[str, float]:
    """Micro and macro precision/recall/F1 at ``threshold`` (scalar or one per label), micro
    and macro ROC-AUC and mean average precision. Macro averages skip labels without
    positives (or without negatives); ``labels_excluded`` counts them."""
    predicted = (probs >= np.asarray(threshold)).astype(int)
    ok = defined_labels(labels)
    result = {"labels_excluded": int((~ok).sum())}
    p, r, f, _ = precision_recall_fscore_support(
        labels, predicted, average="micro", zero_division=0
    )
    result.update(micro_precision=float(p), micro_recall=float(r), micro_f1=float(f))
    if ok.any():
        p, r, f, _ = precision_recall_fscore_support(
            labels[:, ok], predicted[:, ok], average="macro", zero_division=0
        )
        result.update(macro_precision=float(p), macro_recall=float(r), macro_f1=float(f))
        result["macro_roc_auc"] = float(roc_auc_score(labels[:, ok], probs[:, ok], average="macro"))
        result["mean_average_precision"] = float(
            average_precision_score(labels[:, ok], probs[:, ok], average="macro")
        )
        result["micro_roc_auc"] = float(roc_auc_score(labels[:, ok], probs[:, ok], average="micro"))
    else:
        result.update(
            {
                k: float("nan")
                for k in (
                    "macro_precision",
                    "macro_recall",
                    "macro_f1",
                    "macro_roc_auc",
                    "mean_average_precision",
                    "micro_roc_auc",
                )
            }
        )
    return result


def per_class_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """F1-optimal threshold per label on validation; 0.5 where a label has no positives there."""
    return np.array(
        [
            best_f1_threshold(labels[:, j], probs[:, j]) if labels[:, j].any() else 0.5
            for j in range(labels.shape[1])
        ]
    )


THRESHOLD_METHODS = ("validation", "cv")


@dataclass(frozen=True)
class ThresholdRule:
    """How per-class thresholds are chosen (``multilabel.thresholds``): see
    :func:`guarded_thresholds`."""

    method: str
    folds: int
    min_gain: float


def f1_at(labels: np.ndarray, probs: np.ndarray, threshold: float) -> float:
    """F1 of one label's (examples,) 0/1 ``labels`` when predicting ``probs >= threshold``."""
    return float(f1_score(labels, (probs >= threshold).astype(int), zero_division=0))


def out_of_fold_threshold(
    labels: np.ndarray, probs: np.ndarray, folds: int, seed: int
) -> tuple[float, float]:
    """(threshold, out-of-fold F1) of one label by stratified k-fold cross-validation.

    Each fold's threshold is tuned on the other folds and scored on the fold; the returned
    threshold is the median of the fold thresholds (steadier than one fit on few positives)
    and the F1 is that of every example predicted by the threshold tuned without it. Raises
    ValueError when the label has fewer positives or negatives than ``folds``.
    """
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = np.zeros(len(labels), dtype=int)
    thresholds = []
    for fitted, held_out in splitter.split(probs, labels):
        threshold = best_f1_threshold(labels[fitted], probs[fitted])
        thresholds.append(threshold)
        predicted[held_out] = probs[held_out] >= threshold
    return float(np.median(thresholds)), float(f1_score(labels, predicted, zero_division=0))


def guarded_thresholds(
    labels: np.ndarray,
    probs: np.ndarray,
    method: str,
    folds: int,
    min_gain: float,
    seed: int = 0,
) -> np.ndarray:
    """(labels,) per-class thresholds tuned on validation, kept only where they pay.

    ``method``: ``validation`` tunes each label's F1-optimal threshold on all validation
    examples and measures its gain on those same examples; ``cv`` tunes it by stratified
    ``folds``-fold cross-validation (:func:`out_of_fold_threshold`) and measures the gain
    out of fold, so a threshold that only fits the validation noise shows no gain. K folds
    rather than bootstrap resamples: every example is scored exactly once by a threshold
    that did not see it, which is the estimate the guard needs, with no resampling noise.

    A label keeps 0.5 unless tuning raises its validation F1 by at least ``min_gain``, and
    under ``cv`` also when it has fewer positives or negatives than ``folds``. With
    ``validation`` and ``min_gain`` 0 the result equals :func:`per_class_thresholds`.
    ``labels``/``probs`` are (examples, labels). Deterministic for a given ``seed``.
    Raises ValueError for an unknown method.
    """
    if method not in THRESHOLD_METHODS:
        raise ValueError(
            f"unknown threshold method {method!r}; expected one of {', '.join(THRESHOLD_METHODS)}"
        )
    thresholds = np.full(labels.shape[1], 0.5)
    for j in range(labels.shape[1]):
        y, p = labels[:, j].astype(int), probs[:, j]
        positives = int(y.sum())
        if method == "validation":
            if positives == 0:
                continue
            threshold = best_f1_threshold(y, p)
            tuned_f1 = f1_at(y, p, threshold)
        else:
            if min(positives, len(y) - positives) < folds:
                continue
            threshold, tuned_f1 = out_of_fold_threshold(y, p, folds, seed)
        if tuned_f1 - f1_at(y, p, 0.5) >= min_gain:
            thresholds[j] = threshold
    return thresholds


THRESHOLD_GRID = np.linspace(0.05, 0.95, 19)


def global_threshold(labels: np.ndarray, probs: np.ndarray, grid=THRESHOLD_GRID) -> float:
    """The single threshold (on a 0.05 grid) maximising micro-F1 on validation."""
    scores = [
        f1_score(labels, (probs >= t).astype(int), average="micro", zero_division=0) for t in grid
    ]
    return float(grid[int(np.argmax(scores))])


def fit_calibrators(labels: np.ndarray, probs: np.ndarray, method: str) -> list:
    """One calibrator per label (``platt`` or ``isotonic``), None where a label is single-class.

    ``labels`` and ``probs`` are (examples, labels) validation arrays.
    """
    if method not in ("platt", "isotonic"):
        raise ValueError(f"unknown calibration {method!r}; expected platt or isotonic")
    calibrators = []
    for j in range(labels.shape[1]):
        if len(np.unique(labels[:, j])) < 2:
            calibrators.append(None)
        elif method == "platt":
            calibrators.append(PlattScaler(logit_input=True).fit(probs[:, j], labels[:, j]))
        else:
            calibrators.append(
                IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(
                    probs[:, j], labels[:, j]
                )
            )
    return calibrators


def apply_calibrators(calibrators: list, probs: np.ndarray) -> np.ndarray:
    """(examples, labels) probabilities mapped label by label; a None calibrator keeps its column."""
    out = probs.copy()
    for j, calibrator in enumerate(calibrators):
        if calibrator is not None:
            out[:, j] = calibrator.predict(probs[:, j])
    return out
