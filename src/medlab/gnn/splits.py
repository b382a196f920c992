"""Seeded train/validation/test splits written as index files other tools can reuse.

The index file is chemprop's ``--splits-file`` format: a JSON list holding one object
``{"train": [...], "val": [...], "test": [...]}`` of 0-based row indices into the cleaned
molecule table.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem.Scaffolds import MurckoScaffold

from medlab.registry import SPLIT_KINDS


def _split_sizes(n: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) <= 0:
        raise ValueError(
            f"split fractions must be three positive numbers summing to 1, got {fractions}"
        )
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return n_train, n_val


def random_split(n: int, fractions=(0.8, 0.1, 0.1), seed: int = 0) -> dict[str, list[int]]:
    """Shuffle ``range(n)`` with ``seed`` and cut it by ``fractions``."""
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val = _split_sizes(n, fractions)
    return {
        "train": sorted(order[:n_train].tolist()),
        "val": sorted(order[n_train : n_train + n_val].tolist()),
        "test": sorted(order[n_train + n_val :].tolist()),
    }


@SPLIT_KINDS.register("random")
def _random_split_of_smiles(smiles: list[str], fractions, seed: int) -> dict[str, list[int]]:
    return random_split(len(smiles), fractions, seed)


def murcko_scaffold(smiles: str) -> str:
    """Bemis-Murcko scaffold SMILES (empty string for acyclic molecules)."""
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"cannot compute a scaffold for unparsable SMILES {smiles!r}")
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


@SPLIT_KINDS.register("scaffold")
def scaffold_split(
    smiles: list[str], fractions=(0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[int]]:
    """Balanced Bemis-Murcko scaffold split: no scaffold is shared between two splits.

    Scaffold sets too big for validation or test (more than half their size) go to
    train first; the rest are shuffled with ``seed`` and assigned greedily. This is the
    "scaffold_balanced" protocol of chemprop and MoleculeNet benchmarks.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, value in enumerate(smiles):
        groups[murcko_scaffold(value)].append(index)
    n_train, n_val = _split_sizes(len(smiles), fractions)
    n_test = len(smiles) - n_train - n_val
    sets = list(groups.values())
    big = [s for s in sets if len(s) > n_val / 2 or len(s) > n_test / 2]
    small = [s for s in sets if not (len(s) > n_val / 2 or len(s) > n_test / 2)]
    rng = np.random.default_rng(seed)
    rng.shuffle(big)
    rng.shuffle(small)
    train, val, test = [], [], []
    for group in big + small:
        if len(train) + len(group) <= n_train:
            train += group
        elif len(val) + len(group) <= n_val:
            val += group
        else:
            test += group
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


@SPLIT_KINDS.register("scaffold_deterministic")
def deterministic_scaffold_split(
    smiles: list[str], fractions=(0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, list[int]]:
    """The MoleculeNet / DeepChem ``ScaffoldSplitter``: the same split for every seed.

    ``seed`` is ignored (accepted only so every split kind has one signature): the split
    file written for each seed is identical, and differences between seeds come from model
    initialisation alone.

    The exact rule, as in DeepChem 2.x:

    1. group molecules by Bemis-Murcko scaffold (:func:`murcko_scaffold`,
       ``includeChirality=False``); each scaffold set lists its molecule indices ascending;
    2. order the sets by the key (size, first index) descending: largest sets first, and
       of two sets of equal size the one whose first molecule comes *later* in the table
       goes first (DeepChem sorts that key with ``reverse=True``);
    3. walk the sets in that order: a set goes to train unless train would then hold more
       than ``fractions[0] * n`` molecules; else to validation unless train plus
       validation would then hold more than ``(fractions[0] + fractions[1]) * n``; else to
       test. A later, smaller set may still fit into train or validation.

    Raises ValueError for fractions that are not three positive numbers summing to 1, or
    an unparsable SMILES.
    """
    _split_sizes(len(smiles), fractions)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, value in enumerate(smiles):
        groups[murcko_scaffold(value)].append(index)
    ordered = sorted(groups.values(), key=lambda members: (len(members), members[0]), reverse=True)
    train_cutoff = fractions[0] * len(smiles)
    val_cutoff = (fractions[0] + fractions[1]) * len(smiles)
    train, val, test = [], [], []
    for members in ordered:
        if len(train) + len(members) <= train_cutoff:
            train += members
        elif len(train) + len(val) + len(members) <= val_cutoff:
            val += members
        else:
            test += members
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def make_split(kind: str, smiles: list[str], fractions, seed: int) -> dict[str, list[int]]:
    """The ``kind`` split (one of ``SPLIT_KINDS.names()``) of ``smiles``; ValueError if unknown."""
    return SPLIT_KINDS.get(kind)(smiles, fractions, seed)


def check_both_classes(split: dict[str, list[int]], labels, where: str) -> None:
    """Raise ValueError when a part of ``split`` is empty or holds a single class.

    AUROC is undefined on one class; failing here beats a silent NaN metric later.
    """
    labels = np.asarray(labels)
    for part, indices in split.items():
        values = set(labels[indices].tolist())
        if len(values) < 2:
            raise ValueError(
                f"{where}: the {part!r} split has {len(indices)} molecules with labels {sorted(values)}; "
                "AUROC needs both classes. Use more molecules or another seed."
            )
