"""The sentence reader."""

import numpy as np
import pytest

from medlab.rag.readers import SentenceReader, split_sentences
from rag.rag_samples import sample_passages


def test_sentence_reader_picks_the_most_similar_sentence():
    class BagOfWords:
        vocabulary = ["insulin", "glucose", "vaccines", "immune", "aspirin", "fever"]

        def encode(self, texts, **_):
            vectors = (
                np.array([[float(w in t.lower()) for w in self.vocabulary] for t in texts]) + 1e-3
            )
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    texts = [p.text for p in sample_passages()]
    assert [texts[1][s:e] for s, e in split_sentences(texts[1])][
        1
    ] == "Type 1 diabetes requires insulin injections."
    answer = SentenceReader(BagOfWords()).read("insulin and glucose?", [0, 1], texts)
    assert (
        answer.text == "Insulin regulates blood glucose."
        and answer.passage == 1
        and 0 <= answer.score <= 1
    )


class SameVector:
    """An encoder that embeds every text alike: every sentence has cosine 1."""

    def encode(self, texts, **_):
        return np.ones((len(texts), 2)) / np.sqrt(2)


def test_lexical_weight_picks_the_sentence_holding_the_questions_rare_words():
    texts = [
        "The virus spreads fast. The virus binds ACE2 receptors.",
        "The virus is new.",
        "The virus mutates.",
    ]
    question = "Which receptors does the virus bind?"
    # equal cosines: the first sentence read wins without the lexical part
    plain = SentenceReader(SameVector()).read(question, [0, 1], texts)
    assert plain.text == "The virus spreads fast." and plain.score == pytest.approx(1.0)
    answer = SentenceReader(SameVector(), lexical_weight=1.0).read(question, [0, 1], texts)
    assert answer.text == "The virus binds ACE2 receptors."
    # "the" and "virus" are in every passage (IDF 0); "receptors" is in one of 3 passages and
    # "bind" (not "binds"), "which", "does" in none: each weighs ln 3, and the sentence holds
    # 1 of those 4 weights -> coverage 1/4, score (1 + 1/4) / 2
    assert answer.score == pytest.approx(0.625)


def test_without_question_words_in_the_corpus_the_cosine_decides():
    texts = ["Fever falls.", "Cough persists."]
    reader = SentenceReader(SameVector(), lexical_weight=2.0)
    answer = reader.read("zzz?", [1, 0], texts)
    assert answer.text == "Cough persists." and answer.score == pytest.approx(1.0 / 3.0)
