"""The GNN library entry points take explicit paths: a run writes exactly the files it is
given, and the aggregation reads runs and datasets given as explicit file records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from gnn.test_training import NEGATIVE, POSITIVE

from medlab.config import gnn_variant_spec, load_config
from medlab.gnn.aggregate import DatasetFiles, RunFiles, SummaryPaths, aggregate
from medlab.gnn.evaluate import evaluate_run
from medlab.gnn.featurize import MoleculeGraphs, TableSpec, featurize_table, save_graphs
from medlab.gnn.runner import run_training
from medlab.gnn.splits import random_split
from medlab.io import write_json

ROOT = Path(__file__).resolve().parents[2]
# the default preset's gcn variant, made small
SPEC = {
    **gnn_variant_spec(load_config(ROOT), "gcn"),
    **{"hidden": 8, "layers": 1, "epochs": 2, "batch_size": 16},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One toy run trained with explicit output and checkpoint paths."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("gnn_entry")
    frame = pd.DataFrame(
        {
            "smiles": (POSITIVE + NEGATIVE) * 2,
            "label": (["1"] * len(POSITIVE) + ["0"] * len(NEGATIVE)) * 2,
        }
    )
    graphs, _, _ = featurize_table(frame, TableSpec("smiles", "label", "1", "0"))
    save_graphs(graphs, root / "graphs.pt")
    dataset = MoleculeGraphs(root / "graphs.pt")
    paths = {name: root / "run" / name for name in ("model.pt", "history.tsv", "predictions.tsv")}
    checkpoint = root / "run" / "checkpoint.pt"
    run_training(
        dataset,
        random_split(len(dataset), (0.6, 0.2, 0.2), seed=0),
        SPEC,
        seed=0,
        device=torch.device("cpu"),
        model_path=paths["model.pt"],
        history_path=paths["history.tsv"],
        predictions_path=paths["predictions.tsv"],
        checkpoint_path=checkpoint,
        checkpoint_every=1,
    )
    return root, paths, checkpoint


def test_run_writes_the_given_paths_and_removes_its_checkpoint(trained):
    root, paths, checkpoint = trained
    assert all(path.is_file() for path in paths.values())
    assert not checkpoint.exists()
    assert sorted(p.name for p in (root / "run").iterdir()) == sorted(paths)
    assert torch.load(paths["model.pt"], weights_only=False)["spec"] == SPEC


def test_aggregate_reads_explicit_run_and_dataset_files(trained):
    root, paths, _ = trained
    metrics = evaluate_run(
        pd.read_csv(paths["predictions.tsv"], sep="\t"),
        pd.read_csv(paths["history.tsv"], sep="\t"),
        early_stopping=True,
    )
    write_json(metrics, root / "metrics.json")
    (root / "featurize.json").write_text(
        json.dumps({"dataset": "toy", "molecules_kept": 40, "drop_reasons": {}})
    )
    pd.DataFrame(columns=["data_row_1based", "smiles", "reason"]).to_csv(
        root / "dropped.tsv", sep="\t", index=False
    )
    run = {"dataset": "toy", "split": "random", "variant": "gcn", "seed": 0}
    outputs = SummaryPaths(
        **{field: str(root / "summary" / field) for field in SummaryPaths.__dataclass_fields__}
    )
    aggregate(
        runs=[
            RunFiles(
                run, str(root / "metrics.json"), paths["history.tsv"], paths["predictions.tsv"]
            )
        ],
        datasets=[DatasetFiles("toy", str(root / "featurize.json"), str(root / "dropped.tsv"))],
        variants=["gcn"],
        comparisons={"aggregation": ["gcn", "gin"]},
        outputs=outputs,
    )
    runs = pd.read_csv(outputs.runs, sep="\t")
    assert runs[["dataset", "split", "variant", "seed"]].to_dict("records") == [run]
    comparisons = pd.read_csv(outputs.comparisons, sep="\t")
    assert comparisons["variant"].tolist() == ["gcn"]
    assert pd.read_csv(outputs.datasets, sep="\t")["dataset"].tolist() == ["toy"]
