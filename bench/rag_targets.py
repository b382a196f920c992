"""Experiment 3 targets, measured on COVID-QA with the pipeline's code:

- test recall@5 of bm25, dense (off-the-shelf MiniLM), hybrid (RRF and weighted) and the
  fine-tuned dense retriever; hybrid >= best single retriever, fine-tuned >= off-the-shelf;
- the reader fine-tuned on the train questions: EM / F1 on test with the gold passage and
  end to end (top-5 hybrid passages);
- BM25 build and query latency, rank-bm25 vs bm25s; dense query latency FAISS vs numpy
  brute force (same embeddings) — side by side in one run.

    python bench/rag_targets.py [--reader-epochs 2] [--retriever-epochs 1] [--threads 1]

Prints a table and writes bench/out/rag_targets.md (and .tsv). COVID-QA comes from
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
from medlab.rag.passages import split_passages, split_questions_by_document
from medlab.rag.readers import ExtractiveReader
from medlab.rag.retrieval import BM25S, DenseFaiss, RankBM25, reciprocal_rank_fusion, weighted_score_fusion
from medlab.rag.stages import load_sentence_encoder
from medlab.rag.training import (ReaderTrainingSpec, RetrieverTrainingSpec, gold_passages, retriever_pairs, train_reader,
                                 train_retriever)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ENCODER = "packaged:all-MiniLM-L6-v2"


def load(passage_size: int, overlap: int):
    mirror = Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))
    corpus = load_squad(mirror / "200423_covidQA.json")
    splits = split_questions_by_document(sorted(corpus.documents), (0.6, 0.2, 0.2), seed=0)
    passages = [p for d in sorted(corpus.documents) for p in split_passages(d, corpus.documents[d], passage_size, overlap)]
    by_split = {name: [q for q in corpus.questions if q.doc_id in set(ids)] for name, ids in splits.items()}
    return passages, by_split


def recall_at(rankings, questions, passages, k: int) -> float:
    return float(np.mean([q.doc_id in {passages[i].doc_id for i, _ in r[:k]} for r, q in zip(rankings, questions)]))


def timed(function):
    began = time.perf_counter()
    value = function()
    return value, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader-epochs", type=int, default=2)
    parser.add_argument("--retriever-epochs", type=int, default=1)
    parser.add_argument("--passage-size", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    passages, split = load(args.passage_size, args.overlap)
    texts, test = [p.text for p in passages], split["test"]
    queries = [q.question for q in test]
    print(f"{len(passages)} passages; questions train/dev/test {[len(split[s]) for s in ('train', 'dev', 'test')]}", flush=True)
    rows = []

    # BM25: rank-bm25 vs bm25s, same tokenization, same passages and queries
    bm25_rankings = {}
    for name, cls in (("rank-bm25", RankBM25), ("bm25s", BM25S)):
        index, build_s = timed(lambda: cls(texts))
        ranking, query_s = timed(lambda: index.search(queries, 50))
        bm25_rankings[name] = ranking
        rows.append({"target": f"BM25 {name}", "metric": "build s / query ms per question", "value": f"{build_s:.2f} / {1000 * query_s / len(queries):.2f}"})
        rows.append({"target": f"BM25 {name}", "metric": "test recall@5", "value": f"{recall_at(ranking, test, passages, 5):.3f}"})
    bm25 = bm25_rankings["bm25s"]

    # dense: off-the-shelf MiniLM; FAISS flat vs numpy brute force on the same embeddings
    encoder = load_sentence_encoder(ENCODER)
    dense_index, encode_s = timed(lambda: DenseFaiss(encoder, texts))
    query_vectors = dense_index.encode(queries)
    _, faiss_s = timed(lambda: dense_index.index.search(query_vectors, 50))
    matrix = dense_index.index.reconstruct_n(0, dense_index.index.ntotal)
    _, numpy_s = timed(lambda: np.argsort(-(query_vectors @ matrix.T), axis=1)[:, :50])
    rows.append({"target": "dense index (MiniLM)", "metric": "encode passages s", "value": f"{encode_s:.1f}"})
    rows.append({"target": "dense query", "metric": "FAISS flat / numpy brute force, ms per question",
                 "value": f"{1000 * faiss_s / len(queries):.3f} / {1000 * numpy_s / len(queries):.3f}"})
    dense = dense_index.search(queries, 50)
    rrf = [reciprocal_rank_fusion([b, d], 50) for b, d in zip(bm25, dense)]
    weighted = [weighted_score_fusion([b, d], [0.5, 0.5], 50) for b, d in zip(bm25, dense)]
    recalls = {name: recall_at(r, test, passages, 5) for name, r in
               (("bm25", bm25), ("dense", dense), ("hybrid_rrf", rrf), ("hybrid_weighted", weighted))}

    # retriever fine-tuning on train questions (MNRL, BM25 hard negatives)
    tuned = load_sentence_encoder(ENCODER)
    pairs = retriever_pairs(split["train"], passages, BM25S(texts))
    log, tune_s = timed(lambda: train_retriever(tuned, pairs, RetrieverTrainingSpec(epochs=args.retriever_epochs), device))
    tuned_rankings = DenseFaiss(tuned, texts).search(queries, 50)
    recalls["dense_finetuned"] = recall_at(tuned_rankings, test, passages, 5)
    recalls["hybrid_rrf_finetuned"] = recall_at([reciprocal_rank_fusion([b, d], 50) for b, d in zip(bm25, tuned_rankings)], test, passages, 5)
    for name, value in recalls.items():
        rows.append({"target": f"retrieval {name}", "metric": "test recall@5", "value": f"{value:.3f}"})
    best_single = max(recalls["bm25"], recalls["dense"])
    best_hybrid = max(recalls["hybrid_rrf"], recalls["hybrid_weighted"])
    rows.append({"target": "hybrid ≥ best single", "metric": "best hybrid − best single", "value": f"{best_hybrid - best_single:+.3f} ({'met' if best_hybrid >= best_single else 'NOT met'})"})
    rows.append({"target": "fine-tuned ≥ off-the-shelf dense", "metric": "difference", "value": f"{recalls['dense_finetuned'] - recalls['dense']:+.3f} ({'met' if recalls['dense_finetuned'] >= recalls['dense'] else 'NOT met'}); {len(pairs)} pairs, {tune_s:.0f} s"})

    # reader fine-tuned on train questions; EM/F1 with the gold passage and end to end
    spec = ReaderTrainingSpec(epochs=args.reader_epochs, batch_size=16, lr=5e-5, max_length=384, stride=128)
    (reader, epochs), train_s = timed(lambda: train_reader(ENCODER, split["train"], split["dev"], passages, spec, device, {"batch_size": 32}))
    print(epochs.to_string(), flush=True)
    best_hybrid_rankings = rrf if recalls["hybrid_rrf"] >= recalls["hybrid_weighted"] else weighted
    for setting, passage_lists in (("gold passage", [gold_passages(q, passages)[:1] for q in test]),
                                   ("end to end, hybrid top-5", [[i for i, _ in r[:5]] for r in best_hybrid_rankings])):
        scored = [(q, p) for q, p in zip(test, passage_lists) if p]
        answers = [reader.read(q.question, p, texts).text for q, p in scored]
        golds = [[a["text"] for a in q.answers] for q, _ in scored]
        em = np.mean([exact_match(a, g) for a, g in zip(answers, golds)])
        f1 = np.mean([token_f1(a, g) for a, g in zip(answers, golds)])
        rows.append({"target": f"reader ({setting})", "metric": "test EM / F1", "value": f"{em:.3f} / {f1:.3f} (n={len(scored)}; trained {train_s:.0f} s)"})

    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / "rag_targets.tsv", sep="\t", index=False)
    header = (f"# Experiment 3 targets (COVID-QA, passages {args.passage_size}/{args.overlap} tokens, CPU {args.threads} thread(s), "
              f"reader epochs {args.reader_epochs}, retriever epochs {args.retriever_epochs})\n\n")
    (OUT / "rag_targets.md").write_text(header + table.to_markdown(index=False) + "\n")


if __name__ == "__main__":
    main()
