"""Documents -> overlapping passages with character offsets; document-level question splits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    start: int  # character offset of the passage in its document
    end: int
    text: str


def split_passages(doc_id: str, text: str, size: int, overlap: int) -> list[Passage]:
    """Windows of ``size`` whitespace tokens advancing by ``size - overlap`` tokens.

    Offsets refer to the original document, so an answer span (answer_start, text) can be
    tested for containment in a passage.
    """
    if size <= 0 or not 0 <= overlap < size:
        raise ValueError(
            f"passage size must be > 0 and 0 <= overlap < size, got size={size}, overlap={overlap}"
        )
    spans = [m.span() for m in TOKEN.finditer(text)]
    passages, step = [], size - overlap
    for index, first in enumerate(range(0, max(len(spans), 1), step)):
        window = spans[first : first + size]
        if not window:
            break
        start, end = window[0][0], window[-1][1]
        passages.append(Passage(f"{doc_id}::{index}", doc_id, start, end, text[start:end]))
        if first + size >= len(spans):
            break
    return passages


def split_questions_by_document(
    doc_ids: list[str], fractions=(0.6, 0.2, 0.2), seed: int = 0
) -> dict[str, list[str]]:
    """Assign whole documents to train / dev / test, so no test document is seen in training."""
    order = list(np.random.default_rng(seed).permutation(sorted(doc_ids)))
    n_train = int(round(fractions[0] * len(order)))
    n_dev = int(round(fractions[1] * len(order)))
    if len(order) >= 3:
        n_train, n_dev = max(1, min(n_train, len(order) - 2)), max(1, n_dev)
    return {
        "train": sorted(order[:n_train]),
        "dev": sorted(order[n_train : n_train + n_dev]),
        "test": sorted(order[n_train + n_dev :]),
    }
