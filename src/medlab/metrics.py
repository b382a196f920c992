"""Binary classification metrics shared by the experiments (scikit-learn underneath)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    matthews_corrcoef,
    precision_recall_curve,
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

    Candidates are the distinct predicted probabilities (predicting positive at
    ``probs >= threshold``); ties go to the highest threshold; 0.5 when there are no
    predictions. Without any positive label every candidate scores F1 = 0, so the highest
    probability is returned.

    One pass of ``precision_recall_curve``: its precision and recall at each candidate give
    back the exact counts (true positives, predicted positives), and F1 is computed from
    the counts as ``f1_score`` does, 2 TP / (positives + predicted positives), so equal
    F1 values compare equal and the tie rule holds exactly.
    """
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs, dtype=float)
    if probs.size == 0:
        return 0.5
    positives = int(labels.sum())
    if positives == 0:
        return float(probs.max())
    precision, recall, thresholds = precision_recall_curve(labels, probs)
    # the curve ends with (precision 1, recall 0), a point without a threshold
    precision, recall = precision[:-1], recall[:-1]
    true_positives = np.rint(recall * positives)
    with np.errstate(divide="ignore", invalid="ignore"):
        predicted = np.where(true_positives > 0, np.rint(true_positives / precision), 0.0)
    f1 = np.where(true_positives > 0, 2 * true_positives / (positives + predicted), 0.0)
    # thresholds increase along the curve: the last maximum is the highest threshold
    best = len(f1) - 1 - int(np.argmax(f1[::-1]))
    return float(thresholds[best])


def reliability_bins(labels, probs, bins: int = 10) -> pd.DataFrame:
    """Equal-width reliability bins over [0, 1]: how often the positive class occurs at each
    level of predicted probability (the data of a reliability diagram and of the ECE).

    ``labels`` and ``probs`` have the same shape, any number of dimensions (a multi-label
    (examples, labels) matrix counts every pair); 0/1 labels, probabilities in [0, 1].
    Bin ``b`` holds ``edges[b] <= p < edges[b + 1]``, the last bin also ``p == 1``.

    Returns one row per non-empty bin, in increasing order: ``bin`` (0-based), ``lower``,
    ``upper`` (its edges), ``count``, ``confidence`` (mean probability in the bin) and
    ``accuracy`` (mean label in the bin, the observed frequency).
    """
    y, p = np.asarray(labels).ravel(), np.asarray(probs).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels {np.shape(labels)} and probs {np.shape(probs)} differ in shape")
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "bin": b,
                    "lower": edges[b],
                    "upper": edges[b + 1],
                    "count": int(mask.sum()),
                    "confidence": p[mask].mean(),
                    "accuracy": y[mask].mean(),
                }
            )
    return pd.DataFrame(rows, columns=["bin", "lower", "upper", "count", "confidence", "accuracy"])


def expected_calibration_error(labels, probs, bins: int = 10) -> float:
    """ECE over all (example, label) pairs: the count-weighted mean gap between confidence
    and accuracy over :func:`reliability_bins`. 0.0 for empty input."""
    table = reliability_bins(labels, probs, bins)
    total_count = np.size(probs)
    total = 0.0
    for count, confidence, accuracy in zip(table["count"], table["confidence"], table["accuracy"]):
        total += count / total_count * abs(confidence - accuracy)
    return float(total)


class PlattScaler:
    """Platt scaling: a logistic regression from one score per example to P(positive).

    Fit on validation data, apply to test data. ``logit_input=True`` is for scores that
    already are probabilities: they are mapped through the logit (clipped to
    [1e-6, 1 - 1e-6]) first, so a well-calibrated input stays (almost) unchanged. Raw
    scores (a reader's span score) are used as they are.

    >>> PlattScaler().fit(dev_scores, dev_correct).predict(test_scores)  # doctest: +SKIP
    """

    def __init__(self, logit_input: bool = False) -> None:
        self.logit_input = logit_input
        self.model: LogisticRegression | None = None

    def fit(self, scores, labels) -> PlattScaler:
        """Fit on ``scores`` (n,) and 0/1 ``labels`` (n,); returns ``self``.

        Raises :class:`UndefinedMetricError` when ``labels`` hold a single class (or none):
        there is nothing to calibrate against.
        """
        labels = np.asarray(labels)
        classes = np.unique(labels)
        if len(classes) < 2:
            raise UndefinedMetricError(
                f"Platt scaling needs both classes; the {len(labels)} labels hold only "
                f"{classes.tolist()}"
            )
        self.model = LogisticRegression().fit(self._features(scores), labels)
        return self

    def predict(self, scores) -> np.ndarray:
        """Calibrated probabilities (n,) for ``scores`` (n,); raises RuntimeError before fit."""
        if self.model is None:
            raise RuntimeError("PlattScaler.predict called before fit")
        return self.model.predict_proba(self._features(scores))[:, 1]

    def _features(self, scores) -> np.ndarray:
        scores = np.asarray(scores)
        if self.logit_input:
            scores = logit(scores)
        return scores.reshape(-1, 1)


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """log(p / (1 - p)) with ``p`` clipped to [eps, 1 - eps] (finite for 0 and 1)."""
    p = np.clip(p, eps, 1 - eps)
    return np.log(p / (1 - p))
