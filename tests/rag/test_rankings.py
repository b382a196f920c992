"""Query variants, cutoffs, gold-document ranking metrics."""

import pytest

from medlab.rag.rankings import (
    adaptive_cutoff,
    documents_from_passages,
    query_variant,
    retrieval_metrics,
)


def test_adaptive_cutoff():
    ranking = [(0, 1.0), (1, 0.95), (2, 0.5), (3, 0.45)]
    assert [i for i, _ in adaptive_cutoff(ranking, min_k=1, max_k=4, drop=0.3)] == [0, 1]


def test_retrieval_metrics_against_gold_documents():
    docs = ["d1", "d1", "d2", "d3"]
    runs = {
        "q1": documents_from_passages([(1, 3.0), (0, 2.0), (2, 1.0)], docs),
        "q2": documents_from_passages([(3, 1.0), (2, 0.5)], docs),
        "q3": {},
    }
    metrics = retrieval_metrics({"q1": "d1", "q2": "d2", "q3": "d3"}, runs, ("recall@1", "mrr@10"))
    assert metrics["recall@1"] == pytest.approx(1 / 3) and metrics["mrr@10"] == pytest.approx(
        (1 + 0.5 + 0) / 3
    )


def test_query_perturbations():
    assert query_variant("What is BM25?", "toggled_question_mark") == "What is BM25"
    assert query_variant("What is BM25", "toggled_question_mark") == "What is BM25?"
    assert query_variant("What is BM25?", "lowercased") == "what is bm25?"


def test_adaptive_cutoff_works_on_raw_cross_encoder_logits():
    # unbounded and all negative: a relative drop of raw scores is meaningless here
    logits = [(0, -1.0), (1, -1.2), (2, -6.0), (3, -6.5)]
    assert [i for i, _ in adaptive_cutoff(logits, min_k=1, max_k=4, drop=0.3)] == [0, 1]
    # the same ranking scaled and shifted keeps the same passages
    moved = [(i, 10 * s + 100) for i, s in logits]
    assert adaptive_cutoff(moved, 1, 4, 0.3) == moved[:2]
    mixed = [(0, 2.5), (1, -0.5), (2, -0.7)]
    assert [i for i, _ in adaptive_cutoff(mixed, min_k=1, max_k=3, drop=0.3)] == [0]
    equal = [(0, -3.0), (1, -3.0), (2, -3.0)]
    assert adaptive_cutoff(equal, min_k=1, max_k=2, drop=0.1) == equal[:2]
