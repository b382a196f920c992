"""Retrievers: BM25 libraries."""

import pytest

from medlab.rag.corpus import Question
from medlab.rag.passages import Passage
from medlab.rag.rankings import QUERY_VARIANTS, RANKING_COLUMNS, query_variant
from medlab.rag.retrieval import BM25S, RankBM25, rank_questions, retrieve_all
from rag.rag_samples import DOCS


@pytest.mark.parametrize("retriever", [RankBM25, BM25S])
def test_bm25_finds_the_matching_document(retriever):
    index = retriever(list(DOCS.values()))
    results = index.search(["insulin injections for diabetes", "immune system vaccines"], k=2)
    assert results[0][0][0] == 1 and results[1][0][0] == 2


class FixedRetriever:
    """Rankings fixed per query text, cut to k."""

    def __init__(self, rankings):
        self.rankings = rankings

    def search(self, queries, k):
        return [self.rankings.get(q, [])[:k] for q in queries]


class LengthCrossEncoder:
    """Raw logits, all negative: shorter passages score higher."""

    def predict(self, pairs, show_progress_bar=False):
        return [-float(len(passage)) for _, passage in pairs]


def test_every_registered_method_ranks_through_the_registry():
    bm25 = FixedRetriever({"q": [(0, 3.0), (1, 2.0), (2, 1.0)]})
    dense = FixedRetriever({"q": [(2, 0.9), (0, 0.5), (1, 0.1)]})
    hybrid = {"dense": "dense", "candidates": 3, "rrf_constant": 60, "bm25_weight": 0.5}
    rankings = retrieve_all(
        ["q"],
        {"bm25": bm25, "dense": dense},
        ["bm25", "dense", "hybrid_rrf", "hybrid_weighted", "hybrid_rerank"],
        depth=2,
        hybrid=hybrid,
        reranker=LengthCrossEncoder(),
        passage_texts=["a long passage", "mid passage", "short"],
    )
    assert rankings["bm25"] == [[(0, 3.0), (1, 2.0)]]
    assert [i for i, _ in rankings["hybrid_rrf"][0]] == [0, 2]
    assert rankings["hybrid_rerank"] == [[(2, -5.0), (1, -11.0)]]
    with pytest.raises(ValueError, match="unknown method 'sparse'"):
        retrieve_all(["q"], {"bm25": bm25}, ["sparse"], 2, hybrid)
    with pytest.raises(ValueError, match="needs the 'dense' index"):
        retrieve_all(["q"], {"bm25": bm25}, ["hybrid_rrf"], 2, hybrid)


def test_rank_questions_covers_every_variant_and_reports_the_fusion_weight():
    passages = [Passage(f"d{i}::0", f"d{i}", 0, 5, f"text{i}") for i in range(3)]
    questions = [
        Question("a", "Which one?", "d0", []),
        Question("b", "Other one?", "d1", []),
    ]
    ranking = [(0, 2.0), (1, 1.0), (2, 0.5)]
    retriever = FixedRetriever(
        {query_variant(q.question, v): ranking for q in questions for v in QUERY_VARIANTS}
    )
    hybrid = {"dense": "dense", "candidates": 3, "rrf_constant": 60, "bm25_weight": 0.3}
    frame, fusion = rank_questions(
        questions,
        ["dev", "test"],
        passages,
        {"bm25": retriever, "dense": retriever},
        ["bm25", "hybrid_weighted"],
        2,
        {**hybrid, "tune_weight": False},
    )
    assert list(frame.columns) == RANKING_COLUMNS
    assert len(frame) == 2 * len(QUERY_VARIANTS) * 2 * 2  # questions x variants x methods x depth
    assert fusion["bm25_weight"].tolist() == [0.3] and fusion["chosen"].all()
    _, tuned = rank_questions(
        questions,
        ["dev", "test"],
        passages,
        {"bm25": retriever, "dense": retriever},
        ["hybrid_weighted"],
        2,
        {**hybrid, "tune_weight": True},
    )
    assert len(tuned) == 11 and tuned["chosen"].sum() == 1
