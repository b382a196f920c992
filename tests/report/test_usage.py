"""The report's table of rows used and dropped per dataset and experiment."""

import json

import pandas as pd

from medlab.report.usage import COLUMNS, gnn_usage, multilabel_usage, rag_usage, usage_table


def _tsv(path, frame):
    frame.to_csv(path, sep="\t", index=False)
    return path


def test_gnn_usage_counts_per_dataset_with_reasons(tmp_path):
    datasets = _tsv(
        tmp_path / "datasets.tsv",
        pd.DataFrame(
            {"dataset": ["b3db", "bbbp"], "molecules_kept": [300, 2039], "rows_dropped": [0, 3]}
        ),
    )
    dropped = _tsv(
        tmp_path / "dropped.tsv",
        pd.DataFrame(
            {
                "dataset": ["bbbp", "bbbp", "bbbp"],
                "reason": ["RDKit could not parse", "RDKit could not parse", "no atoms"],
            }
        ),
    )
    rows = gnn_usage(datasets, dropped)
    assert rows[0] == {
        "dataset": "b3db",
        "experiment": "gnn",
        "rows_used": 300,
        "rows_dropped": 0,
        "why dropped": "",
    }
    assert rows[1]["rows_used"] == 2039 and rows[1]["rows_dropped"] == 3
    assert rows[1]["why dropped"] == "RDKit could not parse (2); no atoms (1)"


def test_multilabel_usage_names_the_synthetic_notes(tmp_path):
    cardinality = _tsv(tmp_path / "cardinality.tsv", pd.DataFrame({"examples": [118]}))
    dropped = _tsv(
        tmp_path / "dropped.tsv",
        pd.DataFrame({"row": [3, 9], "reason": ["no labels", "empty text"]}),
    )
    (row,) = multilabel_usage("synthetic", cardinality, dropped)
    assert row["dataset"] == "synthetic notes (generated)"
    assert (row["rows_used"], row["rows_dropped"]) == (118, 2)
    assert row["why dropped"] == "no labels (1); empty text (1)"
    assert multilabel_usage("hoc", cardinality, dropped)[0]["dataset"] == "hoc"


def test_rag_usage_counts_kept_questions_and_dropping_issues_only(tmp_path):
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"questions": {"train": 30, "dev": 6, "test": 8}}))
    issues = _tsv(
        tmp_path / "issues.tsv",
        pd.DataFrame(
            {
                "issue": ["duplicate question id", "answer_start re-located", "empty document"],
                "count": [2, 5, 1],
            }
        ),
    )
    (row,) = rag_usage("health_ai", stats, issues)
    assert (row["rows_used"], row["rows_dropped"]) == (44, 3)  # a re-located answer is kept
    assert "answer_start re-located (5)" in row["why dropped"]


def test_usage_table_has_one_row_per_record_in_the_report_columns():
    records = [
        {
            "dataset": "b3db",
            "experiment": "gnn",
            "rows_used": 1,
            "rows_dropped": 0,
            "why dropped": "",
        },
        {
            "dataset": "hoc",
            "experiment": "multilabel",
            "rows_used": 2,
            "rows_dropped": 1,
            "why dropped": "x (1)",
        },
    ]
    table = usage_table(records)
    assert list(table.columns) == COLUMNS and len(table) == 2
    assert table["rows_used"].sum() == 3
    assert list(usage_table([]).columns) == COLUMNS
