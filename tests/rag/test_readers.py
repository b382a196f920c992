"""The sentence reader."""

import numpy as np

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
