"""Binary classification metrics shared by the experiments (scikit-learn underneath)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)


class UndefinedMetricError(ValueError):
    """A metric is undefined for the given labels (e.g. AUROC on a single class)."""


def require_both_classes(labels: np.ndarray, where: str) -> None:
    values = np.unique(labels)
    if len(values) < 2:
        raise UndefinedMetricError(
            f"{where}: labels hold only {values.tolist()}; AUROC and PR-AUC need both classes"
        )


def ranking_metrics(labels, probs, where: str = "predictions") -> dict[str, float]:
    """ROC-AUC and PR-AUC (average precision); raises UndefinedMetricError on one class."""
    labels, probs = np.asarray(labels), np.asarray(probs)
    require_both_classes(labels, where)
    return {
        "roc_auc": float(roc_auc_score(labels, probs)),
        "pr_auc": float(average_precision_score(labels, probs)),
    }


def threshold_metrics(labels, probs, threshold: float) -> dict[str, float]:
    """Precision, recall, F1, MCC and the confusion matrix at ``threshold``."""
    labels = np.asarray(labels).astype(int)
    predicted = (np.asarray(probs) >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    return {
        "threshold": float(threshold),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "mcc": float(matthews_corrcoef(labels, predicted)),
        "tn": int(tn),
        "fp": int(fp),
        "fn": int(fn),
        "tp": int(tp),
    }


def best_f1_threshold(labels, probs) -> float:
    """The probability threshold maximising F1 on (validation) ``labels``.

    Candidates are the distinct predicted probabilities; ties go to the highest threshold.
    """
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs)
    best_threshold, best_f1 = 0.5, -1.0
    for candidate in np.unique(probs):
        score = f1_score(labels, (probs >= candidate).astype(int), zero_division=0)
        if score >= best_f1:
            best_threshold, best_f1 = float(candidate), score
    return best_threshold


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """ECE over all (example, label) pairs with equal-width probability bins."""
    y, p = labels.ravel(), probs.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)
