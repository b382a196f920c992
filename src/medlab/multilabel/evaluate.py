"""Test evaluation of a fine-tuned multi-label model: thresholds and calibration are fitted
on the validation split only and applied to test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, multilabel_confusion_matrix, roc_auc_score

from medlab.multilabel.metrics import (
    ThresholdRule,
    apply_calibrators,
    defined_labels,
    expected_calibration_error,
    fit_calibrators,
    global_threshold,
    guarded_thresholds,
    per_class_thresholds,
    ranking_and_threshold_metrics,
)


def split_arrays(
    predictions: pd.DataFrame, label_set: list[str], part: str
) -> tuple[np.ndarray, np.ndarray]:
    rows = predictions[predictions["split"] == part]
    truth = rows[[f"true_{label}" for label in label_set]].to_numpy()
    probs = rows[[f"prob_{label}" for label in label_set]].to_numpy()
    return truth, probs


def evaluate_predictions(
    predictions: pd.DataFrame, label_set: list[str], threshold_rule: ThresholdRule | None = None
) -> tuple[dict, pd.DataFrame]:
    """(metrics, per-class table) for the test split.

    metrics: ``at_0.5``, ``per_class_thresholds`` (plain validation tuning),
    ``tuned_thresholds`` (tuned by ``threshold_rule``; the plain tuning when it is None),
    ``global_threshold`` (each the micro/macro metric dict), ``thresholds`` used (per
    class, ``tuned`` with its ``method``, global), calibration (ECE raw / Platt / isotonic
    on test), and the labels excluded from macro averages with the reason.
    """
    val_y, val_p = split_arrays(predictions, label_set, "val")
    test_y, test_p = split_arrays(predictions, label_set, "test")
    tuned = per_class_thresholds(val_y, val_p)
    rule = threshold_rule or ThresholdRule(method="validation", folds=2, min_gain=0.0)
    guarded = guarded_thresholds(val_y, val_p, rule.method, rule.folds, rule.min_gain)
    single = global_threshold(val_y, val_p)
    metrics = {
        "at_0.5": ranking_and_threshold_metrics(test_y, test_p, 0.5),
        "per_class_thresholds": ranking_and_threshold_metrics(test_y, test_p, tuned),
        "tuned_thresholds": ranking_and_threshold_metrics(test_y, test_p, guarded),
        "global_threshold": ranking_and_threshold_metrics(test_y, test_p, single),
        "thresholds": {
            "per_class": dict(zip(label_set, tuned.tolist())),
            "tuned": dict(zip(label_set, guarded.tolist())),
            "method": rule.method,
            "global": single,
        },
        "excluded_from_macro": {
            label: "no positives in the test split"
            if test_y[:, j].sum() == 0
            else "no negatives in the test split"
            for j, label in enumerate(label_set)
            if not defined_labels(test_y)[j]
        },
        "labels_without_validation_positives": [
            label for j, label in enumerate(label_set) if val_y[:, j].sum() == 0
        ],
    }
    calibration = {"raw": expected_calibration_error(test_y, test_p)}
    for method in ("platt", "isotonic"):
        calibrated = apply_calibrators(fit_calibrators(val_y, val_p, method), test_p)
        calibration[method] = expected_calibration_error(test_y, calibrated)
    metrics["ece"] = calibration
    return metrics, per_class_table(test_y, test_p, tuned, label_set)


def per_class_table(
    labels: np.ndarray, probs: np.ndarray, tuned: np.ndarray, label_set: list[str]
) -> pd.DataFrame:
    """Per label: support, ROC-AUC, AP, and the confusion matrix and F1 at 0.5 and at its
    tuned threshold. ``labels``/``probs`` are (examples, labels); ``tuned`` is (labels,)."""
    # (labels, 2, 2) confusion matrices [[tn, fp], [fn, tp]] per setting
    confusion = {
        name: multilabel_confusion_matrix(labels, (probs >= threshold).astype(int))
        for name, threshold in (("0.5", 0.5), ("tuned", tuned))
    }
    rows = []
    for j, label in enumerate(label_set):
        y, p = labels[:, j], probs[:, j]
        defined = 0 < y.sum() < len(y)
        row = {
            "label": label,
            "test_positives": int(y.sum()),
            "roc_auc": float(roc_auc_score(y, p)) if defined else float("nan"),
            "average_precision": float(average_precision_score(y, p)) if defined else float("nan"),
            "threshold": float(tuned[j]),
        }
        for name, matrices in confusion.items():
            (tn, fp), (fn, tp) = matrices[j].tolist()
            f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
            row.update(
                {
                    f"f1_{name}": f1,
                    f"tp_{name}": tp,
                    f"fp_{name}": fp,
                    f"fn_{name}": fn,
                    f"tn_{name}": tn,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)
