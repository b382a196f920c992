"""The extractive span reader (AutoModelForQuestionAnswering).

transformers 5 has no question-answering pipeline, so span decoding is done here: every
(question, passage) pair is tokenized into overlapping windows, the best start/end pairs of
each window are collected, and the answer is the best span over all retrieved passages.
Span candidates are cached per (question, passage), so reading the top 10 after the top 5
costs only the five new passages; the question is cached as the tokenizer normalises it, so
with an uncased model a lowercased query variant costs nothing more.

With a sentence guide (a :class:`~medlab.rag.readers.SentenceReader`), reading is a cascade:
the guide picks the retrieved sentence that best matches the question, and the span head
chooses the answer inside that sentence only (sentence selection before span extraction, as
in Min et al., 2018). A span head fine-tuned on a few hundred questions ranks spans within
a passage far better than it ranks passages against each other; the bi-encoder does the
latter.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

from medlab.pretrained import load_pretrained
from medlab.rag.answers import NO_ANSWER, Answer, answer_tokens, overlap_f1

log = logging.getLogger(__name__)

# candidate spans whose token F1 against the chosen answer reaches this say the same answer
# (the evaluation's default rag.evaluation.correct_f1): their probability adds to its confidence
AGREEMENT_F1 = 0.5
# with aggregate_answers, the most probable spans whose answer mass is compared (each costs a
# token-F1 pass over every distinct candidate answer)
AGGREGATION_CANDIDATES = 20


@dataclass(frozen=True)
class Span:
    logit: float  # start logit + end logit
    passage: int
    start: int
    end: int


@dataclass(frozen=True)
class Window:
    """One tokenized window of a (question, passage) pair, kept for guided decoding.

    start_logits, end_logits: (tokens,); offsets: (tokens, 2) character span of each token in
    the passage; context: (tokens,) bool, True for the passage's tokens.
    """

    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: np.ndarray
    context: np.ndarray

    def within(self, start: int, end: int) -> np.ndarray:
        """(tokens,) bool: context tokens lying inside characters [start, end) of the passage."""
        return self.context & (self.offsets[:, 0] >= start) & (self.offsets[:, 1] <= end)


class ExtractiveReader:
    """Start/end span decoding over several passages.

    The answer is the span with the highest logit (start + end logit) among the candidate
    spans (the ``candidates_per_window`` best of each window) of every retrieved passage (and,
    with ``allow_no_answer``, each window's [CLS] "no answer" score). With ``rank_prior`` > 0
    a span of the passage at retrieval rank r has its logit lowered by rank_prior x ln(r), so
    the retriever's order breaks near-ties between passages (as Yang et al., 2019, interpolate
    retriever and reader scores; ranks, not raw scores, so one weight suits every retriever).

    confidence = the answer's probability mass: the softmax over all candidates, summed over
    the candidates that say the same answer (token F1 >= AGREEMENT_F1 against it). The same
    span read in two overlapping windows or passages, or with a word more or less, is one
    answer; the softmax of the single best span splits its mass among those near copies and
    tracked correctness barely better than chance (one COVID-QA reader, test, RRF top 5:
    AUROC 0.57 for the best span's softmax, 0.76 for the answer's mass; see
    bench/results/rag_targets.md).

    With ``aggregate_answers`` the answer is the candidate with the largest such mass rather
    than the highest logit: several passages agreeing on an answer outvote one passage's
    single confident span (answer aggregation across passages, as in Wang et al., 2018). It
    is worded as its highest-logit agreeing candidate, its confidence the winner's mass.

    With a ``sentence_guide`` the candidates are the spans inside the guide's sentence, and
    confidence = the guide's score (its match score in [0, 1]) x that mass: the sentence
    must be the right one, and the span the right one within it. With ``sentence_fallback``
    the answer is the whole sentence when the span's answer mass within it is below that
    value (same confidence): a span head unsure of the words loses less F1 by answering with
    their sentence than with a guess among its spans.
    """

    def __init__(
        self,
        model,
        tokenizer,
        device: torch.device,
        max_length: int = 384,
        stride: int = 128,
        max_answer_tokens: int = 30,
        batch_size: int = 16,
        candidates_per_window: int = 20,
        allow_no_answer: bool = False,
        sentence_guide=None,
        rank_prior: float = 0.0,
        aggregate_answers: bool = False,
        sentence_fallback: float | None = None,
    ):
        self.model, self.tokenizer, self.device = model.to(device).eval(), tokenizer, device
        self.max_length, self.stride, self.max_answer_tokens = max_length, stride, max_answer_tokens
        self.batch_size, self.candidates_per_window = batch_size, candidates_per_window
        self.allow_no_answer = allow_no_answer
        self.sentence_guide = sentence_guide
        self.rank_prior = rank_prior
        self.aggregate_answers = aggregate_answers
        self.sentence_fallback = sentence_fallback
        self._cache: dict[tuple[str, int], list[Span]] = {}
        # raw windows per cache key, kept only when guided (their logits over every token)
        self._windows: dict[tuple[str, int], list[Window]] = {}
        # uncased BERT tokenizers lowercase and strip accents before tokenizing; None: no normaliser
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self._normalizer = backend.normalizer if backend is not None else None

    def clear_cache(self) -> None:
        """Forget every cached reading (after the weights change)."""
        self._cache.clear()
        self._windows.clear()

    @classmethod
    def from_pretrained(cls, model_name: str, device: torch.device, **options) -> ExtractiveReader:
        """A reader from a local directory, a packaged name or a hub SQuAD model.

        A model without a trained QA head (e.g. the packaged sentence encoder) gets a freshly
        initialised head; transformers logs that, and such a reader must be fine-tuned first.
        ``options`` are the constructor's, ``sentence_guide`` included.
        """
        tokenizer = load_pretrained(AutoTokenizer, model_name)
        return cls(
            load_pretrained(AutoModelForQuestionAnswering, model_name), tokenizer, device, **options
        )

    def encode(self, questions: list[str], contexts: list[str]):
        """Windows of (question, context) pairs with offsets; ``overflow_to_sample_mapping`` maps windows to pairs."""
        return self.tokenizer(
            questions,
            contexts,
            truncation="only_second",
            max_length=self.max_length,
            stride=self.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )

    def _decode_window(
        self,
        start_logits: np.ndarray,
        end_logits: np.ndarray,
        offsets,
        context_mask: np.ndarray,
        passage: int,
    ) -> list[Span]:
        """Best spans of one window. start/end_logits: (tokens,); context_mask: (tokens,) bool."""
        n = self.candidates_per_window
        starts = [i for i in np.argsort(-start_logits) if context_mask[i]][:n]
        ends = [i for i in np.argsort(-end_logits) if context_mask[i]][:n]
        spans = [
            Span(
                float(start_logits[s] + end_logits[e]),
                passage,
                int(offsets[s][0]),
                int(offsets[e][1]),
            )
            for s in starts
            for e in ends
            if s <= e < s + self.max_answer_tokens
        ]
        # keep the n best: the cache holds every (question, passage) pair of a run
        spans = sorted(spans, key=lambda span: -span.logit)[:n]
        if self.allow_no_answer:
            spans.append(Span(float(start_logits[0] + end_logits[0]), -1, 0, 0))
        return spans

    def _cache_key(self, question: str, passage: int) -> tuple[str, int]:
        """(question as the tokenizer's normaliser sees it, passage): questions with the same
        key get the same token ids, hence the same span candidates."""
        if self._normalizer is not None:
            question = self._normalizer.normalize_str(question)
        return question, passage

    @torch.no_grad()
    def prefetch(self, pairs: list[tuple[str, int]], passage_texts: list[str]) -> None:
        """Compute and cache span candidates for (question, passage index) pairs not seen yet."""
        todo: dict[tuple[str, int], tuple[str, int]] = {}  # cache key -> one pair with that key
        for pair in pairs:
            key = self._cache_key(*pair)
            # guided reading needs the raw windows too (a pair read before the guide was set has none)
            guided_without_windows = self.sentence_guide is not None and key not in self._windows
            if key not in self._cache or guided_without_windows:
                todo.setdefault(key, pair)
        # batches in the pairs' sorted order, as before questions were normalised
        keys = sorted(todo, key=todo.get)
        for first in range(0, len(keys), self.batch_size):
            batch_keys = keys[first : first + self.batch_size]
            batch = [todo[key] for key in batch_keys]
            encoded = self.encode([q for q, _ in batch], [passage_texts[p] for _, p in batch])
            mapping = encoded.pop("overflow_to_sample_mapping").tolist()
            offsets = encoded.pop("offset_mapping").tolist()
            context_masks = [
                np.array([sid == 1 for sid in encoded.sequence_ids(w)]) for w in range(len(mapping))
            ]
            outputs = self.model(**{k: v.to(self.device) for k, v in encoded.items()})
            start_logits, end_logits = (
                outputs.start_logits.float().cpu().numpy(),
                outputs.end_logits.float().cpu().numpy(),
            )
            for key in batch_keys:
                self._cache[key] = []
                if self.sentence_guide is not None:
                    self._windows[key] = []
            for window, pair_index in enumerate(mapping):
                key = batch_keys[pair_index]
                self._cache[key] += self._decode_window(
                    start_logits[window],
                    end_logits[window],
                    offsets[window],
                    context_masks[window],
                    batch[pair_index][1],
                )
                if self.sentence_guide is not None:
                    self._windows[key].append(
                        Window(
                            start_logits[window],
                            end_logits[window],
                            np.asarray(offsets[window], dtype=np.int64),
                            context_masks[window],
                        )
                    )

    def read(self, question: str, passages: list[int], passage_texts: list[str]) -> Answer:
        """The best span over ``passages`` (indices into ``passage_texts``); NO_ANSWER for none.

        Guided: the best span inside the guide's sentence (see the class docstring).
        """
        if not passages:
            return NO_ANSWER
        if self.sentence_guide is not None:
            return self._read_guided(question, passages, passage_texts)
        self.prefetch([(question, p) for p in passages], passage_texts)
        spans = [
            replace(span, logit=span.logit - self.rank_prior * np.log(rank))
            if self.rank_prior
            else span
            for rank, p in enumerate(passages, start=1)
            for span in self._cache[self._cache_key(question, p)]
        ]
        return self._best(spans, passage_texts)

    def _read_guided(self, question: str, passages: list[int], passage_texts: list[str]) -> Answer:
        sentence = self.sentence_guide.read(question, passages, passage_texts)
        if sentence.passage < 0:
            return sentence
        self.prefetch([(question, sentence.passage)], passage_texts)
        spans = [
            span
            for window in self._windows[self._cache_key(question, sentence.passage)]
            for span in self._decode_window(
                window.start_logits,
                window.end_logits,
                window.offsets,
                window.within(sentence.start, sentence.end),
                sentence.passage,
            )
        ]
        if not spans:  # no span fits inside the sentence in any window: the sentence answers
            return sentence
        answer = self._best(spans, passage_texts)
        unsure = self.sentence_fallback is not None and answer.score < self.sentence_fallback
        if unsure and answer.passage >= 0:  # an abstention ("no answer" won) stands
            answer = replace(sentence, score=answer.score)
        return replace(answer, score=sentence.score * answer.score)

    def _best(self, spans: list[Span], passage_texts: list[str]) -> Answer:
        """The highest-logit span (with ``aggregate_answers``: the answer with the most mass, in
        its most probable wording), scored by its answer's probability mass (see the class docstring);
        NO_ANSWER for none."""
        if not spans:
            return NO_ANSWER
        logits = np.array([span.logit for span in spans])
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        best = int(np.argmax(logits))
        if spans[best].passage < 0:  # "no answer" won
            return Answer("", float(probabilities[best]), -1, 0, 0)
        texts = [
            passage_texts[span.passage][span.start : span.end] if span.passage >= 0 else None
            for span in spans
        ]
        saying_the_same = _agreement(texts)

        def mass(agreeing: list[int]) -> float:
            return sum(probabilities[i] for i in agreeing)

        if not self.aggregate_answers:
            confidence = mass(saying_the_same(best))
        else:
            # the AGGREGATION_CANDIDATES most probable spans compete; ties keep the higher logit
            order = [i for i in np.argsort(-logits, kind="stable") if texts[i] is not None]
            agreeing = {i: saying_the_same(i) for i in order[:AGGREGATION_CANDIDATES]}
            masses = {i: mass(members) for i, members in agreeing.items()}
            winner = max(masses, key=lambda i: (masses[i], logits[i]))
            confidence = masses[winner]
            # the mass decides which answer wins, the span head its boundaries: the candidate
            # with the most agreeing mass is usually the span containing the others, rarely an
            # exact match, so the answer is worded as its highest-logit agreeing candidate (on
            # the default slice exact match at BM25 top 5 went from 0.000 to 0.061 on test;
            # bench/results/rag_targets.md)
            best = max(agreeing[winner], key=lambda i: logits[i])
        span = spans[best]
        return Answer(texts[best], float(min(confidence, 1.0)), span.passage, span.start, span.end)


def _agreement(texts: list[str | None]) -> Callable[[int], list[int]]:
    """``saying_the_same(candidate)``: the indices (ascending) of the ``texts`` whose token F1
    against ``texts[candidate]`` is at least AGREEMENT_F1; None (no-answer) never agrees.

    Overlapping windows and nested spans repeat the same few answers, so the texts are
    normalised once and compared per distinct token multiset: aggregating ~1,000 candidate
    spans takes tens of milliseconds instead of most of a second for every pair of strings.
    """
    members: dict[frozenset, list[int]] = {}  # distinct answer tokens -> their texts' indices
    for index, text in enumerate(texts):
        if text is not None:
            members.setdefault(frozenset(answer_tokens(text).items()), []).append(index)
    tokens = {form: Counter(dict(form)) for form in members}
    form_of = {index: form for form, indices in members.items() for index in indices}

    def saying_the_same(candidate: int) -> list[int]:
        own = tokens[form_of[candidate]]
        return sorted(
            index
            for form, indices in members.items()
            if overlap_f1(tokens[form], own) >= AGREEMENT_F1
            for index in indices
        )

    return saying_the_same
