"""Fusion of a BM25 and a dense ranking: reciprocal-rank and weighted score fusion, and the
BM25 weight of weighted fusion chosen on dev questions.

Both fusions are written here rather than taken from ``ranx.fuse``: ranx re-sorts every
input run by score, so passages with tied scores (frequent in BM25) lose the retriever's
order and get other RRF ranks; its min-max normalisation maps a ranking whose scores are
all equal to 0 where this one gives 1; and it keys documents by strings, so fused passage
indices and the tie order (lowest index first) would have to be rebuilt afterwards. On
rankings without ties the results are the same (tests/rag/test_fusion.py checks that).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from medlab.rag.corpus import Question
from medlab.rag.rankings import (
    Ranking,
    documents_from_passages,
    min_max_normalised,
    retrieval_metrics,
)

log = logging.getLogger(__name__)

FUSION_WEIGHT_GRID = np.round(np.linspace(0, 1, 11), 2)


def reciprocal_rank_fusion(rankings: list[Ranking], k: int, constant: int = 60) -> Ranking:
    """RRF (Cormack et al. 2009): score = sum over rankings of 1 / (constant + rank)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (index, _) in enumerate(ranking, start=1):
            fused[index] = fused.get(index, 0.0) + 1.0 / (constant + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]


def weighted_score_fusion(rankings: list[Ranking], weights: list[float], k: int) -> Ranking:
    """Min-max normalise each ranking's scores to [0, 1], then a weighted sum (missing = 0)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        normalised = min_max_normalised([score for _, score in ranking])
        for (index, _), value in zip(ranking, normalised):
            fused[index] = fused.get(index, 0.0) + weight * value
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]


def tune_fusion_weight(
    dev: list[Question], retrievers: dict, hybrid: dict, passage_doc_ids: list[str]
) -> pd.DataFrame:
    """BM25 weight of weighted score fusion chosen on dev questions (grid 0, 0.1, ..., 1; best
    gold-document MRR@10, ties to the weight nearest 0.5), so the test questions never influence it.

    ``retrievers`` maps ``bm25`` and ``hybrid['dense']`` to objects with ``search``. Returns
    one row per weight: bm25_weight, dev_mrr@10, chosen.

    Raises:
        ValueError: when there is no dev question.
    """
    if not dev:
        raise ValueError(
            "rag.hybrid.tune_weight needs dev questions; the dev split is empty (rag.split_fractions)"
        )
    queries = [q.question for q in dev]
    bm25 = retrievers["bm25"].search(queries, hybrid["candidates"])
    dense = retrievers[hybrid["dense"]].search(queries, hybrid["candidates"])
    gold = {q.id: q.doc_id for q in dev}
    rows = []
    for weight in FUSION_WEIGHT_GRID:
        fused = [
            weighted_score_fusion([b, d], [weight, 1 - weight], 10) for b, d in zip(bm25, dense)
        ]
        runs = {q.id: documents_from_passages(r, passage_doc_ids) for q, r in zip(dev, fused)}
        rows.append(
            {
                "bm25_weight": float(weight),
                "dev_mrr@10": retrieval_metrics(gold, runs, ("mrr@10",))["mrr@10"],
            }
        )
    frame = pd.DataFrame(rows)
    best = frame["dev_mrr@10"].max()
    candidates = frame[frame["dev_mrr@10"] >= best - 1e-12]
    chosen = (candidates["bm25_weight"] - 0.5).abs().idxmin()
    frame["chosen"] = frame.index == chosen
    log.info(
        "fusion weight chosen on %d dev questions: bm25 %.1f (dev MRR@10 %.3f)",
        len(dev),
        frame.loc[chosen, "bm25_weight"],
        best,
    )
    return frame


def fixed_fusion_weight(bm25_weight: float) -> pd.DataFrame:
    """The fusion-weight table when the weight comes from the config (no tuning)."""
    return pd.DataFrame(
        {
            "bm25_weight": [bm25_weight],
            "dev_mrr@10": [float("nan")],
            "chosen": [True],
            "dev_mrr@10_note": ["weight fixed in the config (rag.hybrid.tune_weight: false)"],
        }
    )


def chosen_weight(table: pd.DataFrame) -> float:
    """The BM25 weight marked ``chosen`` in a fusion-weight table."""
    return float(table.loc[table["chosen"], "bm25_weight"].iloc[0])
