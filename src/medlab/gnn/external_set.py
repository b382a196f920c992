"""The external test set, prepared: featurized like a training table, with every molecule
that also occurs in the training dataset removed and listed.

A molecule counts as known when its canonical SMILES (RDKit) equals that of any molecule
of the training dataset's cleaned table (train, validation or test), so the external
numbers measure molecules the model has never been trained or selected on. This module
imports no model code: editing training or prediction does not re-prepare the set.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger

from medlab.gnn.featurize import (
    ROW_COLUMN,
    TableSpec,
    featurize_table,
    read_molecule_table,
    save_graphs,
)
from medlab.io import write_csv, write_json, write_tsv

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
