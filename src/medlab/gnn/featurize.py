"""RDKit molecules -> PyTorch Geometric graphs with atom and bond features.

Invalid rows (empty or unparsable SMILES, unexpected labels) are dropped and listed with
a reason and their 1-based data row in the file (header excluded) instead of crashing the
run; an unreadable file, a missing column, no valid row or a single label are errors
naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
import torch
from rdkit import Chem, RDLogger
from torch_geometric.data import Data, InMemoryDataset

from medlab.io import atomic_path

log = logging.getLogger(__name__)

ELEMENTS = ["B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Br", "I", "Na", "K", "Ca", "Li", "Se"]
MAX_DEGREE = 5
FORMAL_CHARGES = [-2, -1, 0, 1, 2]
MAX_HYDROGENS = 4
HYBRIDIZATIONS = [
    Chem.rdchem.HybridizationType.S,
    Chem.rdchem.HybridizationType.SP,
    Chem.rdchem.HybridizationType.SP2,
    Chem.rdchem.HybridizationType.SP3,
    Chem.rdchem.HybridizationType.SP3D,
    Chem.rdchem.HybridizationType.SP3D2,
]
CHIRALITIES = [
    Chem.rdchem.ChiralType.CHI_UNSPECIFIED,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.rdchem.ChiralType.CHI_TETRAHEDRAL_CCW,
]
BOND_TYPES = [
    Chem.rdchem.BondType.SINGLE,
    Chem.rdchem.BondType.DOUBLE,
    Chem.rdchem.BondType.TRIPLE,
    Chem.rdchem.BondType.AROMATIC,
]
BOND_STEREOS = [
    Chem.rdchem.BondStereo.STEREONONE,
    Chem.rdchem.BondStereo.STEREOANY,
    Chem.rdchem.BondStereo.STEREOZ,
    Chem.rdchem.BondStereo.STEREOE,
    Chem.rdchem.BondStereo.STEREOCIS,
    Chem.rdchem.BondStereo.STEREOTRANS,
]


def _one_hot(value, choices) -> list[float]:
    """One-hot over ``choices`` plus a final 'other' slot."""
    encoding = [0.0] * (len(choices) + 1)
    try:
        encoding[choices.index(value)] = 1.0
    except ValueError:
        encoding[-1] = 1.0
    return encoding


def atom_features(atom: Chem.Atom) -> list[float]:
    """Element, degree, formal charge, H count, hybridization, aromatic, in ring, chirality, mass/100."""
    return (
        _one_hot(atom.GetSymbol(), ELEMENTS)
        + _one_hot(min(atom.GetTotalDegree(), MAX_DEGREE), list(range(MAX_DEGREE)))
        + _one_hot(atom.GetFormalCharge(), FORMAL_CHARGES)
        + _one_hot(min(atom.GetTotalNumHs(), MAX_HYDROGENS), list(range(MAX_HYDROGENS)))
        + _one_hot(atom.GetHybridization(), HYBRIDIZATIONS)
        + [float(atom.GetIsAromatic()), float(atom.IsInRing())]
        + _one_hot(atom.GetChiralTag(), CHIRALITIES)
        + [atom.GetMass() * 0.01]
    )


def bond_features(bond: Chem.Bond) -> list[float]:
    """Bond type, conjugated, in ring, stereo."""
    return (
        _one_hot(bond.GetBondType(), BOND_TYPES)
        + [float(bond.GetIsConjugated()), float(bond.IsInRing())]
        + _one_hot(bond.GetStereo(), BOND_STEREOS)
    )


ATOM_DIM = len(atom_features(Chem.MolFromSmiles("C").GetAtomWithIdx(0)))
BOND_DIM = len(bond_features(Chem.MolFromSmiles("CC").GetBondWithIdx(0)))


def mol_to_graph(mol: Chem.Mol) -> Data:
    """A PyG graph of ``mol``.

    Returns ``Data`` with ``x`` (num_atoms, ATOM_DIM), ``edge_index`` (2, 2*num_bonds)
    holding each bond in both directions, and ``edge_attr`` (2*num_bonds, BOND_DIM). A
    molecule without bonds gets an empty (2, 0) ``edge_index`` and (0, BOND_DIM) ``edge_attr``.
    """
    x = torch.tensor([atom_features(atom) for atom in mol.GetAtoms()], dtype=torch.float32)
    sources, targets, attrs = [], [], []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        features = bond_features(bond)
        sources += [i, j]
        targets += [j, i]
        attrs += [features, features]
    edge_index = torch.tensor([sources, targets], dtype=torch.long).reshape(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.float32).reshape(-1, BOND_DIM)
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


@dataclass(frozen=True)
class TableSpec:
    """How to read a molecule table: SMILES column, label column and the two label values."""

    smiles_column: str
    label_column: str
    positive_label: str
    negative_label: str
    separator: str = ","


ROW_COLUMN = "data_row_1based"
ROW_NOTE = "1-based data row of the file, header excluded"


def read_molecule_table(path: str, spec: TableSpec) -> pd.DataFrame:
    """Read the raw table as strings, indexed by 0-based data row (header excluded).

    Raises ValueError naming the file when it cannot be decoded or parsed as a table
    with ``spec.separator``, or when a configured column is missing.
    """
    try:
        frame = pd.read_csv(path, sep=spec.separator, dtype=str, keep_default_na=False)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 text ({error}); re-save the table as UTF-8, or, if it is a "
            "cached download, delete it and rerun"
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ValueError(
            f"{path}: not readable as a table separated by {spec.separator!r} ({error}); check "
            "the file and the separator in gnn.tables, or, if it is a cached download, delete "
            "it and rerun"
        ) from error
    missing = [c for c in (spec.smiles_column, spec.label_column) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {missing}; columns present: {list(frame.columns)}; "
            "set smiles_column / label_column in gnn.tables"
        )
    return frame


def featurize_table(
    frame: pd.DataFrame, spec: TableSpec, source: str = "table"
) -> tuple[list[Data], pd.DataFrame, pd.DataFrame]:
    """Featurize every valid row of ``frame``.

    ``frame``'s index holds each row's 0-based data row in ``source`` (as
    :func:`read_molecule_table` reads it and :func:`medlab.sampling.seeded_rows` keeps
    it), so rows keep their number in the file after subsampling.

    Returns ``(graphs, kept, dropped)``:
    ``graphs[i]`` carries ``y`` (1,) float label and ``row`` (1,) its 0-based data row;
    ``kept`` has columns data_row_1based, smiles, label in the same order as ``graphs``
    (split indices refer to positions in ``kept``); ``dropped`` has data_row_1based,
    smiles, reason and row (the same number as data_row_1based). Raises ValueError naming ``source`` when no row is valid (with the
    count per reason) or when every valid row has the same label.
    """
    RDLogger.DisableLog("rdApp.*")  # parse failures are recorded in ``dropped`` instead
    labels = {spec.positive_label: 1.0, spec.negative_label: 0.0}
    graphs, kept, dropped = [], [], []
    rows = frame.index.tolist()
    smiles_values = frame[spec.smiles_column].tolist()
    label_values = frame[spec.label_column].tolist()
    for row, smiles, raw_label in zip(rows, smiles_values, label_values):
        smiles = str(smiles).strip()
        raw_label = str(raw_label).strip()
        mol, reason = _parse_row(smiles, raw_label, labels, spec)
        if reason:
            dropped.append((row + 1, smiles, reason))
            continue
        graph = mol_to_graph(mol)
        graph.y = torch.tensor([labels[raw_label]], dtype=torch.float32)
        graph.row = torch.tensor([row], dtype=torch.long)
        graphs.append(graph)
        kept.append((row + 1, smiles, int(labels[raw_label])))
    dropped_frame = pd.DataFrame(dropped, columns=[ROW_COLUMN, "smiles", "reason"])
    if not graphs:
        raise ValueError(
            f"{source}: no valid molecules among {len(frame)} rows; rows dropped per reason: "
            f"{_reason_counts(dropped_frame)}. Check smiles_column, label_column, positive_label "
            "and negative_label in gnn.tables against the file"
        )
    for record in dropped_frame.itertuples(index=False):
        log.warning(
            "%s data row %d (%s) dropped: %s (%r)",
            source,
            record.data_row_1based,
            ROW_NOTE,
            record.reason,
            record.smiles,
        )
    if dropped:
        log.warning(
            "%s: dropped %d of %d rows (listed in the dropped table)",
            source,
            len(dropped),
            len(frame),
        )
    kept_frame = pd.DataFrame(kept, columns=[ROW_COLUMN, "smiles", "label"])
    _check_both_labels(kept_frame, spec, source)
    return graphs, kept_frame, dropped_frame


def _parse_row(smiles: str, raw_label: str, labels: dict, spec: TableSpec):
    """(molecule, None) for a valid row, (None, reason) otherwise."""
    if not smiles:
        return None, "empty SMILES"
    if raw_label not in labels:
        return None, (
            f"label {raw_label!r} in column {spec.label_column!r} is not one of {sorted(labels)}"
        )
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None, "RDKit could not parse the SMILES"
    if mol.GetNumAtoms() == 0:
        return None, "molecule has no atoms"
    return mol, None


def _reason_counts(dropped: pd.DataFrame) -> str:
    counts = dropped["reason"].value_counts()
    return "; ".join(f"{reason}: {count}" for reason, count in counts.items())


def _check_both_labels(kept: pd.DataFrame, spec: TableSpec, source: str) -> None:
    """Raise ValueError when every kept molecule has the same label (AUROC needs both)."""
    present = set(kept["label"].tolist())
    if len(present) == 2:
        return
    only = spec.positive_label if present == {1} else spec.negative_label
    missing = spec.negative_label if present == {1} else spec.positive_label
    raise ValueError(
        f"{source}: all {len(kept)} valid molecules have label {only!r} in column "
        f"{spec.label_column!r}; none has {missing!r}. Check label_column, positive_label and "
        "negative_label in gnn.tables against the values in the file"
    )


def save_graphs(graphs: list[Data], path) -> None:
    """Collate ``graphs`` into one file (PyG's in-memory layout: one big Data + slices)."""

    data, slices = InMemoryDataset.collate(graphs)
    with atomic_path(path) as tmp:
        torch.save(
            {"data": data.to_dict(), "slices": slices, "atom_dim": ATOM_DIM, "bond_dim": BOND_DIM},
            tmp,
        )


class MoleculeGraphs(InMemoryDataset):
    """The graphs written by :func:`save_graphs`, indexable like a list of ``Data``."""

    def __init__(self, path):
        super().__init__(root=None)
        stored = torch.load(path, weights_only=False)
        self.data, self.slices = Data.from_dict(stored["data"]), stored["slices"]
        self.atom_dim, self.bond_dim = stored["atom_dim"], stored["bond_dim"]

    @property
    def labels(self) -> torch.Tensor:
        """(num_graphs,) float labels."""
        return self._data.y
