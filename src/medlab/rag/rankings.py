"""Rankings: per-query lists of (passage index, score), their Parquet frame, query variants,
cutoff policies (top-k and adaptive) and gold-document ranking metrics (ranx).

Every retriever, fusion and re-ranker in this package produces rankings; readers and the
evaluation consume them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Ranking = list[tuple[int, float]]  # (passage index, score), best first
CutoffPolicy = Callable[[Ranking], Ranking]

QUERY_VARIANTS = ("original", "toggled_question_mark", "lowercased")
RANKING_COLUMNS = ["question_id", "variant", "method", "rank", "passage", "score"]


def query_variant(question: str, variant: str) -> str:
    """The query as asked, with its trailing '?' toggled, or lower-cased (perturbation tests).

    Raises:
        ValueError: for a variant not in QUERY_VARIANTS.
    """
    if variant == "original":
        return question
    if variant == "toggled_question_mark":
        stripped = question.rstrip()
        return stripped[:-1].rstrip() if stripped.endswith("?") else stripped + "?"
    if variant == "lowercased":
        return question.lower()
    raise ValueError(f"unknown query variant {variant!r}; expected one of {QUERY_VARIANTS}")


def rankings_frame(
    question_ids: list[str], variant: str, rankings: dict[str, list[Ranking]]
) -> pd.DataFrame:
    """One row per (question, method, rank); ``rankings``: method -> one ranking per question."""
    rows = [
        (qid, variant, method, rank, index, score)
        for method, per_query in rankings.items()
        for qid, ranking in zip(question_ids, per_query)
        for rank, (index, score) in enumerate(ranking, start=1)
    ]
    return pd.DataFrame(rows, columns=RANKING_COLUMNS)


def ranking_lists(frame: pd.DataFrame) -> dict[tuple[str, str, str], Ranking]:
    """(question id, variant, method) -> [(passage, score)] in rank order."""
    frame = frame.sort_values(["question_id", "variant", "method", "rank"])
    return {
        key: list(zip(part["passage"].tolist(), part["score"].tolist()))
        for key, part in frame.groupby(["question_id", "variant", "method"], sort=False)
    }


def min_max_normalised(scores: list[float]) -> list[float]:
    """Scores mapped linearly onto [0, 1] (best 1, worst 0); all 1.0 when they are all equal."""
    if not scores:
        return []
    values = np.asarray(scores, dtype=float)
    low, span = values.min(), values.max() - values.min()
    return [(score - low) / span if span > 0 else 1.0 for score in scores]


def adaptive_cutoff(ranking: Ranking, min_k: int, max_k: int, drop: float) -> Ranking:
    """Keep results until the relative score drop to the next one exceeds ``drop`` (between
    min_k and max_k results).

    The drop is measured on the scores min-max normalised over the whole ranking, so it
    means the same for BM25 scores, cosines, fusion scores and raw cross-encoder logits
    (unbounded, possibly all negative); a ranking of equal scores never drops.
    """
    normalised = min_max_normalised([score for _, score in ranking])
    kept = ranking[:min_k]
    for position in range(min_k, min(max_k, len(ranking))):
        previous, current = normalised[position - 1], normalised[position]
        if previous > 0 and (previous - current) / previous > drop:
            break
        kept.append(ranking[position])
    return kept


def cutoffs(top_k: list[int], adaptive: dict) -> dict[str, CutoffPolicy]:
    """Named truncation policies: 'top5', 'top10', ... and 'adaptive' (score drop-off)."""
    policies = {f"top{k}": (lambda ranking, k=k: ranking[:k]) for k in top_k}
    if adaptive["enabled"]:
        policies["adaptive"] = lambda ranking: adaptive_cutoff(
            ranking, adaptive["min_k"], adaptive["max_k"], adaptive["drop"]
        )
    return policies


def documents_from_passages(ranking: Ranking, passage_doc_ids: list[str]) -> dict[str, float]:
    """Document scores from a passage ranking: each document's best passage score.

    Ranks are preserved by adding a tiny decreasing offset so ties follow passage order.
    """
    documents: dict[str, float] = {}
    for rank, (index, score) in enumerate(ranking):
        doc_id = passage_doc_ids[index]
        if doc_id not in documents:
            documents[doc_id] = float(score) - rank * 1e-9
    return documents


def retrieval_metrics(
    gold: dict[str, str],
    runs: dict[str, dict[str, float]],
    metrics=("recall@5", "recall@10", "mrr@10", "ndcg@10"),
) -> dict[str, float]:
    """Mean metrics over questions. ``gold``: question id -> gold document id; ``runs``:
    question id -> {document id: score}. A question with no retrieved document scores 0."""
    # ranx pulls in numba (seconds to import); the workflow imports the retriever and reader
    # registries of this package while parsing its rules, where no metric is computed
    from ranx import Qrels, Run, evaluate

    qrels = Qrels.from_dict({q: {d: 1} for q, d in gold.items()})
    # ranx needs every question in the run; an empty retrieval gets a sentinel that is never relevant
    run = Run.from_dict({q: (runs.get(q) or {"<none>": 0.0}) for q in gold})
    values = evaluate(qrels, run, list(metrics))
    return {m: float(values[m]) if len(metrics) > 1 else float(values) for m in metrics}
