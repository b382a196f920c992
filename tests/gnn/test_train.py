"""Checkpoints are bound to the spec, the seed and the data they were trained on."""

import logging
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from medlab.gnn.featurize import MoleculeGraphs, TableSpec, featurize_table, save_graphs
from medlab.gnn.spec import TrainSpec
from medlab.gnn.splits import random_split
from medlab.gnn.train import train_gnn, training_data_fingerprint

RINGS = ["c1ccccc1", "c1ccccc1C", "c1ccccc1O", "c1ccncc1", "c1ccsc1", "c1ccoc1"]
CHAINS = ["CCO", "CCN", "CCCC", "CC(C)O", "CCCCO", "NCCN"]
CPU = torch.device("cpu")


def _graphs(path, copies: int) -> MoleculeGraphs:
    frame = pd.DataFrame(
        {
            "smiles": (RINGS + CHAINS) * copies,
            "label": (["1"] * len(RINGS) + ["0"] * len(CHAINS)) * copies,
        }
    )
    graphs, _, _ = featurize_table(frame, TableSpec("smiles", "label", "1", "0"))
    save_graphs(graphs, path)
    return MoleculeGraphs(path)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("graphs")
    # the same molecules, then a bigger table: what another max_molecules subset gives
    return _graphs(folder / "a.pt", 4), _graphs(folder / "b.pt", 5)


SCHEMA = yaml.safe_load((Path(__file__).parents[2] / "schemas" / "config.schema.yaml").read_text())
# the schema's defaults, with a small model and budget
SPEC = TrainSpec.from_dict(
    {
        **{k: v["default"] for k, v in SCHEMA["$defs"]["gnn_options"]["properties"].items()},
        **dict(arch="gcn", hidden=16, layers=2, edge_features=False, epochs=4, batch_size=16),
        **dict(lr=0.01, patience=10),
    }
)


def _killed_run(dataset, checkpoint, **kwargs):
    # a job killed after epoch 2, its checkpoint (every epoch) left on disk
    train_gnn(
        dataset,
        random_split(len(dataset), seed=0),
        SPEC,
        seed=0,
        device=CPU,
        checkpoint_path=checkpoint,
        checkpoint_every=1,
        stop_after_epochs=2,
        **kwargs,
    )
    assert checkpoint.exists()


def _assert_same_run(result, reference):
    pd.testing.assert_frame_equal(
        result.history.drop(columns="seconds"), reference.history.drop(columns="seconds")
    )
    for key, value in reference.final_state.items():
        assert torch.equal(result.final_state[key], value), key


def test_checkpoint_of_other_data_is_ignored(datasets, tmp_path, caplog):
    old, new = datasets
    checkpoint = tmp_path / "checkpoint.pt"
    _killed_run(old, checkpoint)
    split = random_split(len(new), seed=0)
    with caplog.at_level(logging.INFO, logger="medlab.gnn.train"):
        rerun = train_gnn(
            new, split, SPEC, seed=0, device=CPU, checkpoint_path=checkpoint, checkpoint_every=1
        )
    assert rerun.resumed_from_epoch == 0
    assert "ignoring checkpoint" in caplog.text and "other data" in caplog.text
    _assert_same_run(rerun, train_gnn(new, split, SPEC, seed=0, device=CPU))


def test_checkpoint_of_another_split_is_ignored(datasets, tmp_path, caplog):
    dataset, _ = datasets
    checkpoint = tmp_path / "checkpoint.pt"
    _killed_run(dataset, checkpoint)
    other_split = random_split(len(dataset), seed=1)
    with caplog.at_level(logging.INFO, logger="medlab.gnn.train"):
        rerun = train_gnn(
            dataset, other_split, SPEC, seed=0, device=CPU, checkpoint_path=checkpoint
        )
    assert rerun.resumed_from_epoch == 0 and "other data" in caplog.text
    _assert_same_run(rerun, train_gnn(dataset, other_split, SPEC, seed=0, device=CPU))


def test_checkpoint_of_the_same_data_resumes(datasets, tmp_path):
    dataset, _ = datasets
    checkpoint = tmp_path / "checkpoint.pt"
    _killed_run(dataset, checkpoint)
    split = random_split(len(dataset), seed=0)
    resumed = train_gnn(dataset, split, SPEC, seed=0, device=CPU, checkpoint_path=checkpoint)
    assert resumed.resumed_from_epoch == 2
    _assert_same_run(resumed, train_gnn(dataset, split, SPEC, seed=0, device=CPU))


def test_a_given_data_fingerprint_binds_the_checkpoint(datasets, tmp_path, caplog):
    dataset, _ = datasets
    checkpoint = tmp_path / "checkpoint.pt"
    _killed_run(dataset, checkpoint, data_fingerprint="inputs-v1")
    split = random_split(len(dataset), seed=0)
    with caplog.at_level(logging.INFO, logger="medlab.gnn.train"):
        ignored = train_gnn(
            dataset,
            split,
            SPEC,
            seed=0,
            device=CPU,
            checkpoint_path=checkpoint,
            data_fingerprint="inputs-v2",
            stop_after_epochs=0,
        )
    assert ignored.resumed_from_epoch == 0 and "other data" in caplog.text


def test_seed_mismatch_is_named(datasets, tmp_path, caplog):
    dataset, _ = datasets
    checkpoint = tmp_path / "checkpoint.pt"
    _killed_run(dataset, checkpoint)
    with caplog.at_level(logging.INFO, logger="medlab.gnn.train"):
        train_gnn(
            dataset,
            random_split(len(dataset), seed=0),
            SPEC,
            seed=1,
            device=CPU,
            checkpoint_path=checkpoint,
            stop_after_epochs=0,
        )
    assert "another seed" in caplog.text and "other data" not in caplog.text


def test_data_fingerprint_follows_the_contents(datasets, tmp_path):
    dataset, bigger = datasets
    split = random_split(len(dataset), seed=0)
    same = training_data_fingerprint(dataset, split)
    # the same molecules featurized into another file, and read back
    _graphs(tmp_path / "copy.pt", 4)
    assert training_data_fingerprint(MoleculeGraphs(tmp_path / "copy.pt"), split) == same
    assert same == training_data_fingerprint(dataset, {k: list(v) for k, v in split.items()})
    assert same != training_data_fingerprint(bigger, split)
    assert same != training_data_fingerprint(dataset, random_split(len(dataset), seed=1))
