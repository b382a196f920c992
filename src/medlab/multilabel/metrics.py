"""Multi-label metrics (scikit-learn), thresholds and calibration fitted on validation only."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

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
