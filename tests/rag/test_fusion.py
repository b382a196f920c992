"""Reciprocal-rank and weighted score fusion; the fusion weight chosen on dev."""

import pytest

from medlab.rag.corpus import Question
from medlab.rag.fusion import reciprocal_rank_fusion, tune_fusion_weight, weighted_score_fusion


def test_fusion():
    a, b = [(0, 10.0), (1, 5.0), (2, 1.0)], [(2, 0.9), (0, 0.8), (3, 0.1)]
    assert [i for i, _ in reciprocal_rank_fusion([a, b], k=3)] == [0, 2, 1]
    assert weighted_score_fusion([a, b], [0.5, 0.5], k=1)[0][0] == 0


def test_fusion_weight_is_chosen_on_dev_questions():
    class Fixed:
        def __init__(self, rankings):
            self.rankings = rankings

        def search(self, queries, k):
            return [self.rankings[q][:k] for q in queries]

    # BM25 puts the gold document first, the dense ranking puts it last: fusion should lean on BM25
    bm25 = Fixed({"a?": [(0, 9.0), (1, 5.0), (2, 1.0)], "b?": [(1, 9.0), (2, 5.0), (0, 4.0)]})
    dense = Fixed({"a?": [(2, 0.9), (1, 0.8), (0, 0.1)], "b?": [(0, 0.9), (2, 0.8), (1, 0.5)]})
    dev = [Question("qa", "a?", "d0", []), Question("qb", "b?", "d1", [])]
    table = tune_fusion_weight(
        dev, {"bm25": bm25, "dense": dense}, {"dense": "dense", "candidates": 3}, ["d0", "d1", "d2"]
    )
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["dev_mrr@10"] == 1.0 and chosen["bm25_weight"] > 0.5
    assert table.loc[table["bm25_weight"] == 0.0, "dev_mrr@10"].iloc[0] < 1.0
    with pytest.raises(ValueError, match="dev split is empty"):
        tune_fusion_weight(
            [], {"bm25": bm25, "dense": dense}, {"dense": "dense", "candidates": 3}, ["d0"]
        )
