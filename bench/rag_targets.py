"""Experiment 3 targets, measured on COVID-QA with the pipeline's code:

- test recall@5 of bm25, dense (off-the-shelf MiniLM), hybrid (RRF and weighted) and the
  fine-tuned dense retriever; hybrid >= best single retriever, fine-tuned >= off-the-shelf;
- the reader fine-tuned on the train questions: EM / F1 on test with the gold passage and
  end to end (top-5 hybrid passages);
- BM25 build and query latency, rank-bm25 vs bm25s; dense query latency FAISS vs numpy
  brute force (same embeddings) — side by side in one run.

    python bench/rag_targets.py [--parts retrieval reader] [--reader-epochs 2] [--reader-lr 1e-4] [--retriever-epochs 1] [--threads 1]

Prints a table and writes bench/out/rag_<part>.md (and .tsv) per part: retrieval
(recall, fusion, fine-tuned retriever, latencies) and reader. COVID-QA comes from
$MEDLAB_DATA_MIRROR (or ../shared/data).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medlab.rag.answers import exact_match, token_f1
from medlab.rag.corpus import load_squad
from medlab.rag.fusion import reciprocal_rank_fusion, tune_fusion_weight, weighted_score_fusion
from medlab.rag.passages import gold_passages, split_passages, split_questions_by_document
from medlab.rag.retrieval import BM25S, DenseFaiss, RankBM25, load_sentence_encoder
from medlab.rag.training import (
    ReaderTrainingSpec,
    RetrieverTrainingSpec,
    retriever_pairs,
    train_reader,
    train_retriever,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ENCODER = "packaged:all-MiniLM-L6-v2"


def load(passage_size: int, overlap: int):
    mirror = Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))
    corpus = load_squad(mirror / "200423_covidQA.json")
    splits = split_questions_by_document(sorted(corpus.documents), (0.6, 0.2, 0.2), seed=0)
    passages = [
        p
        for d in sorted(corpus.documents)
        for p in split_passages(d, corpus.documents[d], passage_size, overlap)
    ]
    by_split = {
        name: [q for q in corpus.questions if q.doc_id in set(ids)] for name, ids in splits.items()
    }
    return passages, by_split


def recall_at(rankings, questions, passages, k: int) -> float:
    return float(
        np.mean(
            [
                q.doc_id in {passages[i].doc_id for i, _ in r[:k]}
                for r, q in zip(rankings, questions)
            ]
        )
    )


def timed(function):
    began = time.perf_counter()
    value = function()
    return value, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader-epochs", type=int, default=2)
    parser.add_argument("--retriever-epochs", type=int, default=1)
    parser.add_argument("--reader-lr", type=float, default=1e-4)
    parser.add_argument("--passage-size", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--parts", nargs="+", choices=["retrieval", "reader"], default=["retrieval", "reader"]
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    passages, split = load(args.passage_size, args.overlap)
    texts, test = [p.text for p in passages], split["test"]
    queries = [q.question for q in test]
    print(
        f"{len(passages)} passages; questions train/dev/test {[len(split[s]) for s in ('train', 'dev', 'test')]}",
        flush=True,
    )
    settings = (
        f"COVID-QA, passages {args.passage_size}/{args.overlap} tokens, CPU {args.threads} thread(s), "
        f"retriever epochs {args.retriever_epochs}, reader epochs {args.reader_epochs}"
    )
    hybrid = None
    if "retrieval" in args.parts:
        rows, hybrid_name, hybrid = retrieval_part(passages, split, args, device)
        save("retrieval", rows, settings)
    if "reader" in args.parts:
        if hybrid is None:  # reader only: the RRF of BM25 and the off-the-shelf dense ranking
            bm25, dense = (
                BM25S(texts).search(queries, 50),
                DenseFaiss(load_sentence_encoder(ENCODER), texts).search(queries, 50),
            )
            hybrid_name, hybrid = (
                "hybrid_rrf",
                [reciprocal_rank_fusion([b, d], 50) for b, d in zip(bm25, dense)],
            )
        save("reader", reader_part(passages, split, hybrid_name, hybrid, args, device), settings)


def save(part: str, rows: list[dict], settings: str) -> None:
    table = pd.DataFrame(rows)
    print(table.to_string(index=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / f"rag_{part}.tsv", sep="\t", index=False)
    (OUT / f"rag_{part}.md").write_text(
        f"# Experiment 3 targets: {part} ({settings})\n\n" + table.to_markdown(index=False) + "\n"
    )


def retrieval_part(passages, split, args, device):
    """Recall@5 per retriever, dev-tuned fusion, fine-tuned retriever, BM25 and dense latencies; returns the
    rows and the best hybrid ranking of the test questions (what the reader part reads end to end)."""
    texts, test = [p.text for p in passages], split["test"]
    queries = [q.question for q in test]
    rows = []
    # BM25: rank-bm25 vs bm25s, same tokenization, same passages and queries
    bm25_rankings = {}
    for name, cls in (("rank-bm25", RankBM25), ("bm25s", BM25S)):
        index, build_s = timed(lambda cls=cls: cls(texts))
        ranking, query_s = timed(lambda index=index: index.search(queries, 50))
        bm25_rankings[name] = ranking
        if name == "bm25s":
            bm25_index = index
        rows.append(
            {
                "target": f"BM25 {name}",
                "metric": "build s / query ms per question",
                "value": f"{build_s:.2f} / {1000 * query_s / len(queries):.2f}",
            }
        )
        rows.append(
            {
                "target": f"BM25 {name}",
                "metric": "test recall@5",
                "value": f"{recall_at(ranking, test, passages, 5):.3f}",
            }
        )
    bm25 = bm25_rankings["bm25s"]

    # dense: off-the-shelf MiniLM; FAISS flat vs numpy brute force on the same embeddings
    encoder = load_sentence_encoder(ENCODER)
    dense_index, encode_s = timed(lambda: DenseFaiss(encoder, texts))
    query_vectors = dense_index.encode(queries)
    _, faiss_s = timed(lambda: dense_index.index.search(query_vectors, 50))
    matrix = dense_index.index.reconstruct_n(0, dense_index.index.ntotal)
    _, numpy_s = timed(lambda: np.argsort(-(query_vectors @ matrix.T), axis=1)[:, :50])
    rows.append(
        {
            "target": "dense index (MiniLM)",
            "metric": "encode passages s",
            "value": f"{encode_s:.1f}",
        }
    )
    rows.append(
        {
            "target": "dense query",
            "metric": "FAISS flat / numpy brute force, ms per question",
            "value": f"{1000 * faiss_s / len(queries):.3f} / {1000 * numpy_s / len(queries):.3f}",
        }
    )
    dense = dense_index.search(queries, 50)
    rankings = {"bm25": bm25, "dense": dense}
    dense_indexes = {"dense": dense_index}

    # retriever fine-tuning on train questions (MNRL, BM25 hard negatives)
    tuned = load_sentence_encoder(ENCODER)
    pairs = retriever_pairs(split["train"], passages, BM25S(texts))
    _, tune_s = timed(
        lambda: train_retriever(
            tuned, pairs, RetrieverTrainingSpec(epochs=args.retriever_epochs), device
        )
    )
    dense_indexes["dense_finetuned"] = DenseFaiss(tuned, texts)
    rankings["dense_finetuned"] = dense_indexes["dense_finetuned"].search(queries, 50)

    # fusion with each dense ranking: RRF, and weighted fusion with BM25's weight chosen on dev
    for name, index in dense_indexes.items():
        suffix = "" if name == "dense" else "_finetuned"
        rankings[f"hybrid_rrf{suffix}"] = [
            reciprocal_rank_fusion([b, d], 50) for b, d in zip(bm25, rankings[name])
        ]
        fusion = tune_fusion_weight(
            split["dev"],
            {"bm25": bm25_index, name: index},
            {"dense": name, "candidates": 50},
            [p.doc_id for p in passages],
        )
        weight = float(fusion.loc[fusion["chosen"], "bm25_weight"].iloc[0])
        rows.append(
            {
                "target": f"weighted fusion with {name}",
                "metric": "BM25 weight chosen on dev (MRR@10)",
                "value": f"{weight:.1f}",
            }
        )
        rankings[f"hybrid_weighted{suffix}"] = [
            weighted_score_fusion([b, d], [weight, 1 - weight], 50)
            for b, d in zip(bm25, rankings[name])
        ]
    recalls = {name: recall_at(r, test, passages, 5) for name, r in rankings.items()}
    for name, value in recalls.items():
        rows.append(
            {"target": f"retrieval {name}", "metric": "test recall@5", "value": f"{value:.3f}"}
        )
    best_single = max(recalls["bm25"], recalls["dense"], recalls["dense_finetuned"])
    best_hybrid = max(v for k, v in recalls.items() if k.startswith("hybrid"))
    rows.append(
        {
            "target": "hybrid ≥ best single",
            "metric": "best hybrid − best single",
            "value": f"{best_hybrid - best_single:+.3f} ({'met' if best_hybrid >= best_single else 'NOT met'})",
        }
    )
    rows.append(
        {
            "target": "fine-tuned ≥ off-the-shelf dense",
            "metric": "difference",
            "value": f"{recalls['dense_finetuned'] - recalls['dense']:+.3f} ({'met' if recalls['dense_finetuned'] >= recalls['dense'] else 'NOT met'}); {len(pairs)} pairs, {tune_s:.0f} s",
        }
    )

    best_hybrid_name = max((k for k in recalls if k.startswith("hybrid")), key=recalls.get)
    return rows, best_hybrid_name, rankings[best_hybrid_name]


def reader_part(passages, split, hybrid_name: str, hybrid, args, device):
    """The reader fine-tuned on the train questions: test EM / F1 with the gold passage and end to end."""
    texts, test = [p.text for p in passages], split["test"]
    rows = []
    spec = ReaderTrainingSpec(
        epochs=args.reader_epochs, batch_size=16, lr=args.reader_lr, max_length=384, stride=128
    )
    (reader, epochs), train_s = timed(
        lambda: train_reader(
            ENCODER, split["train"], split["dev"], passages, spec, device, {"batch_size": 32}
        )
    )
    print(epochs.to_string(), flush=True)
    for setting, passage_lists in (
        ("gold passage", [gold_passages(q, passages)[:1] for q in test]),
        (f"end to end, {hybrid_name} top-5", [[i for i, _ in r[:5]] for r in hybrid]),
    ):
        scored = [(q, p) for q, p in zip(test, passage_lists) if p]
        answers = [reader.read(q.question, p, texts).text for q, p in scored]
        golds = [[a["text"] for a in q.answers] for q, _ in scored]
        em = np.mean([exact_match(a, g) for a, g in zip(answers, golds)])
        f1 = np.mean([token_f1(a, g) for a, g in zip(answers, golds)])
        rows.append(
            {
                "target": f"reader ({setting})",
                "metric": "test EM / F1",
                "value": f"{em:.3f} / {f1:.3f} (n={len(scored)}; trained {train_s:.0f} s)",
            }
        )

    return rows


if __name__ == "__main__":
    main()
