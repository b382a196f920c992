"""``medlab classify`` on a tiny cell trained with the library functions the adapters use."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from transformers import AutoTokenizer

from medlab import cli
from medlab.io import read_json, write_json, write_tsv
from medlab.multilabel.baseline import BaselineSpec, fit_baseline, save_baseline
from medlab.multilabel.classify import classify_texts, load_run
from medlab.multilabel.ensemble import average_predictions, ensemble_summary
from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.runner import prediction_table, split_parts, train_on_parts
from medlab.multilabel.synthetic import LABELS, generate_notes
from medlab.multilabel.tokenize import tokenize_table
from medlab.multilabel.train import FineTuneSpec, new_classifier, save_classifier
from medlab.pretrained import load_pretrained

MODEL = "packaged:all-MiniLM-L6-v2"
MAX_LENGTH = 32


def _train_cell(notes, run_dir: Path, seed: int) -> pd.DataFrame:
    """One epoch on 28 notes, scored on 6 + 6; writes model.pt, predictions, metrics, summary."""
    tokens = tokenize_table(notes, LABELS, load_pretrained(AutoTokenizer, MODEL), MAX_LENGTH)
    split = {"train": list(range(28)), "val": list(range(28, 34)), "test": list(range(34, 40))}
    parts = split_parts(tokens, notes, split, LABELS)
    training = yaml.safe_load(Path("config.yaml").read_text())["multilabel"]["training"]
    spec = FineTuneSpec(**{**training, "batch_size": 8, "lr": 1e-4, "loss": "bce", "epochs": 1})
    torch.manual_seed(seed)
    model = new_classifier(MODEL, len(LABELS))
    result = train_on_parts(model, parts, spec, seed, torch.device("cpu"))
    predictions = prediction_table(model, parts, torch.device("cpu"))
    metrics, _ = evaluate_predictions(predictions, LABELS)
    card = {"model": MODEL, "pooling": "cls", "label_set": LABELS, "max_length": MAX_LENGTH}
    save_classifier(model, {**card, "windows": None}, run_dir / "model.pt")
    write_tsv(predictions, run_dir / "predictions.tsv")
    write_json(metrics, run_dir / "metrics.json")
    seconds = float(result.epochs["train_seconds"].sum())
    write_json(
        {
            "best_epoch": 1,
            "epochs_trained": 1,
            "training_units": 28,
            "examples_per_s": 28 / seconds,
            "peak_memory_mb": 1.0,
            "train_seconds": seconds,
        },
        run_dir / "summary.json",
    )
    return predictions


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    torch.set_num_threads(1)
    notes = generate_notes(40, seed=4)
    root = tmp_path_factory.mktemp("runs")
    tables = {name: _train_cell(notes, root / name, seed) for seed, name in enumerate(["c0", "c1"])}
    ensemble = root / "ensemble"
    mean = average_predictions(tables, LABELS)
    write_json(evaluate_predictions(mean, LABELS)[0], ensemble / "metrics.json")
    write_json(
        ensemble_summary([root / n / "summary.json" for n in tables]), ensemble / "summary.json"
    )
    return notes, root, tables


def test_texts_get_the_cells_own_test_probabilities(runs):
    notes, root, tables = runs
    cells, thresholds = load_run(root / "c0", torch.device("cpu"))
    test = notes.iloc[34:40]
    texts = pd.DataFrame({"data_row_1based": range(1, 7), "text": test["text"].tolist()})
    table = classify_texts(cells, thresholds, texts, torch.device("cpu"))
    expected = tables["c0"].set_index("id").loc[test["id"]]
    for label in LABELS:
        assert np.allclose(table[f"prob_{label}"], expected[f"prob_{label}"], atol=1e-5)
    tuned = read_json(root / "c0" / "metrics.json")["thresholds"]["tuned"]
    assert thresholds.tolist() == [tuned[label] for label in LABELS]
    first = [label for label in LABELS if table[f"prob_{label}"].iloc[0] >= tuned[label]]
    assert table["predicted_labels"].iloc[0] == ";".join(first)


def test_the_ensemble_averages_its_members(runs):
    notes, root, tables = runs
    cells, _ = load_run(root / "ensemble", torch.device("cpu"))
    assert [c.name for c in cells] == ["c0", "c1"]
    texts = pd.DataFrame({"data_row_1based": [1], "text": [notes["text"].iloc[35]]})
    table = classify_texts(cells, np.full(len(LABELS), 0.5), texts, torch.device("cpu"))
    mean = average_predictions(tables, LABELS).set_index("id").loc[notes["id"].iloc[35]]
    assert np.allclose(
        [table[f"prob_{label}"].iloc[0] for label in LABELS],
        [mean[f"prob_{label}"] for label in LABELS],
        atol=1e-5,
    )


def test_classify_writes_a_tsv_from_a_text_file_and_a_csv(runs, tmp_path, capsys):
    notes, root, _ = runs
    lines = tmp_path / "notes.txt"
    lines.write_text("\n".join(notes["text"].iloc[:3]) + "\n")
    out = tmp_path / "out" / "labels.tsv"
    assert cli.main(["classify", "--run", str(root / "c0"), str(lines), "-o", str(out)]) == 0
    table = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert table["data_row_1based"].tolist() == [1, 2, 3]
    assert [f"prob_{label}" for label in LABELS] == [
        c for c in table.columns if c.startswith("prob_")
    ]
    assert "classified 3 texts" in capsys.readouterr().out
    csv = tmp_path / "notes.csv"
    notes.iloc[:2][["id", "text"]].to_csv(csv, index=False)
    assert (
        cli.main(["classify", "--run", str(root / "ensemble"), str(csv), "--text-column", "text"])
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 3 and printed[0].startswith("data_row_1based\ttext\tprob_")


def test_an_unfinished_cell_is_named_with_its_target(runs, tmp_path, capsys):
    notes, root, _ = runs
    lines = tmp_path / "notes.txt"
    lines.write_text("chest pain\n")
    unfinished = tmp_path / "runs" / "bs16_lr5e-05_bce_seed0"
    unfinished.mkdir(parents=True)
    (unfinished / "metrics.json").write_text("{}")
    assert cli.main(["classify", "--run", str(unfinished), str(lines)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert f"{unfinished / 'model.pt'} is missing" in error[0]
    assert f"snakemake --cores 1 {unfinished / 'model.pt'}" in error[0]
    assert cli.main(["classify", "--run", str(root / "c0"), str(tmp_path / "absent.txt")]) == 2
    assert "absent.txt does not exist" in capsys.readouterr().err
    csv = tmp_path / "notes.csv"
    csv.write_text("id,body\n1,chest pain\n")
    assert cli.main(["classify", "--run", str(root / "c0"), str(csv), "--text-column", "text"]) == 2
    assert "no column 'text'; the columns are id, body" in capsys.readouterr().err


def test_an_ensemble_with_the_baseline_averages_cell_and_baseline(runs, tmp_path):
    notes, root, tables = runs
    shutil.copytree(root / "c0", tmp_path / "c0")
    split = {"train": list(range(28)), "val": list(range(28, 34)), "test": list(range(34, 40))}
    model, baseline_table, summary = fit_baseline(notes, split, LABELS, BaselineSpec())
    save_baseline(model, tmp_path / "tfidf" / "model.joblib")
    write_json({**summary, "best_epoch": 1}, tmp_path / "tfidf" / "summary.json")
    members = {"c0": tables["c0"], "tfidf": baseline_table}
    mean = average_predictions(members, LABELS)
    write_json(evaluate_predictions(mean, LABELS)[0], tmp_path / "ensemble" / "metrics.json")
    write_json(
        ensemble_summary([tmp_path / name / "summary.json" for name in members]),
        tmp_path / "ensemble" / "summary.json",
    )
    cells, _ = load_run(tmp_path / "ensemble", torch.device("cpu"))
    assert [c.name for c in cells] == ["c0", "tfidf"]
    texts = pd.DataFrame({"data_row_1based": [1], "text": [notes["text"].iloc[36]]})
    table = classify_texts(cells, np.full(len(LABELS), 0.5), texts, torch.device("cpu"))
    expected = mean.set_index("id").loc[notes["id"].iloc[36]]
    assert np.allclose(
        [table[f"prob_{label}"].iloc[0] for label in LABELS],
        [expected[f"prob_{label}"] for label in LABELS],
        atol=1e-5,
    )
