"""The extractive span reader: decoding and reading over several passages."""

import numpy as np
import pytest
import torch

from medlab.rag.answers import NO_ANSWER, Answer, token_f1
from medlab.rag.extractive import AGREEMENT_F1, ExtractiveReader, Span, Window, _agreement
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
    reader._normalizer, reader.batch_size, reader.rank_prior = None, 16, 0.0
    reader.aggregate_answers, reader.sentence_fallback = False, None
    reader.sentence_guide = FixedSentence(Answer("Fever drops.", 0.8, 0, 11, 23))
    reader._cache = {("q", 0): reader._decode_window(start, end, offsets, context, passage=0)}
    reader._windows = {("q", 0): [Window(start, end, offsets, context)]}
    answer = reader.read("q", [0], [text])
    assert (answer.passage, answer.text) == (0, "Fever drops")
    # in-sentence candidates: "Fever" 5, "Fever drops" 8, "drops" 5; each one-word span has
    # token F1 2/3 against the answer, so all three say it: confidence = the guide's score
    assert answer.score == pytest.approx(0.8)
    reader.sentence_guide = None  # unguided: the best span overall
    assert reader.read("q", [0], [text]).text == "Aspirin x"


@pytest.mark.parametrize(
    ("fallback", "span", "expected_text"),
    [
        (None, Answer("Fever", 0.4, 0, 11, 16), "Fever"),
        (0.3, Answer("Fever", 0.4, 0, 11, 16), "Fever"),
        (0.5, Answer("Fever", 0.4, 0, 11, 16), "Fever drops."),  # unsure: the sentence
        (0.5, Answer("", 0.4, -1, 0, 0), ""),  # an abstention is not replaced
    ],
)
def test_an_unsure_span_gives_way_to_its_whole_sentence(fallback, span, expected_text):
    text = "Aspirin x. Fever drops."
    offsets = np.array([(0, 0), (0, 7), (8, 9), (11, 16), (17, 22), (0, 0)])
    context = np.array([False, True, True, True, True, False])
    logits = np.zeros(6)
    reader = ExtractiveReader.__new__(ExtractiveReader)
    reader.max_answer_tokens, reader.candidates_per_window, reader.allow_no_answer = 5, 5, False
    reader._normalizer, reader.batch_size, reader.sentence_fallback = None, 16, fallback
    reader.sentence_guide = FixedSentence(Answer("Fever drops.", 0.8, 0, 11, 23))
    reader._cache = {("q", 0): []}
    reader._windows = {("q", 0): [Window(logits, logits, offsets, context)]}
    reader._best = lambda spans, passage_texts: span  # the span head's answer and its mass
    answer = reader.read("q", [0], [text])
    assert answer.text == expected_text
    assert answer.score == pytest.approx(0.8 * 0.4)  # the guide's score x the answer's mass


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


def cached_reader(
    spans_by_passage: dict[int, list[Span]], rank_prior: float = 0.0, aggregate: bool = False
):
    """A reader whose span candidates are given, per passage, for the question "q"."""
    reader = ExtractiveReader.__new__(ExtractiveReader)
    reader._normalizer, reader.sentence_guide, reader.rank_prior = None, None, rank_prior
    reader.aggregate_answers = aggregate
    reader.batch_size = 16
    reader._cache = {("q", p): spans for p, spans in spans_by_passage.items()}
    reader._windows = {}
    return reader


def test_confidence_is_the_mass_of_every_candidate_saying_the_same_answer():
    """The same words read in two overlapping passages, and a word longer, are one answer."""
    texts = ["the incubation period is 5 days", "period is 5 days on average", "fever"]
    spans = {
        0: [Span(4.0, 0, 25, 31)],  # "5 days"
        1: [Span(3.9, 1, 10, 16), Span(3.0, 1, 10, 27)],  # "5 days", "5 days on average"
        2: [Span(4.0 - np.log(3.0), 2, 0, 5)],  # "fever": a different answer
    }
    answer = cached_reader(spans).read("q", [0, 1, 2], texts)
    logits = np.array([4.0, 3.9, 3.0, 4.0 - np.log(3.0)])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    assert answer.text == "5 days"
    # "5 days on average" has token F1 2 x (2/4 x 1) / (1/2 + 1) = 0.667 against "5 days"
    assert answer.score == pytest.approx(probabilities[:3].sum())
    assert answer.score > probabilities[0] * 2


def test_the_rank_prior_lets_the_retrievers_order_break_near_ties():
    texts = ["aspirin", "ibuprofen"]
    spans = {0: [Span(5.0, 0, 0, 7)], 1: [Span(5.5, 1, 0, 9)]}
    assert cached_reader(spans).read("q", [0, 1], texts).text == "ibuprofen"
    # ln 2 x 1.0 = 0.69 > 0.5: the second passage's span loses its lead
    assert cached_reader(spans, rank_prior=1.0).read("q", [0, 1], texts).text == "aspirin"
    # the order of the ranking, not the passage number, gives the rank
    assert cached_reader(spans, rank_prior=1.0).read("q", [1, 0], texts).text == "ibuprofen"


def test_aggregated_answers_let_agreeing_passages_outvote_one_confident_span():
    texts = ["aspirin", "ibuprofen 400 mg", "take ibuprofen"]
    spans = {
        0: [Span(5.0, 0, 0, 7)],  # "aspirin": the single best span
        1: [Span(4.6, 1, 0, 9)],  # "ibuprofen"
        2: [Span(4.5, 2, 5, 14)],  # "ibuprofen" again, in another passage
    }
    logits = np.array([5.0, 4.6, 4.5])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    best_span = cached_reader(spans).read("q", [0, 1, 2], texts)
    assert best_span.text == "aspirin"
    assert best_span.score == pytest.approx(probabilities[0])
    aggregated = cached_reader(spans, aggregate=True).read("q", [0, 1, 2], texts)
    assert aggregated.text == "ibuprofen"
    assert aggregated.passage == 1  # of its spans, the one with the higher logit
    assert aggregated.score == pytest.approx(probabilities[1:].sum())


def test_aggregation_keeps_the_best_span_when_no_answer_is_shared():
    texts = ["aspirin", "ibuprofen"]
    spans = {0: [Span(5.0, 0, 0, 7)], 1: [Span(4.0, 1, 0, 9)]}
    assert cached_reader(spans, aggregate=True).read("q", [0, 1], texts).text == "aspirin"


def test_agreement_is_the_pairwise_token_f1_rule_over_distinct_answers():
    """Grouping repeated answers must not change who agrees with whom (F1 >= AGREEMENT_F1)."""
    texts = [
        "5 days",
        "The 5 days",  # the same tokens once normalised
        "5 days on average",
        "on average",
        "cough",
        "the",  # nothing left once normalised: agrees only with itself
        None,  # "no answer" agrees with nothing
        "5 days",
        "a",
    ]
    saying_the_same = _agreement(texts)
    for candidate, text in enumerate(texts):
        if text is None:
            continue
        expected = [
            i
            for i, other in enumerate(texts)
            if other is not None and token_f1(other, [text]) >= AGREEMENT_F1
        ]
        assert saying_the_same(candidate) == expected
    assert saying_the_same(0) == [0, 1, 2, 7]
    assert saying_the_same(5) == [5, 8]


def test_the_aggregated_answer_is_worded_as_its_most_probable_span():
    """The span containing the others collects the most agreeing mass, but the answer reads
    as the span head's own best wording of it, with the containing span's mass."""
    texts = ["5 days on average", "cough"]
    spans = {
        0: [
            Span(4.0, 0, 0, 6),  # "5 days": the most probable wording
            Span(3.0, 0, 0, 17),  # "5 days on average": agrees with both others
            Span(3.0, 0, 7, 17),  # "on average": shares no word with "5 days"
        ],
        1: [Span(4.2, 1, 0, 5)],  # "cough": the single best span, alone
    }
    logits = np.array([4.0, 3.0, 3.0, 4.2])
    probabilities = np.exp(logits) / np.exp(logits).sum()
    answer = cached_reader(spans, aggregate=True).read("q", [0, 1], texts)
    assert (answer.passage, answer.start, answer.end) == (0, 0, 6)
    assert answer.text == "5 days"
    # the winner "5 days on average" has token F1 0.667 against each of the other two
    assert answer.score == pytest.approx(probabilities[:3].sum())
