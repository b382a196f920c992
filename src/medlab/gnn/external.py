"""External evaluation: trained runs applied to a dataset they were not developed on.

The external table is featurized like a training table; every molecule that also occurs
in the run's own dataset (the same canonical SMILES, anywhere in train, validation or
test) is removed and listed, so the external numbers measure molecules the model has
never been selected on. Each run is then scored with its reported checkpoint and its
F1-optimal validation threshold, exactly as ``medlab predict`` would apply it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger

from medlab.gnn.featurize import (
    ROW_COLUMN,
    MoleculeGraphs,
    TableSpec,
    featurize_table,
    read_molecule_table,
    save_graphs,
)
from medlab.gnn.predict import load_run
from medlab.gnn.train import predict
from medlab.io import write_csv, write_json, write_tsv
from medlab.metrics import ranking_metrics, threshold_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExternalFiles:
    """Where the prepared external set goes: graphs, kept molecules, removed rows, counts."""

    graphs: str
    molecules: str
    removed: str
    summary: str


def canonical_smiles(smiles: str) -> str | None:
    """RDKit's canonical SMILES of ``smiles``; None when RDKit cannot parse it."""
    mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def known_molecule_mask(smiles: list[str], reference_smiles: list[str]) -> np.ndarray:
    """(len(smiles),) bool: True where a SMILES has the canonical form of one in
    ``reference_smiles`` (unparsable reference SMILES are ignored)."""
    RDLogger.DisableLog("rdApp.*")
    reference = {canonical_smiles(value) for value in reference_smiles} - {None}
    return np.array([canonical_smiles(value) in reference for value in smiles], dtype=bool)


def prepare_external(
    table_path: str | os.PathLike,
    spec: TableSpec,
    training_molecules_path: str | os.PathLike,
    training_name: str,
    outputs: ExternalFiles,
) -> dict:
    """Featurize the external table at ``table_path`` (read with ``spec``), remove the
    molecules of ``training_molecules_path`` (molecules.csv of the dataset
    ``training_name``), and write ``outputs``.

    ``outputs.removed`` lists every row left out (data_row_1based, smiles, reason): rows the
    featurizer drops and molecules also in the training dataset. Returns (and writes to
    ``outputs.summary``) the counts. Raises ValueError naming the file when the table
    cannot be read, or when no molecule, or only one class, is left.
    """
    frame = read_molecule_table(str(table_path), spec)
    graphs, kept, dropped = featurize_table(frame, spec, source=str(table_path))
    training_smiles = pd.read_csv(training_molecules_path)["smiles"].tolist()
    known = known_molecule_mask(kept["smiles"].tolist(), training_smiles)
    overlap = kept[known].assign(
        reason=f"also in the training dataset {training_name} (same canonical SMILES)"
    )
    kept = kept[~known].reset_index(drop=True)
    graphs = [graph for graph, is_known in zip(graphs, known) if not is_known]
    if kept["label"].nunique() < 2:
        raise ValueError(
            f"{table_path}: {len(kept)} molecule(s) left after removing the {int(known.sum())} "
            f"also in {training_name}, with labels {sorted(kept['label'].unique())}; an external "
            "AUROC needs both classes. Choose another gnn.external.dataset"
        )
    log.info(
        "%s: %d molecules kept, %d also in %s removed, %d rows dropped by the featurizer",
        table_path,
        len(kept),
        int(known.sum()),
        training_name,
        len(dropped),
    )
    removed = pd.concat(
        [dropped, overlap[[ROW_COLUMN, "smiles", "reason"]]], ignore_index=True
    ).sort_values(ROW_COLUMN)
    summary = {
        "rows_read": len(frame),
        "molecules_kept": len(kept),
        "removed_in_training_data": int(known.sum()),
        "rows_dropped_invalid": len(dropped),
        "positive_fraction": float(kept["label"].mean()),
        "training_dataset": training_name,
    }
    save_graphs(graphs, outputs.graphs)
    write_csv(kept, outputs.molecules)
    write_tsv(removed, outputs.removed)
    write_json(summary, outputs.summary)
    return summary


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
