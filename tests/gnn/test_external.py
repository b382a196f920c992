"""External evaluation on a tiny model: overlap removal, per-run metrics, summary tables."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from rdkit import Chem

from medlab.config import gnn_variant_spec, load_config
from medlab.data.fetch import packaged_file
from medlab.gnn.aggregate import DatasetFiles, ExternalRunFiles, RunFiles, SummaryPaths, aggregate
from medlab.gnn.evaluate import evaluate_run
from medlab.gnn.external import evaluate_external
from medlab.gnn.external_set import ExternalFiles, prepare_external
from medlab.gnn.featurize import MoleculeGraphs, TableSpec, featurize_table, save_graphs
from medlab.gnn.runner import run_training
from medlab.gnn.splits import random_split
from medlab.io import read_json, write_csv, write_json

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT)
B3DB_TABLE = TableSpec(**CONFIG["gnn"]["tables"]["b3db"])
EXTERNAL_TABLE = TableSpec(**CONFIG["gnn"]["tables"]["b3db_external"])
EXTERNAL_FILE = packaged_file(
    CONFIG["packaged_datasets"]["b3db_external"]["module"],
    CONFIG["packaged_datasets"]["b3db_external"]["path"],
)
# external molecules written in another atom order: still the same molecules
OVERLAP = 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny gcn trained on 80 B3DB molecules plus three external ones in non-canonical form,
    evaluated, and the external set prepared against its molecule table."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("external")
    table = pd.read_csv(packaged_file("B3DB", "B3DB_classification.tsv"), sep="\t", dtype=str)
    external = pd.read_csv(EXTERNAL_FILE, sep="\t", dtype=str)
    shared = external.head(OVERLAP).copy()
    shared["SMILES"] = [
        Chem.MolToSmiles(Chem.MolFromSmiles(s), doRandom=True) for s in shared["SMILES"]
    ]
    frame = pd.concat([table.sample(80, random_state=0), shared], ignore_index=True)
    graphs, kept, _ = featurize_table(frame, B3DB_TABLE)
    save_graphs(graphs, root / "graphs.pt")
    write_csv(kept, root / "molecules.csv")
    dataset = MoleculeGraphs(root / "graphs.pt")
    run_dir = root / "b3db" / "random" / "gcn" / "seed0"
    spec = {**gnn_variant_spec(CONFIG, "gcn"), "hidden": 8, "layers": 1, "epochs": 3}
    run_training(
        dataset,
        random_split(len(dataset), (0.6, 0.2, 0.2), seed=0),
        spec,
        seed=0,
        device=torch.device("cpu"),
        model_path=run_dir / "model.pt",
        history_path=run_dir / "history.tsv",
        predictions_path=run_dir / "predictions.tsv",
    )
    metrics = evaluate_run(
        pd.read_csv(run_dir / "predictions.tsv", sep="\t"),
        pd.read_csv(run_dir / "history.tsv", sep="\t"),
        early_stopping=True,
    )
    write_json(metrics, run_dir / "metrics.json")
    files = ExternalFiles(
        **{name: str(root / "prepared" / name) for name in ExternalFiles.__dataclass_fields__}
    )
    summary = prepare_external(EXTERNAL_FILE, EXTERNAL_TABLE, root / "molecules.csv", "b3db", files)
    return root, run_dir, files, summary


def test_molecules_of_the_training_data_are_removed_and_listed(run):
    _, _, files, summary = run
    external_rows = len(pd.read_csv(EXTERNAL_FILE, sep="\t"))
    assert summary["removed_in_training_data"] == OVERLAP
    assert summary["rows_read"] == external_rows
    removed = pd.read_csv(files.removed, sep="\t")
    in_training = removed[removed["reason"].str.contains("also in the training dataset b3db")]
    assert in_training["data_row_1based"].tolist() == list(range(1, OVERLAP + 1))
    assert len(removed) == summary["removed_in_training_data"] + summary["rows_dropped_invalid"]
    assert len(MoleculeGraphs(files.graphs)) == summary["molecules_kept"]
    assert summary["molecules_kept"] + len(removed) == external_rows


def test_run_metrics_on_the_external_set_use_its_validation_threshold(run):
    _, run_dir, files, summary = run
    metrics, predictions = evaluate_external(run_dir, files.graphs, torch.device("cpu"))
    assert metrics["n_molecules"] == summary["molecules_kept"] == len(predictions)
    assert 0 <= metrics["roc_auc"] <= 1 and 0 <= metrics["pr_auc"] <= 1
    reported = read_json(run_dir / "metrics.json")
    threshold = reported[reported["reported"]]["at_val_threshold"]["threshold"]
    assert metrics["at_val_threshold"]["threshold"] == threshold


def test_aggregate_writes_in_distribution_vs_external_and_collapse_tables(run):
    root, run_dir, files, _ = run
    metrics, _ = evaluate_external(run_dir, files.graphs, torch.device("cpu"))
    write_json(metrics, root / "external.json")
    (root / "featurize.json").write_text(json.dumps({"dataset": "b3db", "drop_reasons": {}}))
    pd.DataFrame(columns=["data_row_1based", "smiles", "reason"]).to_csv(
        root / "dropped.tsv", sep="\t", index=False
    )
    key = {"dataset": "b3db", "split": "random", "variant": "gcn", "seed": 0}
    outputs = SummaryPaths(
        **{field: str(root / "summary" / field) for field in SummaryPaths.__dataclass_fields__}
    )
    aggregate(
        runs=[
            RunFiles(
                key,
                str(run_dir / "metrics.json"),
                str(run_dir / "history.tsv"),
                str(run_dir / "predictions.tsv"),
            )
        ],
        datasets=[DatasetFiles("b3db", str(root / "featurize.json"), str(root / "dropped.tsv"))],
        variants=["gcn"],
        comparisons={"collapse": ["gcn"]},
        outputs=outputs,
        external_runs=[
            ExternalRunFiles({**key, "external": "b3db_external"}, str(root / "external.json"))
        ],
        external_removed=files.removed,
    )
    # summary tables hold floats as %.6g, hence the relative tolerance below
    external = pd.read_csv(outputs.external, sep="\t")
    assert external[["dataset", "variant", "n_seeds"]].values.tolist() == [["b3db", "gcn", 1]]
    assert external.loc[0, "external_roc_auc_mean"] == pytest.approx(metrics["roc_auc"], rel=1e-5)
    runs = pd.read_csv(outputs.runs, sep="\t")
    assert external.loc[0, "in_distribution_roc_auc_mean"] == pytest.approx(
        runs.loc[0, "test_roc_auc"], rel=1e-5
    )
    assert len(pd.read_csv(outputs.external_removed, sep="\t")) == len(
        pd.read_csv(files.removed, sep="\t")
    )
    collapse = pd.read_csv(outputs.collapse, sep="\t")
    assert collapse["variant"].tolist() == ["gcn"] and collapse["collapsed"].tolist() == ["no"]
