"""The reader ablation: synthetic subsets, the readers' stages on a tiny real corpus, the
table, the learning curve and the report's blocks."""

import math

import pandas as pd
import pytest
import torch

from medlab.rag import ablation
from medlab.rag.ablation import (
    COLUMNS,
    ablation_table,
    kept_epoch,
    plot_learning_curve,
    synthetic_subset,
    train_ablation_reader,
)
from medlab.rag.layout import ABLATION_CONFIGURED
from medlab.rag.synthetic import synthesize
from medlab.report.sections import reader_ablation_blocks, reader_ablation_finding
from rag.tiny_corpus import tiny_corpus

READER_OPTIONS = {"max_length": 64, "stride": 16, "batch_size": 8}
TRAINING = {
    "epochs": 1,
    "batch_size": 4,
    "lr": 1e-4,
    "warmup_ratio": 0.1,
    "weight_decay": 0.01,
    "negatives_per_question": 1,
    "seed": 0,
}


def test_synthetic_subsets_are_seeded_nested_and_in_file_order():
    questions = [f"question {i}" for i in range(50)]
    small, large = synthetic_subset(questions, 10, 0), synthetic_subset(questions, 30, 0)
    assert len(small) == 10 and len(large) == 30
    assert set(small) <= set(large)  # a curve point adds questions to the one before it
    assert large == sorted(large, key=questions.index)
    assert synthetic_subset(questions, 10, 0) == small != synthetic_subset(questions, 10, 1)
    assert synthetic_subset(questions, None, 0) == questions == synthetic_subset(questions, 80, 0)


@pytest.fixture(scope="module")
def trained():
    """Three ablation readers on the tiny corpus: (variant -> (epoch log, row), questions)."""
    torch.set_num_threads(1)
    prepared = tiny_corpus()
    split = {
        name: [q for q in prepared.questions if prepared.split_of[q.doc_id] == name][:4]
        for name in ("train", "dev", "test")
    }
    synthetic, _ = synthesize(prepared.passages, prepared.splits["train"], 2, 8, seed=0)
    stages = {
        "gold_only": {"gold_epochs": 1, "synthetic_epochs": 0, "synthetic_questions": 0},
        "synthetic_only": {"gold_epochs": 0, "synthetic_epochs": 1, "synthetic_questions": None},
        "synthetic_3": {"gold_epochs": 1, "synthetic_epochs": 1, "synthetic_questions": 3},
    }
    results = {
        variant: train_ablation_reader(
            "packaged:all-MiniLM-L6-v2",
            prepared.passages,
            split,
            synthetic,
            stage,
            READER_OPTIONS,
            TRAINING,
            None,
            torch.device("cpu"),
        )
        for variant, stage in stages.items()
    }
    return results, split, synthetic


def test_each_ablation_reader_trains_only_its_stages(trained):
    results, split, synthetic = trained
    epochs, row = results["synthetic_only"]
    assert epochs["stage"].tolist() == ["synthetic"]  # no gold epoch
    assert row["gold_epochs"] == 0 and row["synthetic_questions"] == len(synthetic)
    epochs, row = results["gold_only"]
    assert epochs["stage"].tolist() == ["gold"]
    assert row["synthetic_questions"] == 0 and math.isnan(row["dev_f1_after_synthetic"])
    epochs, row = results["synthetic_3"]
    assert epochs["stage"].tolist() == ["synthetic", "gold"]
    assert row["synthetic_questions"] == 3
    assert row["dev_f1_after_synthetic"] == epochs["dev_f1"].iloc[0]
    for epochs, row in results.values():
        assert row["test_questions"] == len(split["test"])
        assert 0.0 <= row["test_exact_match"] <= row["test_f1"] <= 1.0
        assert row["dev_f1"] == kept_epoch(epochs)["dev_f1"]


def test_the_kept_epoch_is_the_best_dev_f1_ties_to_the_later():
    epochs = pd.DataFrame(
        {"epoch": [1, 2, 3], "stage": ["synthetic", "gold", "gold"], "dev_f1": [0.2, 0.4, 0.4]}
    )
    assert kept_epoch(epochs)["epoch"] == 3
    assert kept_epoch(epochs.assign(dev_f1=[0.5, 0.4, 0.1]))["epoch"] == 1
    assert kept_epoch(epochs.assign(dev_f1=math.nan))["epoch"] == 3  # no dev: the last


def row(variant, synthetic_questions, dev_f1, after_synthetic=math.nan):
    return {
        "variant": variant,
        "synthetic_questions": synthetic_questions,
        "synthetic_epochs": 0 if math.isnan(after_synthetic) else 1,
        "gold_epochs": 0 if variant == "synthetic_only" else 2,
        "kept_epoch": 1,
        "kept_stage": "gold",
        "dev_f1_after_synthetic": after_synthetic,
        "dev_exact_match": dev_f1 / 2,
        "dev_f1": dev_f1,
        "test_exact_match": dev_f1 / 3,
        "test_f1": dev_f1 - 0.01,
        "test_questions": 66,
        "training_seconds": 12.0,
    }


ROWS = [
    row(ABLATION_CONFIGURED, 400, 0.30, 0.20),
    row("synthetic_200", 200, 0.25, 0.15),
    row("synthetic_only", 400, 0.20, 0.20),
    row("synthetic_50", 50, 0.22, 0.10),
    row("gold_only", 0, 0.15),
]


def test_the_table_orders_and_names_the_readers():
    table = ablation_table(ROWS)
    assert table.columns.tolist() == COLUMNS
    assert table["variant"].tolist() == [
        "gold_only",
        "synthetic_only",
        "synthetic_50",
        "synthetic_200",
        ABLATION_CONFIGURED,
    ]
    assert table["reader"].tolist()[:2] == ["gold only", "synthetic only"]
    assert table["reader"].iloc[-1] == "synthetic → gold (configured)"
    with pytest.raises(ValueError, match="twice"):
        ablation_table([*ROWS, row("gold_only", 0, 0.1)])
    incomplete = {k: v for k, v in ROWS[0].items() if k != "test_f1"}
    with pytest.raises(ValueError, match="test_f1"):
        ablation_table([incomplete])


def test_the_report_shows_the_table_and_the_curve(tmp_path):
    table = ablation_table(ROWS)
    table.to_csv(tmp_path / "summary.tsv", sep="\t", index=False)
    plot_learning_curve(table, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    table_block, figure_block = reader_ablation_blocks(
        pd.read_csv(tmp_path / "summary.tsv", sep="\t"), tmp_path / "curve.png"
    )
    assert "gold only" in table_block["html"] and "synthetic only" in table_block["html"]
    assert "variant" not in table_block["html"]  # the reader column names them
    # gold only has no synthetic stage: said so, not a blank
    assert "not computed: no synthetic stage" in table_block["html"]
    assert figure_block["src"].startswith("data:image/png;base64,")


def test_the_finding_names_every_reader_with_its_test_f1():
    finding = reader_ablation_finding(ablation_table(ROWS))
    assert finding == (
        "Reader ablation, test F1 with the gold passage: gold only 0.140; synthetic only (400) "
        "0.190; 50 synthetic → gold 0.210; 200 synthetic → gold 0.240; 400 synthetic → gold "
        "(configured) 0.290."
    )


def test_a_curve_count_not_below_the_synthetic_questions_trains_on_all_and_says_so(
    monkeypatch, caplog
):
    passed = {}

    def fake_fine_tune(*args):
        passed["synthetic"], passed["epochs"] = args[7], args[8]
        return None, pd.DataFrame()

    monkeypatch.setattr(ablation, "fine_tune_reader", fake_fine_tune)
    monkeypatch.setattr(ablation, "score_trained_reader", lambda *args: {})
    questions = [f"question {i}" for i in range(5)]
    stages = {"gold_epochs": 1, "synthetic_epochs": 1, "synthetic_questions": 5}
    with caplog.at_level("WARNING", logger="medlab.rag.ablation"):
        ablation.train_ablation_reader(
            "m",
            [],
            {"train": [], "dev": [], "test": []},
            questions,
            stages,
            {},
            TRAINING,
            None,
            "cpu",
        )
    assert passed == {"synthetic": questions, "epochs": 1}
    assert "5 is not below the 5 synthetic questions" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="medlab.rag.ablation"):
        ablation.train_ablation_reader(
            "m",
            [],
            {"train": [], "dev": [], "test": []},
            questions,
            {**stages, "synthetic_questions": 4},
            {},
            TRAINING,
            None,
            "cpu",
        )
    assert len(passed["synthetic"]) == 4 and not caplog.text
