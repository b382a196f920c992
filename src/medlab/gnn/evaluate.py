"""Test-set evaluation of a trained GNN from its saved predictions."""

from __future__ import annotations

import pandas as pd

from medlab.metrics import best_f1_threshold, ranking_metrics, threshold_metrics

CHECKPOINTS = ("best", "final")


def evaluate_run(predictions: pd.DataFrame, history: pd.DataFrame, early_stopping: bool) -> dict:
    """Metrics of one training run.

    ``predictions`` has columns split ('val'/'test'), label, prob_best, prob_final (the
    restored best-validation weights and the last epoch's weights). For each checkpoint:
    test ROC-AUC / PR-AUC and threshold metrics at 0.5 and at the F1-optimal validation
    threshold. ``reported`` is the checkpoint a user of the run gets: the restored best
    with early stopping, the last epoch without it (the collapse control). ``collapse_gap``
    is best minus final validation AUROC.
    """
    val = predictions[predictions["split"] == "val"]
    test = predictions[predictions["split"] == "test"]
    result = {}
    for checkpoint in CHECKPOINTS:
        column = f"prob_{checkpoint}"
        tuned = best_f1_threshold(val["label"], val[column])
        result[checkpoint] = {
            **{
                f"test_{k}": v
                for k, v in ranking_metrics(test["label"], test[column], "test split").items()
            },
            **{
                f"val_{k}": v
                for k, v in ranking_metrics(val["label"], val[column], "validation split").items()
            },
            "at_0.5": threshold_metrics(test["label"], test[column], 0.5),
            "at_val_threshold": threshold_metrics(test["label"], test[column], tuned),
        }
    best_row = history.loc[history["val_auroc"].idxmax()]
    result.update(
        reported="best" if early_stopping else "final",
        best_epoch=int(best_row["epoch"]),
        epochs_trained=int(history["epoch"].max()),
        best_val_auroc=float(best_row["val_auroc"]),
        final_val_auroc=float(history["val_auroc"].iloc[-1]),
        collapse_gap=float(best_row["val_auroc"] - history["val_auroc"].iloc[-1]),
        test_positive_rate=float(test["label"].mean()),
        train_seconds=float(history["seconds"].sum()),
    )
    return result


def flat_summary(metrics: dict) -> dict:
    """The headline numbers of a run, from its reported checkpoint, as one flat row."""
    reported = metrics[metrics["reported"]]
    return {
        "test_roc_auc": reported["test_roc_auc"],
        "test_pr_auc": reported["test_pr_auc"],
        "f1_at_0.5": reported["at_0.5"]["f1"],
        "mcc_at_0.5": reported["at_0.5"]["mcc"],
        "recall_at_0.5": reported["at_0.5"]["recall"],
        "precision_at_0.5": reported["at_0.5"]["precision"],
        "f1_at_val_threshold": reported["at_val_threshold"]["f1"],
        "mcc_at_val_threshold": reported["at_val_threshold"]["mcc"],
        "best_epoch": metrics["best_epoch"],
        "epochs_trained": metrics["epochs_trained"],
        "best_val_auroc": metrics["best_val_auroc"],
        "final_val_auroc": metrics["final_val_auroc"],
        "collapse_gap": metrics["collapse_gap"],
        "final_test_roc_auc": metrics["final"]["test_roc_auc"],
        "train_seconds": metrics["train_seconds"],
    }
