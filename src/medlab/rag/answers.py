"""Answers: what a reader returns, and metrics against gold spans (SQuAD-style exact match
and token F1, containment, length).

Written here rather than taken from ``evaluate``'s squad metric because that metric's code
is fetched from the Hugging Face hub at run time, which fails offline; the definitions
below follow the official SQuAD v1.1 evaluation script (lower-case, strip punctuation and
the articles a/an/the, collapse whitespace).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    text: str
    score: float  # confidence in [0, 1]
    passage: int  # index of the source passage; -1: no passage to read, or the reader abstained
    start: int  # character span of the answer in the source passage
    end: int


NO_ANSWER = Answer("", 0.0, -1, 0, 0)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in str(text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: list[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    predicted = normalize_answer(prediction)
    return float(any(predicted == normalize_answer(gold) for gold in golds))


def answer_tokens(text: str) -> Counter[str]:
    """The normalised tokens of an answer, counted: what token F1 compares."""
    return Counter(normalize_answer(text).split())


def overlap_f1(prediction: Counter[str], gold: Counter[str]) -> float:
    """Token F1 of two answers' :func:`answer_tokens` (1.0 when both are empty)."""
    if not prediction or not gold:
        return float(prediction == gold)
    common = sum((prediction & gold).values())
    if common == 0:
        return 0.0
    precision = common / sum(prediction.values())
    recall = common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: list[str]) -> float:
    """Best token-overlap F1 of the prediction against the gold answers."""
    predicted = answer_tokens(prediction)
    return max(overlap_f1(predicted, answer_tokens(gold)) for gold in golds)


def contains_answer(prediction: str, golds: list[str]) -> float:
    """1.0 when a normalised gold answer occurs inside the normalised prediction
    (a long answer that includes the gold span counts; a generic "AI" does not)."""
    predicted = f" {normalize_answer(prediction)} "
    return float(
        any(normalize_answer(gold) and f" {normalize_answer(gold)} " in predicted for gold in golds)
    )


def answer_length(prediction: str) -> int:
    """Answer length in whitespace tokens."""
    return len(str(prediction).split())
