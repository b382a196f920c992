"""Rows used and dropped per dataset and experiment, for the report's provenance table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

COLUMNS = ["dataset", "experiment", "rows_used", "rows_dropped", "why dropped"]


def _reasons(reasons: pd.Series) -> str:
    return "; ".join(f"{reason} ({count})" for reason, count in reasons.value_counts().items())


def gnn_usage(datasets_tsv, dropped_tsv) -> list[dict]:
    """From results/gnn/summary/datasets.tsv and dropped.tsv."""
    frame = pd.read_csv(datasets_tsv, sep="\t")
    dropped = pd.read_csv(dropped_tsv, sep="\t")
    return [
        {
            "dataset": row["dataset"],
            "experiment": "gnn",
            "rows_used": int(row["molecules_kept"]),
            "rows_dropped": int(row["rows_dropped"]),
            "why dropped": _reasons(dropped.loc[dropped["dataset"] == row["dataset"], "reason"]),
        }
        for row in frame.to_dict("records")
    ]


def multilabel_usage(dataset: str, cardinality_tsv, dropped_tsv) -> list[dict]:
    """From the multi-label cardinality (examples kept) and dropped-rows tables."""
    kept = int(pd.read_csv(cardinality_tsv, sep="\t")["examples"].iloc[0])
    dropped = pd.read_csv(dropped_tsv, sep="\t")
    name = "synthetic notes (generated)" if dataset == "synthetic" else dataset
    return [
        {
            "dataset": name,
            "experiment": "multilabel",
            "rows_used": kept,
            "rows_dropped": len(dropped),
            "why dropped": _reasons(dropped["reason"]),
        }
    ]


def rag_usage(corpus: str, stats_json, issues_tsv) -> list[dict]:
    """From the RAG corpus statistics (questions kept per split) and issue counts."""
    stats = json.loads(Path(stats_json).read_text())
    issues = pd.read_csv(issues_tsv, sep="\t")
    dropped = issues[
        issues["issue"].str.contains("dropped|duplicate|empty|unanswerable|skipped", regex=True)
    ]
    why = "; ".join(f"{row['issue']} ({row['count']})" for row in issues.to_dict("records"))
    return [
        {
            "dataset": corpus,
            "experiment": "rag",
            "rows_used": int(sum(stats["questions"].values())),
            "rows_dropped": int(dropped["count"].sum()),
            "why dropped": why,
        }
    ]


def usage_table(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=COLUMNS)
