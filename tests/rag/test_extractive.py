"""The extractive span reader: decoding and reading over several passages."""

import numpy as np
import pytest
import torch

from medlab.rag.answers import NO_ANSWER, Answer
from medlab.rag.extractive import ExtractiveReader, Window
from medlab.rag.readers import SentenceReader, load_reader, load_sentence_reader
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


class FixedSentence:
    """A sentence guide that always picks one (passage, character span) with one score."""

    def __init__(self, answer):
        self.answer = answer

    def read(self, question, passages, passage_texts):
        return self.answer


def test_guided_reading_takes_the_best_span_inside_the_guides_sentence():
    """Tokens 1-2 (characters 0-9) hold the best span overall; the guide's sentence is
    characters 10-20, where tokens 3-4 win: the answer is theirs, its confidence the guide's
    score times the span's softmax among the in-sentence candidates."""
    text = "Aspirin x. Fever drops."
    offsets = np.array([(0, 0), (0, 7), (8, 9), (11, 16), (17, 22), (0, 0)])
    context = np.array([False, True, True, True, True, False])
    start = np.array([0.0, 9.0, 0.0, 4.0, 1.0, 0.0])
    end = np.array([0.0, 0.0, 9.0, 1.0, 4.0, 0.0])
    reader = ExtractiveReader.__new__(ExtractiveReader)
    reader.max_answer_tokens, reader.candidates_per_window, reader.allow_no_answer = 5, 5, False
    reader._normalizer, reader.batch_size = None, 16
    reader.sentence_guide = FixedSentence(Answer("Fever drops.", 0.8, 0, 11, 23))
    reader._cache = {("q", 0): reader._decode_window(start, end, offsets, context, passage=0)}
    reader._windows = {("q", 0): [Window(start, end, offsets, context)]}
    answer = reader.read("q", [0], [text])
    assert (answer.passage, answer.text) == (0, "Fever drops")
    # in-sentence candidates: (3,3) 5, (3,4) 8, (4,4) 5 -> softmax of 8
    expected = np.exp(8.0) / (2 * np.exp(5.0) + np.exp(8.0))
    assert answer.score == pytest.approx(0.8 * expected)
    reader.sentence_guide = None  # unguided: the best span overall
    assert reader.read("q", [0], [text]).text == "Aspirin x"


def test_a_guided_reader_answers_inside_the_sentence_the_sentence_reader_picks():
    texts = [p.text for p in sample_passages()]
    options = {"max_length": 64, "stride": 16, "batch_size": 16}
    guide = load_sentence_reader("packaged:all-MiniLM-L6-v2", torch.device("cpu"), options)
    reader = load_reader(
        "extractive",
        "packaged:all-MiniLM-L6-v2",
        torch.device("cpu"),
        {**options, "sentence_guide": "packaged:all-MiniLM-L6-v2"},
    )
    assert isinstance(reader.sentence_guide, SentenceReader)
    question = "What do type 1 diabetics require?"
    sentence = guide.read(question, [0, 1, 2], texts)
    answer = reader.read(question, [0, 1, 2], texts)
    assert answer.passage == sentence.passage
    assert sentence.start <= answer.start < answer.end <= sentence.end
    assert answer.text == texts[answer.passage][answer.start : answer.end]
    assert 0 < answer.score <= sentence.score
    assert reader.read(question, [], texts) == NO_ANSWER


def test_a_guide_set_after_plain_reading_gets_the_windows_it_needs(packaged_reader):
    """Pairs read plainly keep no raw windows; guided reading computes them then."""
    texts = [p.text for p in sample_passages()]
    question = "What does aspirin reduce?"
    packaged_reader.read(question, [0, 1], texts)
    guide = load_sentence_reader(
        "packaged:all-MiniLM-L6-v2", torch.device("cpu"), {"batch_size": 8}
    )
    packaged_reader.sentence_guide = guide
    try:
        answer = packaged_reader.read(question, [0, 1], texts)
    finally:
        packaged_reader.sentence_guide = None
    sentence = guide.read(question, [0, 1], texts)
    assert answer.passage == sentence.passage
    assert sentence.start <= answer.start < answer.end <= sentence.end
