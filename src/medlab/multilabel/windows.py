"""Whole documents in overlapping token windows, their logits pooled per document.

A document longer than the encoder's input is cut into windows of ``length`` tokens whose
starts lie ``stride`` tokens apart, the last one aligned to the document's end, so every
token is in at least one window; a document that fits in one window is exactly one window,
tokenized as without windows. The encoder scores each window; the document's logit per
label is the max (or mean) of its windows' logits, both in training (the loss is taken on
the pooled logit, so a label's evidence may sit in any window) and in prediction.

Logits rather than probabilities are pooled: the pooled value is what the loss trains, and
the max commutes with the sigmoid, so max pooling gives the same document probabilities
either way; the mean of logits is the mean of log-odds, which a single confident window
moves further than the mean of saturating probabilities would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from torch.utils.data import Sampler

from medlab.multilabel.data import label_matrix

WINDOW_POOLS = ("max", "mean")


@dataclass(frozen=True)
class WindowSpec:
    """``multilabel.windows``: ``length`` tokens per window (special tokens included),
    window starts ``stride`` content tokens apart, ``pool`` (max or mean) over a document's
    window logits."""

    length: int
    stride: int
    pool: str

    def __post_init__(self):
        if self.pool not in WINDOW_POOLS:
            raise ValueError(f"unknown window pool {self.pool!r}; expected max or mean")


def window_starts(tokens: int, width: int, stride: int) -> list[int]:
    """Start offsets of the windows of ``width`` content tokens over ``tokens`` tokens.

    Starts are ``stride`` apart; the last window ends at the last token. Raises ValueError
    when ``stride`` exceeds ``width`` (tokens between windows would be skipped).
    """
    if not 0 < stride <= width:
        raise ValueError(
            f"window stride {stride} must be between 1 and the window's {width} tokens"
        )
    if tokens <= width:
        return [0]
    starts = list(range(0, tokens - width, stride))
    return starts + [tokens - width]


def special_tokens_around(tokenizer) -> tuple[list[int], list[int]]:
    """The token ids the tokenizer puts before and after one text ([CLS] / [SEP] for BERT,
    <s> / </s> for RoBERTa), read off a tokenized probe text so any template works."""
    probe = "window"
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe)["input_ids"]
    start = next(i for i in range(len(full)) if full[i : i + len(content)] == content)
    return full[:start], full[start + len(content) :]


def tokenize_windows(table: pd.DataFrame, label_set: list[str], tokenizer, spec: WindowSpec):
    """A ``datasets.Dataset`` with one row per window: id (``<document>#<k>``), document,
    window_of (the document's row in ``table``), input_ids and attention_mask padded to
    ``spec.length``, and the document's float ``labels``."""
    prefix, suffix = special_tokens_around(tokenizer)
    width = spec.length - len(prefix) - len(suffix)
    matrix = label_matrix(table, label_set).astype("float32")
    rows = {k: [] for k in ("id", "document", "window_of", "input_ids", "attention_mask", "labels")}
    encoded = tokenizer(table["text"].tolist(), add_special_tokens=False)["input_ids"]
    for index, (document, tokens) in enumerate(zip(table["id"], encoded, strict=True)):
        for k, start in enumerate(window_starts(len(tokens), width, spec.stride)):
            ids = prefix + tokens[start : start + width] + suffix
            padding = spec.length - len(ids)
            rows["id"].append(f"{document}#{k}")
            rows["document"].append(document)
            rows["window_of"].append(index)
            rows["input_ids"].append(ids + [tokenizer.pad_token_id] * padding)
            rows["attention_mask"].append([1] * len(ids) + [0] * padding)
            rows["labels"].append(matrix[index].tolist())
    return Dataset.from_dict(rows)


def pool_window_logits(
    logits: torch.Tensor, window_of: torch.Tensor, pool: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(documents, labels) pooled logits and the (documents,) document of each row.

    logits: (windows, labels); window_of: (windows,) the document of each window. Rows
    follow the documents' sorted ids; the result does not depend on the windows' order.
    """
    documents, inverse = torch.unique(window_of, sorted=True, return_inverse=True)
    index = inverse.unsqueeze(1).expand_as(logits)
    empty = logits.new_zeros(len(documents), logits.shape[1])
    reduce = "amax" if pool == "max" else "mean"
    pooled = empty.scatter_reduce(0, index, logits, reduce=reduce, include_self=False)
    return pooled, documents


def pool_window_targets(targets: torch.Tensor, window_of: torch.Tensor) -> torch.Tensor:
    """(documents, labels) targets from the (windows, labels) copies each window carries,
    in the row order of :func:`pool_window_logits`."""
    return pool_window_logits(targets, window_of, "max")[0]


class DocumentBatchSampler(Sampler[list[int]]):
    """Batches of ``batch_size`` documents, shuffled by ``generator``, each batch the list of
    all their windows' rows (so a document's windows are pooled together)."""

    def __init__(self, window_of: list[int], batch_size: int, generator: torch.Generator):
        frame = pd.DataFrame({"document": window_of})
        self.rows = list(frame.groupby("document", sort=True).indices.values())
        self.batch_size = batch_size
        self.generator = generator

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.rows), generator=self.generator).tolist()
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            yield np.concatenate([self.rows[d] for d in chosen]).tolist()
