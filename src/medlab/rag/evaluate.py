"""Retrieval metrics against gold documents (ranx), from passage rankings."""

from __future__ import annotations


def documents_from_passages(ranking: list[tuple[int, float]], passage_doc_ids: list[str]) -> dict[str, float]:
    """Document scores from a passage ranking: each document's best passage score.

    Ranks are preserved by adding a tiny decreasing offset so ties follow passage order.
    """
    documents: dict[str, float] = {}
    for rank, (index, score) in enumerate(ranking):
        doc_id = passage_doc_ids[index]
        if doc_id not in documents:
            documents[doc_id] = float(score) - rank * 1e-9
    return documents


def retrieval_metrics(gold: dict[str, str], runs: dict[str, dict[str, float]], metrics=("recall@5", "recall@10", "mrr@10", "ndcg@10")) -> dict[str, float]:
    """Mean metrics over questions. ``gold``: question id -> gold document id; ``runs``:
    question id -> {document id: score}. A question with no retrieved document scores 0."""
    from ranx import Qrels, Run, evaluate

    qrels = Qrels.from_dict({q: {d: 1} for q, d in gold.items()})
    # ranx needs every question in the run; an empty retrieval gets a sentinel that is never relevant
    run = Run.from_dict({q: (runs.get(q) or {"<none>": 0.0}) for q in gold})
    values = evaluate(qrels, run, list(metrics))
    return {m: float(values[m]) if len(metrics) > 1 else float(values) for m in metrics}
