"""Apply finished GNN runs to new molecules.

A finished run is a directory ``results/gnn/<dataset>/<split>/<variant>/seed<k>/`` holding
``model.pt`` (written by :func:`medlab.gnn.runner.run_training`) and ``metrics.json``
(written by :func:`medlab.gnn.evaluate.evaluate_run`). The run's reported checkpoint
(``metrics["reported"]``: the restored best weights with early stopping, the last epoch's
without) is the model a user gets, and the F1-optimal validation threshold of that
checkpoint (``metrics[reported]["at_val_threshold"]["threshold"]``) turns its probability
into a class, exactly as the test metrics were computed.

Molecules go through the training featurizer (:func:`medlab.gnn.featurize.mol_to_graph`);
a SMILES that cannot become a graph gets a reason instead of a probability, never an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger
from torch_geometric.data import Data

from medlab.gnn.featurize import ATOM_DIM, BOND_DIM, ROW_COLUMN, mol_to_graph
from medlab.gnn.models import MoleculeGNN
from medlab.gnn.spec import TrainSpec
from medlab.gnn.train import predict
from medlab.io import read_json

RUN_FILES = ("model.pt", "metrics.json")
RUN_LAYOUT = "results/gnn/<dataset>/<split>/<variant>/seed<k>"
SMILES_COLUMN_NAMES = ("smiles", "SMILES")
PLAIN_SMILES_SUFFIXES = (".smi", ".txt")

# the reasons the training featurizer gives for the same failures (featurize._parse_row)
EMPTY_SMILES = "empty SMILES"
UNPARSABLE_SMILES = "RDKit could not parse the SMILES"
NO_ATOMS = "molecule has no atoms"


class PredictionInputError(ValueError):
    """A run directory or molecule file that cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class TrainedRun:
    """The model a finished run reports, ready for inference.

    ``checkpoint`` is 'best' or 'final'; ``threshold`` is that checkpoint's F1-optimal
    validation threshold.
    """

    directory: Path
    model: MoleculeGNN
    checkpoint: str
    threshold: float


def load_run(directory: str | os.PathLike, device: torch.device) -> TrainedRun:
    """Load the reported model and validation threshold of the finished run in ``directory``.

    Raises PredictionInputError naming the directory when it is not one, lacks
    model.pt or metrics.json (a run still training, killed, or not a run directory at
    all), or holds files that are not what the workflow writes.
    """
    directory = Path(directory)
    if not directory.is_dir():
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise PredictionInputError(
            f"run directory {directory} {problem}; give a finished GNN run ({RUN_LAYOUT})"
        )
    missing = [name for name in RUN_FILES if not (directory / name).is_file()]
    if missing:
        raise PredictionInputError(
            f"{directory} is not a finished GNN run: {' and '.join(missing)} missing; give a "
            f"run directory ({RUN_LAYOUT}) whose training and evaluation have completed "
            "(snakemake --cores 1 <run>/metrics.json)"
        )
    metrics = _read_run_metrics(directory / "metrics.json")
    checkpoint = metrics["reported"]
    stored = _read_model_file(directory / "model.pt")
    if (stored["atom_dim"], stored["bond_dim"]) != (ATOM_DIM, BOND_DIM):
        raise PredictionInputError(
            f"{directory / 'model.pt'}: trained on {stored['atom_dim']} atom and "
            f"{stored['bond_dim']} bond features, but this medlab featurizer makes {ATOM_DIM} "
            f"and {BOND_DIM}; use the medlab version the run was trained with, or retrain it"
        )
    return TrainedRun(
        directory=directory,
        model=_build_model(stored, checkpoint, directory / "model.pt").to(device).eval(),
        checkpoint=checkpoint,
        threshold=float(metrics[checkpoint]["at_val_threshold"]["threshold"]),
    )


def _build_model(stored: dict, checkpoint: str, path: Path) -> MoleculeGNN:
    """The GNN described by model.pt's spec with the ``checkpoint`` ('best'/'final') weights.

    Raises PredictionInputError when this medlab cannot build that spec or the weights do
    not fit it (a run from another medlab version).
    """
    try:
        spec = TrainSpec.from_dict(stored["spec"])
        model = MoleculeGNN(spec.model, ATOM_DIM, BOND_DIM)
        model.load_state_dict(stored[f"{checkpoint}_state"])
    except (ValueError, TypeError, RuntimeError) as error:
        # from_dict/ModelSpec reject unknown options; load_state_dict rejects other shapes
        raise PredictionInputError(
            f"{path}: this medlab cannot rebuild the run's model ({' '.join(str(error).split())}); "
            "use the medlab version the run was trained with, or retrain it"
        ) from error
    return model


def _read_run_metrics(path: Path) -> dict:
    """metrics.json of a run; PredictionInputError when it lacks the reported threshold."""
    try:
        metrics = read_json(path)
        metrics[metrics["reported"]]["at_val_threshold"]["threshold"]
    except (ValueError, KeyError, TypeError) as error:
        raise PredictionInputError(
            f"{path}: not the metrics file of a GNN run (no reported checkpoint with a "
            f"validation threshold: {error!r}); rerun the run's evaluation "
            "(snakemake --cores 1 <run>/metrics.json --forcerun gnn_evaluate)"
        ) from error
    return metrics


def _read_model_file(path: Path) -> dict:
    """The dictionary saved in model.pt; PredictionInputError when it is not one."""
    try:
        # weights_only: a model file is data (tensors, numbers, strings), never code to run
        stored = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("spec", "atom_dim", "bond_dim", "best_state", "final_state"):
            stored[key]
    except Exception as error:  # torch raises several unrelated types for a damaged file
        raise PredictionInputError(
            f"{path}: not a GNN model file written by the workflow ({error.__class__.__name__}: "
            f"{error}); retrain the run (snakemake --cores 1 <run>/metrics.json --forcerun "
            "gnn_train)"
        ) from error
    return stored


def smiles_to_graph(smiles: str) -> tuple[Data | None, str | None]:
    """``(graph, None)`` for a usable SMILES, ``(None, reason)`` otherwise.

    The graph is :func:`medlab.gnn.featurize.mol_to_graph` of the parsed molecule: x
    (num_atoms, ATOM_DIM), edge_index (2, 2*num_bonds), edge_attr (2*num_bonds, BOND_DIM).
    Reasons: empty SMILES, RDKit parse failure, a molecule without atoms.
    """
    smiles = smiles.strip()
    if not smiles:
        return None, EMPTY_SMILES
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None, UNPARSABLE_SMILES
    if mol.GetNumAtoms() == 0:
        return None, NO_ATOMS
    return mol_to_graph(mol), None


def predict_molecules(
    runs: list[TrainedRun], smiles: list[str], device: torch.device
) -> pd.DataFrame:
    """Probabilities and classes of ``smiles`` under one run or the mean of several.

    Returns one row per input SMILES, in order, with columns ``probability`` (the mean over
    runs of the positive-class probability), ``probability_std`` (population standard
    deviation across runs; only with several runs), ``predicted_class`` (1 where the
    probability reaches ``threshold``, the mean of the runs' validation thresholds) and
    ``reason`` (why a SMILES has no prediction; empty otherwise). Rows without a
    prediction hold NA in the numeric columns. Raises ValueError when ``runs`` is empty.
    """
    if not runs:
        raise ValueError("predict_molecules needs at least one run")
    RDLogger.DisableLog("rdApp.*")  # parse failures become per-row reasons instead of log noise
    parsed = [smiles_to_graph(text) for text in smiles]
    valid = [i for i, (graph, _) in enumerate(parsed) if graph is not None]
    graphs = [parsed[i][0] for i in valid]
    # (num_runs, num_valid): each run's probability of the positive class
    per_run = np.stack([_run_probabilities(run, graphs, device) for run in runs])
    threshold = float(np.mean([run.threshold for run in runs]))

    probability = pd.Series(pd.NA, index=range(len(smiles)), dtype="Float64")
    probability.iloc[valid] = per_run.mean(axis=0)
    table = pd.DataFrame({"probability": probability})
    if len(runs) > 1:
        spread = pd.Series(pd.NA, index=range(len(smiles)), dtype="Float64")
        spread.iloc[valid] = per_run.std(axis=0)
        table["probability_std"] = spread
    table["predicted_class"] = (probability >= threshold).astype("Int64")
    table["threshold"] = threshold
    table["reason"] = [reason or "" for _, reason in parsed]
    return table


def _run_probabilities(run: TrainedRun, graphs: list, device: torch.device) -> np.ndarray:
    """(len(graphs),) probabilities of one run; empty when there is no graph."""
    if not graphs:
        return np.empty(0, dtype=np.float32)
    return predict(run.model, graphs, device)


def read_molecules(path: str | os.PathLike, smiles_column: str | None = None) -> pd.DataFrame:
    """The SMILES of a CSV table or a plain SMILES file, with each one's row number.

    A ``.smi`` / ``.txt`` file holds one molecule per line: the SMILES is the line's first
    whitespace-separated field (the rest, as in the SMILES file format, is a name); a blank
    line is kept as an empty SMILES. Anything else is read as CSV, the SMILES taken from
    ``smiles_column``, else a column named smiles or SMILES, else the only column.

    Returns columns ``data_row_1based`` (line number of a plain file; data row of a CSV,
    header excluded) and ``smiles``. Raises PredictionInputError naming the file when it
    is missing, unreadable, or the SMILES column cannot be found.
    """
    path = Path(path)
    if not path.is_file():
        raise PredictionInputError(f"molecule file {path} does not exist")
    try:
        if path.suffix.lower() in PLAIN_SMILES_SUFFIXES:
            smiles = _read_plain_smiles(path)
        else:
            smiles = _read_csv_smiles(path, smiles_column)
    except UnicodeDecodeError as error:
        raise PredictionInputError(
            f"{path}: not UTF-8 text ({error}); re-save it as UTF-8"
        ) from error
    return pd.DataFrame({ROW_COLUMN: range(1, len(smiles) + 1), "smiles": smiles})


def _read_plain_smiles(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [line.split()[0] if line.strip() else "" for line in lines]


def _read_csv_smiles(path: Path, smiles_column: str | None) -> list[str]:
    try:
        # utf-8-sig: spreadsheet programs often start a CSV export with a byte-order mark
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise PredictionInputError(
            f"{path}: not readable as a comma-separated table ({error}); give a CSV with a "
            "header row, or a .smi/.txt file with one SMILES per line"
        ) from error
    return frame[_smiles_column(frame, path, smiles_column)].tolist()


def _smiles_column(frame: pd.DataFrame, path: Path, requested: str | None) -> str:
    """The column holding SMILES: ``requested``, else smiles/SMILES, else the only column."""
    columns = list(frame.columns)
    if requested is not None:
        if requested not in columns:
            raise PredictionInputError(
                f"{path}: no column {requested!r}; columns present: {columns}; "
                "set --smiles-column to one of them"
            )
        return requested
    named = [name for name in SMILES_COLUMN_NAMES if name in columns]
    if named:
        return named[0]
    if len(columns) == 1:
        return columns[0]
    raise PredictionInputError(
        f"{path}: no column named smiles or SMILES among {columns}; "
        "name the SMILES column with --smiles-column"
    )
