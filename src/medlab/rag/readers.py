"""Readers: the training-free sentence reader and the reader registry.

The extractive span reader lives in :mod:`medlab.rag.extractive` (PyTorch, transformers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from medlab.rag.answers import NO_ANSWER, Answer
from medlab.rag.passages import split_sentences
from medlab.rag.retrieval import load_sentence_encoder

log = logging.getLogger(__name__)


class SentenceReader:
    """Training-free baseline: the retrieved sentence most similar to the question.

    Score = cosine similarity of bi-encoder embeddings, clipped to [0, 1]; it is a raw
    similarity, calibrated into a probability of being correct downstream (on dev questions).
    """

    def __init__(self, encoder, batch_size: int = 32):
        self.encoder, self.batch_size = encoder, batch_size
        self._queries: dict[str, np.ndarray] = {}
        self._sentences: dict[int, tuple[list[tuple[int, int]], np.ndarray]] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        """(texts, dim) unit vectors."""
        return np.asarray(
            self.encoder.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            ),
            dtype=np.float32,
        )

    def prefetch(self, passages: list[int], passage_texts: list[str]) -> None:
        todo = sorted({p for p in passages if p not in self._sentences})
        spans = {p: split_sentences(passage_texts[p]) for p in todo}
        texts = [passage_texts[p][s:e] for p in todo for s, e in spans[p]]
        vectors = self._embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        offset = 0
        for p in todo:
            count = len(spans[p])
            self._sentences[p] = (spans[p], vectors[offset : offset + count])
            offset += count

    def read(self, question: str, passages: list[int], passage_texts: list[str]) -> Answer:
        if not passages:
            return NO_ANSWER
        self.prefetch(passages, passage_texts)
        if question not in self._queries:
            self._queries[question] = self._embed([question])[0]
        query = self._queries[question]
        best = NO_ANSWER
        best_similarity = -np.inf
        for p in passages:
            spans, vectors = self._sentences[p]
            if not spans:
                continue
            similarities = vectors @ query
            i = int(np.argmax(similarities))
            if similarities[i] > best_similarity:
                best_similarity = float(similarities[i])
                s, e = spans[i]
                best = Answer(
                    passage_texts[p][s:e], float(np.clip(best_similarity, 0.0, 1.0)), p, s, e
                )
        return best


def load_sentence_reader(model_name: str, device, options: dict) -> SentenceReader:
    """The sentence reader over the bi-encoder ``model_name`` (options: batch_size)."""
    return SentenceReader(load_sentence_encoder(model_name, device), options["batch_size"])


def load_extractive_reader(model_name: str, device, options: dict):
    """The extractive span reader from ``model_name`` (options: rag.reader decoding options;
    ``sentence_guide``, when given and not None, names the bi-encoder of a sentence reader
    that picks the sentence the span is read from)."""
    # torch and transformers take seconds to import, and the workflow imports READERS while
    # parsing its rules: the extractive module is loaded only when this reader is built
    from medlab.rag.extractive import ExtractiveReader

    options = dict(options)
    guide = options.pop("sentence_guide", None)
    if guide is not None:
        options["sentence_guide"] = load_sentence_reader(guide, device, options)
    return ExtractiveReader.from_pretrained(model_name, device, **options)


# rag.readers -> loader(model name, torch device, options) -> reader with
# ``read(question, passage indices, passage texts) -> Answer``
READERS: dict[str, Callable] = {
    "sentence": load_sentence_reader,
    "extractive": load_extractive_reader,
}


def load_reader(name: str, model_name: str, device, options: dict):
    """The reader registered as ``name``.

    Raises:
        ValueError: for a name not in READERS.
    """
    if name not in READERS:
        raise ValueError(f"rag.readers: unknown reader {name!r}; expected one of {sorted(READERS)}")
    return READERS[name](model_name, device, options)
