import math

import numpy as np
import pandas as pd
import pytest
import torch

from medlab.gnn.evaluate import evaluate_run
from medlab.gnn.featurize import MoleculeGraphs, TableSpec, featurize_table, save_graphs
from medlab.gnn.models import MoleculeGNN
from medlab.gnn.spec import ModelSpec, TrainSpec
from medlab.gnn.splits import random_split
from medlab.gnn.train import NonFiniteLossError, train_gnn
from medlab.metrics import UndefinedMetricError, best_f1_threshold, ranking_metrics

# a learnable toy task: aromatic-ring molecules are positive
POSITIVE = [
    "c1ccccc1",
    "c1ccccc1C",
    "c1ccccc1O",
    "c1ccccc1N",
    "c1ccncc1",
    "c1ccc2ccccc2c1",
    "Cc1ccccc1C",
    "c1ccccc1CC",
    "c1ccsc1",
    "c1ccoc1",
]
NEGATIVE = ["CCO", "CCN", "CCCC", "CC(C)O", "CCCCO", "C1CCCCC1", "CC(=O)O", "CCOCC", "NCCN", "OCCO"]


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory):
    torch.set_num_threads(1)
    smiles = (POSITIVE + NEGATIVE) * 4
    labels = ([1] * len(POSITIVE) + [0] * len(NEGATIVE)) * 4
    frame = pd.DataFrame({"smiles": smiles, "label": [str(v) for v in labels]})
    graphs, _, _ = featurize_table(frame, TableSpec("smiles", "label", "1", "0"))
    path = tmp_path_factory.mktemp("toy") / "graphs.pt"
    save_graphs(graphs, path)
    return MoleculeGraphs(path)


def _spec(**overrides):
    model = dict(
        arch="gat",
        hidden=16,
        layers=2,
        heads=2,
        dropout=0.0,
        residual=True,
        edge_features=True,
        pooling="mean",
        norm="batch",
    )
    train = dict(
        epochs=12,
        batch_size=16,
        lr=0.01,
        weight_decay=0.0,
        loss="bce",
        focal_gamma=2.0,
        oversample=False,
        early_stopping=True,
        patience=4,
        lr_scheduler="plateau",
        scheduler_factor=0.3,
        scheduler_patience=5,
        min_lr=1e-5,
    )
    for key, value in overrides.items():
        (model if key in model else train)[key] = value
    return TrainSpec(model=ModelSpec(**model), **train)


@pytest.mark.parametrize(
    "arch, edges",
    [("gat", True), ("gat", False), ("gcn", False), ("gin", True), ("gin", False), ("sage", False)],
)
@pytest.mark.parametrize("pooling", ["mean", "attention"])
def test_every_architecture_gives_one_logit_per_graph(toy_dataset, arch, edges, pooling):
    from torch_geometric.loader import DataLoader

    model = MoleculeGNN(
        ModelSpec(
            arch,
            hidden=16,
            layers=2,
            heads=2,
            dropout=0.0,
            residual=False,
            edge_features=edges,
            pooling=pooling,
            norm="batch",
        ),
        toy_dataset.atom_dim,
        toy_dataset.bond_dim,
    )
    batch = next(iter(DataLoader(toy_dataset, batch_size=7)))
    assert model(batch).shape == (7,)


def test_training_learns_the_toy_task(toy_dataset):
    split = random_split(len(toy_dataset), seed=0)
    result = train_gnn(toy_dataset, split, _spec(epochs=15), seed=0, device=torch.device("cpu"))
    assert result.history["val_auroc"].max() >= 0.9
    assert result.history["train_loss"].iloc[-1] < result.history["train_loss"].iloc[0]


def test_early_stopping_restores_best_weights(toy_dataset):
    split = random_split(len(toy_dataset), seed=1)
    result = train_gnn(
        toy_dataset, split, _spec(epochs=60, patience=3), seed=1, device=torch.device("cpu")
    )
    history = result.history
    assert result.stopped_early and len(history) < 60
    assert result.best_epoch == int(history.loc[history.val_auroc.idxmax(), "epoch"])
    assert (
        len(history) - result.best_epoch == 3
    )  # stopped after exactly `patience` epochs without improvement


@pytest.mark.parametrize(
    "variant",
    [
        dict(loss="weighted_bce"),
        dict(loss="focal"),
        dict(oversample=True),
        dict(lr_scheduler="none"),
    ],
)
def test_imbalance_and_schedule_options_train(toy_dataset, variant):
    split = random_split(len(toy_dataset), seed=2)
    result = train_gnn(
        toy_dataset, split, _spec(epochs=3, **variant), seed=2, device=torch.device("cpu")
    )
    assert len(result.history) == 3 and result.history["train_loss"].map(math.isfinite).all()


def test_resume_after_kill_matches_uninterrupted_run(toy_dataset, tmp_path):
    split = random_split(len(toy_dataset), seed=0)
    spec = _spec(epochs=8, patience=100, dropout=0.2, oversample=True)
    full = train_gnn(toy_dataset, split, spec, seed=5, device=torch.device("cpu"))
    checkpoint = tmp_path / "ckpt.pt"
    partial = train_gnn(
        toy_dataset,
        split,
        spec,
        seed=5,
        device=torch.device("cpu"),
        checkpoint_path=checkpoint,
        checkpoint_every=2,
        stop_after_epochs=5,
    )
    assert len(partial.history) == 5 and checkpoint.exists()
    resumed = train_gnn(
        toy_dataset,
        split,
        spec,
        seed=5,
        device=torch.device("cpu"),
        checkpoint_path=checkpoint,
        checkpoint_every=2,
    )
    assert resumed.resumed_from_epoch == 4  # last checkpoint before the "kill" at epoch 5
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="seconds"), full.history.drop(columns="seconds")
    )
    for key in full.final_state:
        assert torch.equal(full.final_state[key], resumed.final_state[key]), key


def test_checkpoint_of_another_spec_is_ignored(toy_dataset, tmp_path):
    split = random_split(len(toy_dataset), seed=0)
    checkpoint = tmp_path / "ckpt.pt"
    train_gnn(
        toy_dataset,
        split,
        _spec(epochs=2),
        seed=0,
        device=torch.device("cpu"),
        checkpoint_path=checkpoint,
        checkpoint_every=1,
    )
    result = train_gnn(
        toy_dataset,
        split,
        _spec(epochs=2, lr=0.005),
        seed=0,
        device=torch.device("cpu"),
        checkpoint_path=checkpoint,
    )
    assert result.resumed_from_epoch == 0


def test_nan_loss_stops_with_clear_error(toy_dataset):
    split = random_split(len(toy_dataset), seed=0)
    with pytest.raises(NonFiniteLossError, match="epoch 1"):
        train_gnn(
            toy_dataset, split, _spec(epochs=2, lr=float("inf")), seed=0, device=torch.device("cpu")
        )


def test_evaluate_reports_best_or_final_and_collapse_gap():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 20)
    good = np.clip(labels * 0.6 + rng.uniform(0, 0.4, 40), 0, 1)
    collapsed = np.full(40, 0.9)
    predictions = pd.DataFrame(
        {
            "split": ["val"] * 20 + ["test"] * 20,
            "label": labels,
            "prob_best": good,
            "prob_final": collapsed,
        }
    )
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "val_auroc": [0.7, 0.95, 0.5], "seconds": [1.0, 1.0, 1.0]}
    )
    with_stopping = evaluate_run(predictions, history, early_stopping=True)
    control = evaluate_run(predictions, history, early_stopping=False)
    assert with_stopping["reported"] == "best" and control["reported"] == "final"
    assert with_stopping["best"]["test_roc_auc"] == pytest.approx(1.0)
    assert control["final"]["test_roc_auc"] == pytest.approx(0.5)
    assert control["final"]["at_0.5"]["recall"] == 1.0  # the all-positive classifier
    assert with_stopping["collapse_gap"] == pytest.approx(0.45) and with_stopping["best_epoch"] == 2


def test_metrics_refuse_single_class():
    with pytest.raises(UndefinedMetricError, match="test split"):
        ranking_metrics([1, 1, 1], [0.2, 0.5, 0.9], "test split")
    assert best_f1_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(0.8)
