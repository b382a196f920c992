"""Documents -> overlapping passages with character offsets; sentences of a passage;
document-level question splits; the prepared corpus (documents, questions with their split,
passages) the later stages read."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlab.io import write_json, write_tsv
from medlab.rag.corpus import Corpus, Question, read_jsonl, write_jsonl

log = logging.getLogger(__name__)

TOKEN = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    start: int  # character offset of the passage in its document
    end: int
    text: str


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (split after . ! ? followed by whitespace)."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def split_passages(doc_id: str, text: str, size: int, overlap: int) -> list[Passage]:
    """Windows of ``size`` whitespace tokens advancing by ``size - overlap`` tokens.

    Offsets refer to the original document, so an answer span (answer_start, text) can be
    tested for containment in a passage.

    Raises:
        ValueError: unless size > 0 and 0 <= overlap < size.
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


SPLIT_NAMES = ("train", "dev", "test")


def split_questions_by_document(
    doc_ids: list[str],
    fractions=(0.6, 0.2, 0.2),
    seed: int = 0,
    question_counts: dict[str, int] | None = None,
) -> dict[str, list[str]]:
    """Assign whole documents to train / dev / test, so no test document is seen in training.

    Without ``question_counts`` the fractions are of documents (a seeded permutation cut in
    three). With them, the fractions are of questions: a few documents often hold most of a
    QA corpus's questions (two of the 20 papers of the COVID-QA slice hold 117 of its 221),
    and a cut by document count can then leave train with a fraction of the questions it
    asks for. Documents are then assigned largest first (ties in seeded order), each to the
    split furthest below its share of questions; documents without questions follow, each
    to the split furthest below its share of documents.
    """
    order = [str(d) for d in np.random.default_rng(seed).permutation(sorted(doc_ids))]
    if not question_counts or not any(question_counts.get(d, 0) for d in order):
        return _split_by_document_count(order, fractions)
    splits = {name: [] for name in SPLIT_NAMES}
    asked = sorted(
        (d for d in order if question_counts.get(d, 0)), key=lambda d: -question_counts[d]
    )
    _assign_largest_deficit(asked, [question_counts[d] for d in asked], splits, fractions)
    unasked = [d for d in order if not question_counts.get(d, 0)]
    if unasked:
        counts = {name: len(ids) for name, ids in splits.items()}
        _assign_largest_deficit(unasked, [1] * len(unasked), splits, fractions, counts)
    return {name: sorted(ids) for name, ids in splits.items()}


def _assign_largest_deficit(
    doc_ids: list[str], sizes: list[int], splits: dict, fractions, already: dict | None = None
) -> None:
    """Append each document to the split whose assigned size is furthest below its fraction
    of the total (``already``: sizes assigned before; ties go to train, then dev, then test)."""
    assigned = dict(already or {name: 0 for name in SPLIT_NAMES})
    share = dict(zip(SPLIT_NAMES, fractions))
    total = sum(sizes) + sum(assigned.values())
    for doc_id, size in zip(doc_ids, sizes):
        name = max(SPLIT_NAMES, key=lambda n: share[n] * total - assigned[n])
        splits[name].append(doc_id)
        assigned[name] += size


def _split_by_document_count(order: list[str], fractions) -> dict[str, list[str]]:
    n_train = int(round(fractions[0] * len(order)))
    n_dev = int(round(fractions[1] * len(order)))
    if len(order) >= 3:
        n_train, n_dev = max(1, min(n_train, len(order) - 2)), max(1, n_dev)
    return {
        "train": sorted(order[:n_train]),
        "dev": sorted(order[n_train : n_train + n_dev]),
        "test": sorted(order[n_train + n_dev :]),
    }


def gold_passages(question: Question, passages: list[Passage]) -> list[int]:
    """Indices of the passages of the question's document that contain a gold answer span."""
    found = []
    for index, passage in enumerate(passages):
        if passage.doc_id != question.doc_id:
            continue
        for answer in question.answers:
            start = answer["answer_start"]
            if passage.start <= start and start + len(answer["text"]) <= passage.end:
                found.append(index)
                break
    return found


def read_passages(path) -> list[Passage]:
    """The passages JSONL the corpus stage wrote, in index order."""
    return [Passage(**record) for record in read_jsonl(path)]


@dataclass
class PreparedCorpus:
    """A corpus sampled, split by document and cut into passages."""

    documents: dict[str, str]  # id -> text, the kept documents only
    split_of: dict[str, str]  # document id -> train / dev / test
    splits: dict[str, list[str]]  # train / dev / test -> document ids
    questions: list[Question]  # questions about kept documents
    passages: list[Passage]
    issues: Counter

    def stats(self) -> dict:
        """Counts for stats.json: documents, passages, questions and documents per split, issues."""
        return {
            "documents": len(self.documents),
            "passages": len(self.passages),
            "questions": dict(Counter(self.split_of[q.doc_id] for q in self.questions)),
            "documents_per_split": {k: len(v) for k, v in self.splits.items()},
            "issues": dict(self.issues),
        }


def prepare_corpus(
    corpus: Corpus,
    passage_size: int,
    passage_overlap: int,
    fractions,
    seed: int,
    max_documents: int | None,
) -> PreparedCorpus:
    """Sample ``max_documents`` (seeded; None = all), split by document, cut passages."""
    doc_ids = sorted(corpus.documents)
    if max_documents is not None and max_documents < len(doc_ids):
        doc_ids = sorted(
            np.random.default_rng(seed).choice(doc_ids, size=max_documents, replace=False).tolist()
        )
    # the fractions are of questions (see split_questions_by_document)
    question_counts = Counter(q.doc_id for q in corpus.questions)
    splits = split_questions_by_document(doc_ids, fractions, seed, question_counts)
    split_of = {doc_id: name for name, ids in splits.items() for doc_id in ids}
    passages = [
        p
        for doc_id in doc_ids
        for p in split_passages(doc_id, corpus.documents[doc_id], passage_size, passage_overlap)
    ]
    questions = [q for q in corpus.questions if q.doc_id in split_of]
    for name, ids in splits.items():
        if not any(q.doc_id in set(ids) for q in questions):
            log.warning("split %s has no question (documents: %s)", name, ids)
    prepared = PreparedCorpus(
        {d: corpus.documents[d] for d in doc_ids},
        split_of,
        splits,
        questions,
        passages,
        corpus.issues,
    )
    stats = prepared.stats()
    log.info(
        "%d documents, %d passages, questions per split %s; issues %s",
        stats["documents"],
        stats["passages"],
        stats["questions"],
        stats["issues"],
    )
    return prepared


def write_prepared_corpus(
    prepared: PreparedCorpus, documents_path, questions_path, passages_path, issues_path, stats_path
) -> None:
    """The files later stages read (JSONL; questions carry their split), issues.tsv, stats.json."""
    write_jsonl(
        [
            {"id": d, "text": t, "split": prepared.split_of[d]}
            for d, t in prepared.documents.items()
        ],
        documents_path,
    )
    write_jsonl(
        [{**q.__dict__, "split": prepared.split_of[q.doc_id]} for q in prepared.questions],
        questions_path,
    )
    write_jsonl([p.__dict__ for p in prepared.passages], passages_path)
    issues = pd.DataFrame(sorted(prepared.issues.items()), columns=["issue", "count"])
    write_tsv(issues, issues_path)
    write_json(prepared.stats(), stats_path)
