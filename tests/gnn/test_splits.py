import pytest

from medlab.gnn.splits import (
    check_both_classes,
    make_split,
    murcko_scaffold,
    random_split,
    scaffold_split,
)

SMILES = [
    "c1ccccc1C",
    "c1ccccc1CC",
    "c1ccccc1O",
    "c1ccccc1N",
    "C1CCCCC1C",
    "C1CCCCC1O",
    "c1ccncc1C",
    "c1ccncc1O",
    "c1ccc2ccccc2c1",
    "c1ccc2ccccc2c1O",
    "CCO",
    "CCN",
    "CCCC",
    "C1CC1C",
    "C1CC1O",
    "c1ccsc1",
    "c1ccoc1",
    "c1cc[nH]c1",
    "O=C1CCCN1",
    "C1COCCN1",
] * 3


def test_random_split_partitions_and_is_seeded():
    split = random_split(100, (0.8, 0.1, 0.1), seed=3)
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(100))
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (80, 10, 10)
    assert split == random_split(100, (0.8, 0.1, 0.1), seed=3)
    assert split != random_split(100, (0.8, 0.1, 0.1), seed=4)


def test_scaffold_split_shares_no_scaffold():
    split = scaffold_split(SMILES, (0.8, 0.1, 0.1), seed=0)
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(len(SMILES)))
    scaffolds = {part: {murcko_scaffold(SMILES[i]) for i in idx} for part, idx in split.items()}
    assert not scaffolds["train"] & scaffolds["test"] and not scaffolds["train"] & scaffolds["val"]
    assert not scaffolds["val"] & scaffolds["test"]
    assert split == scaffold_split(SMILES, (0.8, 0.1, 0.1), seed=0)


def test_bad_fractions_and_kind():
    with pytest.raises(ValueError, match="sum"):
        random_split(10, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="unknown split kind"):
        make_split("temporal", SMILES, (0.8, 0.1, 0.1), 0)


def test_single_class_split_is_a_clear_error():
    labels = [1] * 18 + [0, 0]
    with pytest.raises(ValueError, match="toy.csv.*'test' split.*both classes"):
        check_both_classes(
            {"train": list(range(15)) + [18], "val": [16, 19], "test": [17]},
            labels,
            where="toy.csv",
        )
