"""Reciprocal-rank and weighted score fusion; the fusion weight chosen on dev."""

import pytest
from ranx import Run, fuse

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


def _ranx_fused(rankings_per_query, **fuse_options):
    """ranx.fuse over the same rankings, back in this package's form, ties to the lowest index."""
    runs = [
        Run(
            {
                f"q{q}": {str(i): s for i, s in rankings[which]}
                for q, rankings in enumerate(rankings_per_query)
            }
        )
        for which in range(2)
    ]
    fused = fuse(runs, **fuse_options).to_dict()
    return [
        sorted(((int(i), s) for i, s in fused[f"q{q}"].items()), key=lambda x: (-x[1], x[0]))
        for q in range(len(rankings_per_query))
    ]


# no tied scores within a ranking, and no ranking whose scores are all equal: the inputs on
# which ranx.fuse and this package agree (see the module docstring of medlab.rag.fusion)
TIE_FREE = [
    [[(0, 10.0), (1, 5.0), (2, 1.0)], [(2, 0.9), (0, 0.8), (3, 0.1)]],
    [[(4, 3.5), (0, 2.25), (7, 0.5), (1, 0.125)], [(7, 0.75), (5, 0.5), (4, 0.25)]],
]


def test_fusion_equals_ranx_fuse_without_ties():
    rrf = _ranx_fused(TIE_FREE, method="rrf", params={"k": 60})
    assert [reciprocal_rank_fusion(pair, k=10, constant=60) for pair in TIE_FREE] == rrf
    weighted = _ranx_fused(TIE_FREE, norm="min-max", method="wsum", params={"weights": [0.3, 0.7]})
    ours = [weighted_score_fusion(pair, [0.3, 0.7], k=10) for pair in TIE_FREE]
    assert [[i for i, _ in r] for r in ours] == [[i for i, _ in r] for r in weighted]
    for mine, theirs in zip(ours, weighted):
        assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], abs=1e-12)


def test_fusion_keeps_the_retrievers_order_on_ties():
    # BM25 often ties; RRF follows each retriever's own order instead of re-sorting by score
    tied = [(3, 1.0), (1, 1.0), (2, 0.5)]
    other = [(2, 0.9), (5, 0.1)]
    assert reciprocal_rank_fusion([tied, other], k=4, constant=60) == [
        (2, 1 / 63 + 1 / 61),
        (3, 1 / 61),
        (1, 1 / 62),
        (5, 1 / 62),
    ]
    # a ranking whose scores are all equal counts fully for each of its passages
    assert weighted_score_fusion([[(4, 2.0), (6, 2.0)], [(6, 0.5)]], [0.5, 0.5], k=2) == [
        (6, 1.0),
        (4, 0.5),
    ]
