"""Tokenized, cached datasets (the ``datasets`` library, saved to disk) per model and max length."""

from __future__ import annotations

import pandas as pd
from datasets import Dataset

from medlab.multilabel.data import label_matrix


def tokenize_table(table: pd.DataFrame, label_set: list[str], tokenizer, max_length: int):
    """A ``datasets.Dataset`` with id, document, input_ids, attention_mask and float ``labels`` per row.

    ``document`` is the row's own id unless the table has a ``document`` column (sentence units).
    """

    matrix = label_matrix(table, label_set).astype("float32")
    documents = table["document"] if "document" in table.columns else table["id"]
    dataset = Dataset.from_dict(
        {
            "id": table["id"].tolist(),
            "document": documents.tolist(),
            "text": table["text"].tolist(),
            "labels": matrix.tolist(),
        }
    )
    encoded = dataset.map(
        lambda batch: tokenizer(
            batch["text"], truncation=True, padding="max_length", max_length=max_length
        ),
        batched=True,
        remove_columns=["text"],
    )
    return encoded


def torch_view(dataset, rows: list[int]):
    """The rows of ``dataset`` as torch tensors (input_ids, attention_mask, labels, and
    window_of for token windows)."""
    subset = dataset.select(rows)
    columns = ["input_ids", "attention_mask", "labels"]
    if "window_of" in subset.column_names:
        columns.append("window_of")
    subset.set_format("torch", columns=columns)
    return subset
