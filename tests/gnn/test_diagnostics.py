"""Per-epoch collapse diagnostics: new history columns on a tiny run, and their definitions."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from medlab.config import gnn_variant_spec, load_config
from medlab.data.fetch import packaged_file
from medlab.gnn.diagnostics import mean_node_cosine, saturated_fraction
from medlab.gnn.featurize import MoleculeGraphs, TableSpec, featurize_table, save_graphs
from medlab.gnn.models import MoleculeGNN
from medlab.gnn.spec import TrainSpec
from medlab.gnn.splits import random_split
from medlab.gnn.train import train_gnn

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT)
HISTORY_COLUMNS = ["epoch", "train_loss", "val_auroc", "val_pr_auc", "lr", "seconds"]
DIAGNOSTICS = ["val_logit_std", "val_saturated_fraction", "oversmoothing_index"]


@pytest.fixture(scope="module")
def molecules(tmp_path_factory) -> MoleculeGraphs:
    """80 molecules of B3DB (a seeded sample: the file is sorted by label) as graphs."""
    torch.set_num_threads(1)
    table = pd.read_csv(packaged_file("B3DB", "B3DB_classification.tsv"), sep="\t", dtype=str)
    graphs, _, _ = featurize_table(
        table.sample(80, random_state=0), TableSpec("SMILES", "BBB+/BBB-", "BBB+", "BBB-")
    )
    path = tmp_path_factory.mktemp("diagnostics") / "graphs.pt"
    save_graphs(graphs, path)
    return MoleculeGraphs(path)


def _spec(variant: str, **changes) -> TrainSpec:
    return TrainSpec.from_dict(
        {
            **gnn_variant_spec(CONFIG, variant),
            "hidden": 16,
            "epochs": 5,
            "batch_size": 16,
            **changes,
        }
    )


@pytest.mark.parametrize("variant", ["collapse_deep6", "collapse_no_norm"])
def test_history_has_finite_diagnostics_after_the_old_columns(molecules, variant):
    spec = _spec(variant)
    split = random_split(len(molecules), (0.6, 0.2, 0.2), seed=1)
    history = train_gnn(molecules, split, spec, seed=0, device=torch.device("cpu")).history
    layer_columns = [f"node_cosine_layer{k}" for k in range(1, spec.model.layers + 1)]
    assert list(history.columns) == HISTORY_COLUMNS + DIAGNOSTICS + layer_columns
    assert len(history) == 5
    assert np.isfinite(history[DIAGNOSTICS + layer_columns].to_numpy()).all()
    assert history["oversmoothing_index"].equals(history[layer_columns[-1]])
    assert history["val_saturated_fraction"].between(0, 1).all()


def test_norm_none_builds_no_batchnorm():
    model = MoleculeGNN(_spec("collapse_no_norm").model, atom_dim=8, bond_dim=4)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in model.norms)
    assert any(
        isinstance(m, torch.nn.BatchNorm1d)
        for m in MoleculeGNN(_spec("gat_edge").model, atom_dim=8, bond_dim=4).norms
    )


def test_saturation_counts_either_bound():
    # |logit| > 10, p < 1e-4 (logit < -9.21), and two unsaturated outputs
    assert saturated_fraction(np.array([10.5, -9.5, 0.0, 9.0])) == 0.5


def test_node_cosine_is_one_for_identical_nodes_and_ignores_single_atoms():
    states = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [5.0, 5.0]])
    # graph 0: two parallel nodes (cosine 1); graph 1: orthogonal nodes (0); graph 2: one node
    graph_index = torch.tensor([0, 0, 1, 1, 2])
    assert mean_node_cosine(states, graph_index) == pytest.approx(0.5)
    assert np.isnan(mean_node_cosine(states[-1:], torch.tensor([0])))
