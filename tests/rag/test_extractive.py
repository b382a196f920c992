"""The extractive span reader: decoding and reading over several passages."""

import numpy as np

from medlab.rag.answers import NO_ANSWER
from medlab.rag.extractive import ExtractiveReader
from rag.rag_samples import sample_passages


def test_span_decoding_respects_context_and_length():
    reader = ExtractiveReader.__new__(ExtractiveReader)
    reader.max_answer_tokens, reader.candidates_per_window, reader.allow_no_answer = 2, 5, False
    offsets = [(0, 0), (0, 4), (0, 0), (0, 5), (6, 9), (10, 14), (15, 20)]
    context = np.array([False, False, False, True, True, True, True])
    start, end = np.zeros(7), np.zeros(7)
    start[1] = end[1] = 50.0  # the question token must never be chosen
    start[3], end[6], end[4] = (
        5.0,
        6.0,
        3.0,
    )  # best end is 3 tokens after the start: too long for max 2
    spans = reader._decode_window(start, end, offsets, context, passage=0)
    best = max(spans, key=lambda s: s.logit)
    assert (best.start, best.end) == (0, 9)
    assert all(0 < (s.end - s.start) and s.start >= 0 for s in spans)


def test_extractive_reader_returns_a_span_of_a_retrieved_passage(packaged_reader):
    texts = [p.text for p in sample_passages()]
    answer = packaged_reader.read("What regulates blood glucose?", [1, 2], texts)
    assert (
        answer.passage in (1, 2) and answer.text == texts[answer.passage][answer.start : answer.end]
    )
    assert 0 < answer.score <= 1 and answer.text.strip()
    assert packaged_reader.read("Anything?", [], texts) == NO_ANSWER
    cached = len(packaged_reader._cache)
    packaged_reader.read("What regulates blood glucose?", [1, 2, 0], texts)  # one new passage only
    assert len(packaged_reader._cache) == cached + 1


def test_a_question_the_uncased_tokenizer_reads_alike_is_read_once(packaged_reader):
    """MiniLM's tokenizer lowercases: the lowercased query variant reuses the cached spans."""
    texts = [p.text for p in sample_passages()]
    original = packaged_reader.read("What Regulates Blood Glucose?", [0, 1], texts)
    cached = len(packaged_reader._cache)
    lowered = packaged_reader.read("what regulates blood glucose?", [0, 1], texts)
    assert len(packaged_reader._cache) == cached and lowered == original
    packaged_reader.read("What Regulates Blood Glucose", [0, 1], texts)  # other tokens
    assert len(packaged_reader._cache) == cached + 2
