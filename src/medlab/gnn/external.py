"""External evaluation: a finished run applied to the prepared external set
(:mod:`medlab.gnn.external_set`), with its reported checkpoint and F1-optimal validation
threshold, exactly as ``medlab predict`` would apply it.
"""

from __future__ import annotations

import os

import pandas as pd
import torch

from medlab.gnn.featurize import MoleculeGraphs
from medlab.gnn.predict import load_run
from medlab.gnn.train import predict
from medlab.metrics import ranking_metrics, threshold_metrics


def evaluate_external(
    run_directory: str | os.PathLike, graphs_path: str | os.PathLike, device: torch.device
) -> tuple[dict, pd.DataFrame]:
    """Score the finished run in ``run_directory`` on the prepared external graphs.

    Returns ``(metrics, predictions)``: metrics holds the checkpoint used, n_molecules,
    positive_fraction, roc_auc, pr_auc and ``at_val_threshold`` (threshold metrics at the
    run's F1-optimal validation threshold); predictions has one row per external molecule
    (index, label, probability). Raises PredictionInputError (medlab.gnn.predict) for a
    directory that is not a finished run.
    """
    run = load_run(run_directory, device)
    graphs = MoleculeGraphs(graphs_path)
    labels = graphs.labels.int().numpy()
    probabilities = predict(run.model, graphs, device)
    metrics = {
        "checkpoint": run.checkpoint,
        "n_molecules": len(labels),
        "positive_fraction": float(labels.mean()),
        **ranking_metrics(labels, probabilities, f"external set {graphs_path}"),
        "at_val_threshold": threshold_metrics(labels, probabilities, run.threshold),
    }
    predictions = pd.DataFrame(
        {"index": range(len(labels)), "label": labels, "probability": probabilities}
    )
    return metrics, predictions
