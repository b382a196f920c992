"""Retrievers: BM25 libraries."""

import pytest

from medlab.rag.retrieval import BM25S, RankBM25
from rag.rag_samples import DOCS


@pytest.mark.parametrize("retriever", [RankBM25, BM25S])
def test_bm25_finds_the_matching_document(retriever):
    index = retriever(list(DOCS.values()))
    results = index.search(["insulin injections for diabetes", "immune system vaccines"], k=2)
    assert results[0][0][0] == 1 and results[1][0][0] == 2
