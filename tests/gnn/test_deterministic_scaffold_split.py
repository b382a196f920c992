"""The MoleculeNet / DeepChem scaffold split: deterministic, scaffold-disjoint, ordered as DeepChem."""

import pandas as pd
import pytest

from medlab.data.fetch import packaged_file
from medlab.gnn.splits import deterministic_scaffold_split, make_split, murcko_scaffold


@pytest.fixture(scope="module")
def b3db_smiles() -> list[str]:
    table = pd.read_csv(packaged_file("B3DB", "B3DB_classification.tsv"), sep="\t", dtype=str)
    return table["SMILES"].head(600).tolist()


def test_same_split_for_every_call_and_seed(b3db_smiles):
    first = make_split("scaffold_deterministic", b3db_smiles, (0.8, 0.1, 0.1), seed=0)
    for seed in (0, 1, 7):
        assert make_split("scaffold_deterministic", b3db_smiles, (0.8, 0.1, 0.1), seed) == first


def test_no_scaffold_crosses_splits_and_fractions_hold(b3db_smiles):
    split = deterministic_scaffold_split(b3db_smiles, (0.8, 0.1, 0.1))
    n = len(b3db_smiles)
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(n))
    scaffolds = {
        part: {murcko_scaffold(b3db_smiles[i]) for i in indices} for part, indices in split.items()
    }
    assert not scaffolds["train"] & scaffolds["val"]
    assert not scaffolds["train"] & scaffolds["test"]
    assert not scaffolds["val"] & scaffolds["test"]
    # greedy filling never exceeds the train cutoff and leaves it short by less than one set
    assert 0.75 * n <= len(split["train"]) <= 0.8 * n
    assert 0.05 * n <= len(split["val"]) <= 0.15 * n
    assert 0.05 * n <= len(split["test"]) <= 0.15 * n


def test_deepchem_ordering_on_a_hand_made_example():
    smiles = [
        # benzene scaffold, 4 molecules: the largest set, first into train
        "c1ccccc1C",
        "c1ccccc1O",
        "c1ccccc1N",
        "c1ccccc1CC",
        # three sets of 2: pyridine (first index 4), cyclohexane (6), acyclic "" (8)
        "Cc1ccncc1",
        "Oc1ccncc1",
        "CC1CCCCC1",
        "OC1CCCCC1",
        "CCO",
        "CCN",
    ]
    assert murcko_scaffold("CCO") == ""
    split = deterministic_scaffold_split(smiles, (0.6, 0.2, 0.2), seed=3)
    # ties in size go to the set whose first molecule comes later: acyclic, cyclohexane, pyridine;
    # train cutoff 6 takes benzene + acyclic, validation (cutoff 8) cyclohexane, test pyridine
    assert split == {"train": [0, 1, 2, 3, 8, 9], "val": [6, 7], "test": [4, 5]}


def test_bad_fractions_are_refused():
    with pytest.raises(ValueError, match="summing to 1"):
        deterministic_scaffold_split(["CCO", "CCN", "CCC"], (0.5, 0.1, 0.1))
