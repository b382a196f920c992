"""Readers: the training-free sentence reader and the reader registry.

The extractive span reader lives in :mod:`medlab.rag.extractive` (PyTorch, transformers).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from medlab.io import read_json
from medlab.rag.answers import NO_ANSWER, Answer
from medlab.rag.passages import split_sentences
from medlab.rag.retrieval import load_sentence_encoder, tokenize_for_bm25

log = logging.getLogger(__name__)


class SentenceReader:
    """Training-free baseline: the retrieved sentence that best matches the question.

    Score = (cosine + lexical_weight x coverage) / (1 + lexical_weight): the cosine similarity
    of bi-encoder embeddings, clipped to [0, 1], and the coverage of the question's words by
    the sentence, the share of their IDF weight (inverse document frequency over the corpus's
    passages) that the sentence's words hold. The sentence answering a question usually
    repeats its rare words, which a small bi-encoder blurs: on the default slice's dev
    questions the guided extractive reader's mean end-to-end F1 went from 0.214 (cosine only)
    to 0.254 at lexical_weight 1 (bench/results/rag_targets.md). The score lies in [0, 1]; it
    is a raw match, calibrated into a probability of being correct downstream (on dev).
    """

    def __init__(self, encoder, batch_size: int = 32, lexical_weight: float = 0.0):
        self.encoder, self.batch_size, self.lexical_weight = encoder, batch_size, lexical_weight
        self._queries: dict[str, np.ndarray] = {}
        # passage -> (sentence character spans, (sentences, dim) unit vectors, word sets)
        self._sentences: dict[int, tuple[list[tuple[int, int]], np.ndarray, list[set[str]]]] = {}
        self._idf_texts: list[str] | None = None  # the passage texts the IDF weights come from
        self._idf: dict[str, float] = {}

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
            words = [set(tokenize_for_bm25(passage_texts[p][s:e])) for s, e in spans[p]]
            self._sentences[p] = (spans[p], vectors[offset : offset + count], words)
            offset += count

    def _word_weights(self, question: str, passage_texts: list[str]) -> dict[str, float]:
        """IDF, ln(passages / passages holding the word), of each distinct word of the question.

        Plain IDF rather than rank-bm25's scores: coverage must lie in [0, 1] to mix with the
        cosine; a word in every passage weighs 0, a word in none ln(passages).
        """
        if self._idf_texts is not passage_texts:  # computed once per corpus
            frequencies = Counter(w for text in passage_texts for w in set(tokenize_for_bm25(text)))
            self._idf = {w: math.log(len(passage_texts) / n) for w, n in frequencies.items()}
            self._idf_texts = passage_texts
        unseen = math.log(max(len(passage_texts), 1))
        return {w: self._idf.get(w, unseen) for w in set(tokenize_for_bm25(question))}

    def _scores(self, query: np.ndarray, weights: dict[str, float], passage: int) -> np.ndarray:
        """(sentences,) scores of one passage's sentences (see the class docstring)."""
        _, vectors, words = self._sentences[passage]
        cosine = np.clip(vectors @ query, 0.0, 1.0)
        if not self.lexical_weight:
            return cosine
        total = sum(weights.values())
        coverage = np.array(
            [
                sum(weights[w] for w in weights if w in sentence) / total if total else 0.0
                for sentence in words
            ]
        )
        return (cosine + self.lexical_weight * coverage) / (1.0 + self.lexical_weight)

    def read(self, question: str, passages: list[int], passage_texts: list[str]) -> Answer:
        if not passages:
            return NO_ANSWER
        self.prefetch(passages, passage_texts)
        if question not in self._queries:
            self._queries[question] = self._embed([question])[0]
        query = self._queries[question]
        weights = self._word_weights(question, passage_texts) if self.lexical_weight else {}
        best = NO_ANSWER
        best_score = -np.inf
        for p in passages:
            spans = self._sentences[p][0]
            if not spans:
                continue
            scores = self._scores(query, weights, p)
            i = int(np.argmax(scores))
            if scores[i] > best_score:
                best_score = float(scores[i])
                s, e = spans[i]
                best = Answer(passage_texts[p][s:e], best_score, p, s, e)
        return best


def load_sentence_reader(model_name: str, device, options: dict) -> SentenceReader:
    """The sentence reader over the bi-encoder ``model_name`` (options: batch_size, and
    lexical_weight, rag.reader.sentence_lexical_weight; absent: the cosine alone)."""
    return SentenceReader(
        load_sentence_encoder(model_name, device),
        options["batch_size"],
        options.get("lexical_weight", 0.0),
    )


def load_extractive_reader(model_name: str, device, options: dict):
    """The extractive span reader from ``model_name`` (options: rag.reader decoding options;
    ``sentence_guide``, when given and not None, names the bi-encoder of a sentence reader
    that picks the sentence the span is read from, weighing word coverage by
    ``lexical_weight``)."""
    # torch and transformers take seconds to import, and the workflow imports READERS while
    # parsing its rules: the extractive module is loaded only when this reader is built
    from medlab.rag.extractive import ExtractiveReader

    options = dict(options)
    guide = options.pop("sentence_guide", None)
    lexical_weight = options.pop("lexical_weight", 0.0)
    if guide is not None:
        options["sentence_guide"] = load_sentence_reader(
            guide, device, {**options, "lexical_weight": lexical_weight}
        )
    return ExtractiveReader.from_pretrained(model_name, device, **options)


# beside a fine-tuned reader's weights: the window it was trained and evaluated at, so a
# later reader of the saved model (medlab ask) cuts passages as the run did
READER_WINDOW_FILE = "reader_window.json"


def saved_reader_window(model_directory: str | Path) -> dict:
    """``{"max_length": int, "stride": int}`` of a reader saved by the pipeline; ``{}`` for
    a model directory without the file (a hub model, or a run saved before it was kept)."""
    path = Path(model_directory) / READER_WINDOW_FILE
    return read_json(path) if path.is_file() else {}


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
