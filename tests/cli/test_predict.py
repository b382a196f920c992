"""`medlab predict` and its library part (medlab.gnn.predict) on runs trained here in seconds.

Each run directory is written by the same library calls the workflow's adapters make
(featurize -> split -> run_training -> evaluate_run), so it has the workflow's layout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from rdkit import Chem

from medlab import cli
from medlab.cli import main
from medlab.cli_options import positive_int
from medlab.data.fetch import packaged_file
from medlab.gnn.evaluate import evaluate_run
from medlab.gnn.featurize import (
    MoleculeGraphs,
    TableSpec,
    featurize_table,
    mol_to_graph,
    read_molecule_table,
    save_graphs,
)
from medlab.gnn.models import MoleculeGNN
from medlab.gnn.predict import (
    PredictionInputError,
    load_run,
    predict_molecules,
    read_molecules,
    smiles_to_graph,
)
from medlab.gnn.runner import run_training
from medlab.gnn.spec import TrainSpec
from medlab.gnn.splits import check_both_classes, make_split
from medlab.gnn.train import predict
from medlab.io import read_json, write_json
from medlab.sampling import seeded_rows

B3DB = TableSpec("SMILES", "BBB+/BBB-", "BBB+", "BBB-", separator="\t")
# the config's defaults (specs carry none of their own), shrunk to a tiny model
SPEC = dict(
    yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yaml").read_text())["gnn"][
        "defaults"
    ],
    arch="gat",
    hidden=16,
    layers=2,
    heads=2,
    dropout=0.1,
    residual=True,
    edge_features=True,
    epochs=2,
    batch_size=16,
    lr=0.01,
)
CPU = torch.device("cpu")
VALID = ["CCO", "c1ccccc1O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "[Na+].[Cl-]"]
INVALID = {"C1CC": "RDKit could not parse the SMILES", "": "empty SMILES"}


@pytest.fixture(scope="module")
def molecules(tmp_path_factory):
    """80 B3DB molecules featurized as the gnn_featurize adapter does."""
    torch.set_num_threads(1)
    table = read_molecule_table(str(packaged_file("B3DB", "B3DB_classification.tsv")), B3DB)
    graphs, kept, _ = featurize_table(seeded_rows(table, 80, seed=0), B3DB)
    path = tmp_path_factory.mktemp("b3db") / "graphs.pt"
    save_graphs(graphs, path)
    return MoleculeGraphs(path), kept


def _train_run(molecules, directory: Path, seed: int) -> Path:
    """A finished run in ``directory``, written as gnn_split, gnn_train and gnn_evaluate do."""
    dataset, kept = molecules
    split = make_split("random", kept["smiles"].tolist(), (0.7, 0.15, 0.15), seed)
    check_both_classes(split, kept["label"].to_numpy(), where=f"seed {seed}")
    outputs = SimpleNamespace(
        model=directory / "model.pt",
        history=directory / "history.tsv",
        predictions=directory / "predictions.tsv",
    )
    run_training(
        dataset,
        split,
        SPEC,
        seed,
        CPU,
        model_path=outputs.model,
        history_path=outputs.history,
        predictions_path=outputs.predictions,
    )
    metrics = evaluate_run(
        pd.read_csv(outputs.predictions, sep="\t"),
        pd.read_csv(outputs.history, sep="\t"),
        early_stopping=True,
    )
    write_json(metrics, directory / "metrics.json")
    return directory


@pytest.fixture(scope="module")
def runs(molecules, tmp_path_factory):
    """Two finished runs (seeds 0 and 1) of one variant."""
    root = tmp_path_factory.mktemp("results") / "gnn/b3db/random/gat_edge"
    return [_train_run(molecules, root / f"seed{seed}", seed) for seed in (0, 1)]


def _direct_probabilities(run_dir: Path, smiles: list[str]) -> np.ndarray:
    """The reported checkpoint's probabilities, computed without medlab.gnn.predict."""
    stored = torch.load(run_dir / "model.pt", weights_only=False)
    reported = read_json(run_dir / "metrics.json")["reported"]
    model = MoleculeGNN(
        TrainSpec.from_dict(stored["spec"]).model, stored["atom_dim"], stored["bond_dim"]
    )
    model.load_state_dict(stored[f"{reported}_state"])
    return predict(model, [mol_to_graph(Chem.MolFromSmiles(s)) for s in smiles], CPU)


def _threshold(run_dir: Path) -> float:
    metrics = read_json(run_dir / "metrics.json")
    return metrics[metrics["reported"]]["at_val_threshold"]["threshold"]


# --- library ---------------------------------------------------------------------------


def test_valid_molecules_get_the_models_own_probabilities(runs):
    run = load_run(runs[0], CPU)
    assert run.checkpoint == "best" and run.threshold == _threshold(runs[0])
    table = predict_molecules([run], VALID, CPU)
    expected = _direct_probabilities(runs[0], VALID)
    np.testing.assert_allclose(table["probability"].to_numpy(dtype=float), expected, rtol=1e-6)
    assert table["predicted_class"].tolist() == (expected >= run.threshold).astype(int).tolist()
    assert (table["reason"] == "").all() and "probability_std" not in table


def test_smiles_reproduce_the_runs_own_validation_and_test_predictions(molecules, runs):
    """From SMILES alone, predict gives what training wrote for its held-out molecules."""
    _, kept = molecules
    written = pd.read_csv(runs[0] / "predictions.tsv", sep="\t")
    smiles = kept["smiles"].iloc[written["index"]].tolist()
    table = predict_molecules([load_run(runs[0], CPU)], smiles, CPU)
    np.testing.assert_allclose(
        table["probability"].to_numpy(dtype=float), written["prob_best"], rtol=1e-5
    )


def test_invalid_smiles_get_a_reason_and_no_numbers(runs):
    smiles = ["CCO", *INVALID, "CCN"]
    table = predict_molecules([load_run(runs[0], CPU)], smiles, CPU)
    assert table["reason"].tolist() == ["", *INVALID.values(), ""]
    assert table["probability"].isna().tolist() == [False, True, True, False]
    assert table["predicted_class"].isna().tolist() == [False, True, True, False]
    assert smiles_to_graph("")[1] == "empty SMILES"
    assert smiles_to_graph("not a molecule")[1] == "RDKit could not parse the SMILES"


def test_only_invalid_smiles_still_give_a_table(runs):
    table = predict_molecules([load_run(runs[0], CPU)], ["", "C1CC"], CPU)
    assert table["probability"].isna().all() and len(table) == 2


def test_ensemble_is_mean_and_std_with_the_mean_threshold(runs):
    table = predict_molecules([load_run(r, CPU) for r in runs], VALID, CPU)
    per_run = np.stack([_direct_probabilities(r, VALID) for r in runs])
    np.testing.assert_allclose(
        table["probability"].to_numpy(dtype=float), per_run.mean(0), rtol=1e-6
    )
    np.testing.assert_allclose(
        table["probability_std"].to_numpy(dtype=float), per_run.std(0), rtol=1e-5, atol=1e-7
    )
    threshold = np.mean([_threshold(r) for r in runs])
    assert table["threshold"].iloc[0] == pytest.approx(threshold)
    assert table["predicted_class"].tolist() == (per_run.mean(0) >= threshold).astype(int).tolist()


def test_a_run_without_early_stopping_reports_its_last_epoch(runs, tmp_path):
    """With early_stopping off the run's metrics report the final weights; so does predict."""
    final = tmp_path / "seed0"
    final.mkdir()
    (final / "model.pt").write_bytes((runs[0] / "model.pt").read_bytes())
    metrics = read_json(runs[0] / "metrics.json")
    write_json({**metrics, "reported": "final"}, final / "metrics.json")
    run = load_run(final, CPU)
    assert (
        run.checkpoint == "final"
        and run.threshold == metrics["final"]["at_val_threshold"]["threshold"]
    )
    probabilities = predict_molecules([run], VALID, CPU)["probability"].to_numpy(dtype=float)
    np.testing.assert_allclose(probabilities, _direct_probabilities(final, VALID), rtol=1e-6)


def test_unfinished_or_missing_runs_are_named(runs, tmp_path):
    with pytest.raises(PredictionInputError, match="does not exist"):
        load_run(tmp_path / "nowhere", CPU)
    with pytest.raises(PredictionInputError, match="is not a directory"):
        load_run(runs[0] / "model.pt", CPU)
    killed = tmp_path / "seed0"
    killed.mkdir()
    (killed / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(PredictionInputError, match=r"not a finished GNN run: model.pt and metrics"):
        load_run(killed, CPU)
    (killed / "model.pt").write_bytes(b"garbage")
    (killed / "metrics.json").write_bytes((runs[0] / "metrics.json").read_bytes())
    with pytest.raises(PredictionInputError, match="model.pt: not a GNN model file"):
        load_run(killed, CPU)
    (killed / "metrics.json").write_text("{}")
    with pytest.raises(PredictionInputError, match="metrics.json: not the metrics file"):
        load_run(killed, CPU)


def test_a_model_this_medlab_cannot_rebuild_is_named(runs, tmp_path):
    foreign = tmp_path / "seed0"
    foreign.mkdir()
    (foreign / "metrics.json").write_bytes((runs[0] / "metrics.json").read_bytes())
    stored = torch.load(runs[0] / "model.pt", weights_only=True)
    torch.save({**stored, "spec": {**stored["spec"], "hidden": 8}}, foreign / "model.pt")
    with pytest.raises(PredictionInputError, match="model.pt: this medlab cannot rebuild"):
        load_run(foreign, CPU)
    torch.save({**stored, "spec": {**stored["spec"], "warmup": 3}}, foreign / "model.pt")
    with pytest.raises(PredictionInputError, match="warmup"):
        load_run(foreign, CPU)


def test_reading_molecule_files(tmp_path):
    plain = tmp_path / "in.smi"
    plain.write_text("CCO ethanol\n\nC1CC\n")
    assert read_molecules(plain).to_dict("list") == {
        "data_row_1based": [1, 2, 3],
        "smiles": ["CCO", "", "C1CC"],
    }
    table = tmp_path / "in.csv"
    table.write_text("name,SMILES\nethanol,CCO\nnothing,\n")
    assert read_molecules(table)["smiles"].tolist() == ["CCO", ""]
    assert read_molecules(table, "name")["smiles"].tolist() == ["ethanol", "nothing"]
    exported = tmp_path / "exported.csv"
    exported.write_bytes(b"\xef\xbb\xbfsmiles,name\nCCO,ethanol\n")  # with a byte-order mark
    assert read_molecules(exported)["smiles"].tolist() == ["CCO"]
    single = tmp_path / "single.csv"
    single.write_text("structure\nCCO\n")
    assert read_molecules(single)["smiles"].tolist() == ["CCO"]
    with pytest.raises(
        PredictionInputError, match=r"no column named smiles or SMILES.*--smiles-column"
    ):
        read_molecules(_two_columns(tmp_path))
    with pytest.raises(PredictionInputError, match="no column 'smile'"):
        read_molecules(table, "smile")
    with pytest.raises(PredictionInputError, match="does not exist"):
        read_molecules(tmp_path / "missing.csv")


def _two_columns(tmp_path: Path) -> Path:
    path = tmp_path / "two.csv"
    path.write_text("name,structure\nethanol,CCO\n")
    return path


# --- command line ----------------------------------------------------------------------


def test_predict_writes_one_row_per_input_and_exits_0(runs, tmp_path, capsys):
    molecules = tmp_path / "molecules.csv"
    pd.DataFrame({"id": range(6), "smiles": [*VALID, *INVALID]}).to_csv(molecules, index=False)
    output = tmp_path / "out" / "predictions.csv"
    code = main(
        ["predict", "--run", str(runs[0]), str(molecules), "-o", str(output), "--device", "cpu"]
    )
    assert code == 0
    assert capsys.readouterr().out.strip().startswith("predicted 4 molecules, 2 invalid")
    table = pd.read_csv(output, keep_default_na=False)
    assert list(table.columns) == [
        "data_row_1based",
        "smiles",
        "probability",
        "predicted_class",
        "threshold",
        "reason",
    ]
    assert table["data_row_1based"].tolist() == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(
        table["probability"].iloc[:4].astype(float),
        _direct_probabilities(runs[0], VALID),
        rtol=1e-5,
    )
    assert table["reason"].tolist()[4:] == list(INVALID.values())
    assert table["probability"].iloc[4:].tolist() == ["", ""]


def test_ensemble_from_the_command_line_has_a_std_column(runs, tmp_path):
    molecules = tmp_path / "molecules.smi"
    molecules.write_text("\n".join(VALID) + "\n")
    output = tmp_path / "predictions.tsv"
    arguments = ["predict", str(molecules), "-o", str(output), "--device", "cpu"]
    assert main([*arguments, "--run", str(runs[0]), "--run", str(runs[1])]) == 0
    table = pd.read_csv(output, sep="\t")
    per_run = np.stack([_direct_probabilities(r, VALID) for r in runs])
    np.testing.assert_allclose(table["probability"], per_run.mean(0), rtol=1e-5)
    np.testing.assert_allclose(table["probability_std"], per_run.std(0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "case, named",
    [
        ("missing run", "nowhere"),
        ("unfinished run", "not a finished GNN run"),
        ("column", "'smile'"),
    ],
)
def test_bad_input_exits_2_with_one_line(runs, tmp_path, capsys, case, named):
    molecules = tmp_path / "molecules.csv"
    molecules.write_text("smiles\nCCO\n")
    run, extra = runs[0], []
    if case == "missing run":
        run = tmp_path / "nowhere"
    elif case == "unfinished run":
        run = tmp_path / "seed0"
        run.mkdir()
    else:
        extra = ["--smiles-column", "smile"]
    output = tmp_path / "predictions.csv"
    code = main(["predict", "--run", str(run), str(molecules), "-o", str(output), *extra])
    error = capsys.readouterr().err
    assert code == 2 and not output.exists()
    assert error.count("\n") == 1 and error.startswith("medlab predict: error:") and named in error


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_exits_2(runs, tmp_path, capsys):
    molecules = tmp_path / "molecules.smi"
    molecules.write_text("CCO\n")
    arguments = ["predict", "--run", str(runs[0]), str(molecules), "-o", str(tmp_path / "p.csv")]
    assert main([*arguments, "--device", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("medlab predict: error: --device cuda")


def test_help_explains_every_option(capsys):
    assert main(["--help"]) == 0
    assert "predict" in capsys.readouterr().out
    assert main(["predict", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--run", "--output", "--smiles-column", "--device", "--threads", "ensemble"):
        assert option in text
    for arguments in (
        ["predict"],
        [],
        ["predict", "x.csv", "--run", "r", "-o", "o", "--threads", "0"],
    ):
        assert main(arguments) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "--help" in error


def test_entry_point_runs_as_a_program(runs, tmp_path):
    molecules = tmp_path / "molecules.smi"
    molecules.write_text("CCO\nC1CC\n")
    output = tmp_path / "predictions.csv"
    command = [sys.executable, "-m", "medlab.cli", "predict", "--run", str(runs[0])]
    command += [str(molecules), "-o", str(output), "--device", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "predicted 1 molecules, 1 invalid" in result.stdout
    assert pd.read_csv(output, keep_default_na=False)["reason"].tolist() == ["", INVALID["C1CC"]]


class _QuestionError(ValueError):
    pass


def _register_quiz(subparsers) -> None:
    """A stand-in for a new subcommand, registered the way predict is."""
    parser = subparsers.add_parser("quiz", help="answer a question")
    parser.add_argument("question")

    def run_quiz(arguments) -> int:
        if not arguments.question.endswith("?"):
            raise _QuestionError(f"{arguments.question!r} is not a question")
        print("answered")
        return 0

    parser.set_defaults(handler=run_quiz, input_errors=(_QuestionError,))


def test_a_subcommand_registered_by_the_same_pattern_gets_the_same_handling(monkeypatch, capsys):
    monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, _register_quiz))
    assert main(["quiz", "why?"]) == 0 and capsys.readouterr().out == "answered\n"
    assert main(["quiz", "because"]) == 2
    assert capsys.readouterr().err == "medlab quiz: error: 'because' is not a question\n"
    assert main(["--help"]) == 0 and "answer a question" in capsys.readouterr().out


def test_console_script_points_at_main():
    """pyproject's [project.scripts] entry names this module's main (checked as text: tomllib
    needs Python 3.11, the project supports 3.10)."""
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    scripts = pyproject.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert 'medlab = "medlab.cli:main"' in scripts


def test_thread_count_must_be_a_whole_number_of_at_least_one(capsys):
    assert positive_int("3") == 3
    for text in ("0", "-2", "two", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            positive_int(text)
    arguments = ["predict", "--run", "run", "molecules.csv", "-o", "out.csv", "--threads", "0"]
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--threads" in error and "at least 1" in error
