"""Experiment 3 targets, measured on COVID-QA with the pipeline's code:

- test recall@5 of bm25, dense (off-the-shelf MiniLM), hybrid (RRF and weighted) and the
  fine-tuned dense retriever; hybrid >= best single retriever, fine-tuned >= off-the-shelf;
- the reader fine-tuned on the train questions: EM / F1 on test with the gold passage and
  end to end (top-5 hybrid passages);
- confidence of end-to-end answers: test AUROC for correctness (F1 >= the pipeline's
  ``rag.evaluation.correct_f1``) and ECE before / after Platt scaling fitted on dev answers;
- BM25 build and query latency, rank-bm25 vs bm25s; dense query latency FAISS vs numpy
  brute force (same embeddings) — side by side in one run;
- synthetic QA from the training documents (medlab.rag.synthetic): the reader trained on
  gold only / synthetic only / synthetic -> gold (test EM and F1 with the gold passage,
  end-to-end F1 at top 5 of the best hybrid, of BM25 and of weighted fusion), and a learning
  curve of dev F1 against the number of synthetic questions; with it, how often each
  ranking's top 5 holds the passage of the answer (the most an extractive reader can find).

    python bench/rag_targets.py [--parts retrieval reader synthetic] [--reader-epochs 2] [--reader-lr 1e-4] [--retriever-epochs 1] [--threads 1]
        [--synthetic-per-passage 3] [--synthetic-max 2000] [--synthetic-epochs 1] [--synthetic-curve 500 1000 2000]
        [--retriever-synthetic] [--rank-priors 0.5 1 2] [--aggregate-answers] [--score-saved] [--quick]

Prints a table and writes bench/out/rag_<part>.md (and .tsv) per part (the synthetic part
after every reader it trains; with --settings, rag_synthetic_<settings>.md): retrieval
(recall, fusion, fine-tuned retriever, latencies), reader and synthetic. Each reader of
the synthetic part is also scored sentence-guided as the default preset reads (config.yaml's
rag.reader: sentence_guide, sentence_lexical_weight, aggregate_answers, sentence_fallback) and saved to
bench/out/readers/<part>_<setting>/, so other decodings can be measured without training
it again: ``--score-saved`` loads those readers instead of training them (the settings
line says so). The synthetic part's reader training saves its state after every epoch
(bench/out/readers/<part>_<setting>.checkpoint.pt, <part>_curve_<n>.checkpoint.pt), and
every ``--checkpoint-every-steps`` steps inside an epoch: the same command run again after
a stop resumes each reader where it stopped. ``--rank-priors`` also scores each reader end to end with
rag.reader.rank_prior at each weight, with the dev F1 the weight is chosen on. COVID-QA comes from $MEDLAB_DATA_MIRROR (or ../shared/data). ``--quick`` checks
that everything runs (a few documents and questions, tiny budgets); its numbers mean
nothing, and its files end in ``_quick``.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from medlab.metrics import expected_calibration_error
from medlab.rag.answers import exact_match, token_f1
from medlab.rag.corpus import load_jsonl, load_squad
from medlab.rag.evaluate import confidence_auroc, platt_calibrate
from medlab.rag.extractive import ExtractiveReader
from medlab.rag.fusion import reciprocal_rank_fusion, tune_fusion_weight, weighted_score_fusion
from medlab.rag.passages import gold_passages, prepare_corpus
from medlab.rag.readers import load_sentence_reader
from medlab.rag.retrieval import BM25S, DenseFaiss, RankBM25, load_sentence_encoder
from medlab.rag.retriever_training import RetrieverTrainingSpec, retriever_pairs, train_retriever
from medlab.rag.synthetic import KINDS, synthesize
from medlab.rag.training import ReaderTrainingSpec, save_reader, train_reader

ROOT = Path(__file__).resolve().parents[1]
# training settings not set by an option come from config.yaml (the schema's defaults)
RAG_DEFAULTS = yaml.safe_load((ROOT / "config.yaml").read_text())["rag"]
OUT = ROOT / "bench" / "out"
ENCODER = "packaged:all-MiniLM-L6-v2"
CORRECT_F1 = RAG_DEFAULTS["evaluation"]["correct_f1"]
# the synthetic ablation's readers: option name -> (row label, trains on synthetic, gold epochs?)
SYNTHETIC_SETTINGS = {
    "gold": ("gold only", False, True),
    "synthetic": ("synthetic only", True, False),
    "synthetic-gold": ("synthetic -> gold", True, True),
}


# --quick: enough to run every part end to end in a couple of minutes on one CPU thread
QUICK = {
    "documents": 4,
    "questions_per_split": 6,
    "passage_size": 60,
    "overlap": 10,
    "reader_max_length": 96,
    "synthetic_max": 16,
    "synthetic_curve": [8],
}


def load(
    passage_size: int,
    overlap: int,
    max_documents: int | None = None,
    max_questions=None,
    corpus_name: str = "covid_qa",
):
    """COVID-QA passages, questions per split (by document, as the pipeline splits) and the
    training documents; ``max_documents`` / ``max_questions`` (per split) cut it down."""
    mirror = Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))
    if corpus_name == "slice":  # the default preset's corpus and split
        corpus = load_jsonl(
            ROOT / RAG_DEFAULTS["corpus"]["documents"], ROOT / RAG_DEFAULTS["corpus"]["questions"]
        )
        fractions = RAG_DEFAULTS["split_fractions"]
    else:
        corpus, fractions = load_squad(mirror / "200423_covidQA.json"), (0.6, 0.2, 0.2)
    prepared = prepare_corpus(corpus, passage_size, overlap, fractions, 0, max_documents)
    by_split = {
        name: [q for q in prepared.questions if q.doc_id in set(ids)][:max_questions]
        for name, ids in prepared.splits.items()
    }
    return prepared.passages, by_split, prepared.splits["train"]


def by_split(rankings: list, split: dict) -> dict[str, list]:
    """Rankings of the test questions then the dev ones, as {"test": [...], "dev": [...]}."""
    n_test = len(split["test"])
    return {"test": rankings[:n_test], "dev": rankings[n_test:]}


def answer_passage_recall_at(rankings, questions, passages, k: int) -> float:
    """Share of ``questions`` with a passage holding the whole answer among the top ``k``:
    what an extractive reader of those passages can answer at best (a gold document in the
    top k does not say that; the answer's own passage may be ranked lower)."""
    return float(
        np.mean(
            [
                bool(set(gold_passages(q, passages)) & {i for i, _ in r[:k]})
                for r, q in zip(rankings, questions)
            ]
        )
    )


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


def file_name_part(text: str) -> str:
    """argparse type: letters, digits, '.', '_' and '-' only (it becomes part of file names)."""
    if not re.fullmatch(r"[A-Za-z0-9._-]*", text):
        raise argparse.ArgumentTypeError(f"{text!r}: use letters, digits, '.', '_' and '-'")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reader-epochs", type=int, default=2)
    parser.add_argument("--retriever-epochs", type=int, default=1)
    parser.add_argument("--reader-lr", type=float, default=1e-4)
    parser.add_argument("--passage-size", type=int, default=200)
    parser.add_argument("--overlap", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--corpus",
        choices=["covid_qa", "slice"],
        default="covid_qa",
        help="covid_qa: the full download (split 0.6/0.2/0.2); slice: the default preset's "
        "20-paper slice with its split (set --passage-size 100 --overlap 25 "
        "--reader-max-length 192 to match the default preset)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["retrieval", "reader", "synthetic"],
        default=["retrieval", "reader", "synthetic"],
    )
    parser.add_argument("--reader-max-length", type=int, default=384)
    parser.add_argument("--synthetic-per-passage", type=int, default=3)
    parser.add_argument("--synthetic-max", type=int, default=2000)
    parser.add_argument("--synthetic-epochs", type=int, default=1)
    parser.add_argument(
        "--synthetic-kinds",
        nargs="+",
        choices=list(KINDS),
        default=list(KINDS),
        help="answer kinds of the synthetic questions (another choice is named in the output file)",
    )
    parser.add_argument(
        "--synthetic-curve",
        type=int,
        nargs="*",
        default=[500, 1000, 2000],
        help="synthetic question counts of the learning curve (none: no curve)",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=list(SYNTHETIC_SETTINGS),
        default=list(SYNTHETIC_SETTINGS),
        help="which readers of the synthetic ablation to train (several processes can share "
        "the work; each writes bench/out/rag_synthetic_<settings>.md)",
    )
    parser.add_argument(
        "--rank-priors",
        type=float,
        nargs="*",
        default=[],
        help="rag.reader.rank_prior weights to score each synthetic-part reader at, end to end "
        "(plain decoding; none: only the reader's 0)",
    )
    parser.add_argument(
        "--aggregate-answers",
        action="store_true",
        help="also score each synthetic-part reader end to end with rag.reader.aggregate_answers "
        "(at rank prior 0 and each of --rank-priors)",
    )
    parser.add_argument(
        "--score-saved",
        action="store_true",
        help="synthetic part: score the readers saved in bench/out/readers/ by an earlier run "
        "with the same options instead of training them (the curve is skipped)",
    )
    parser.add_argument(
        "--tag",
        type=file_name_part,
        default="",
        help="synthetic part: appended to its output and saved-reader names, so a run with "
        "other synthetic counts or epochs keeps its own files (and checkpoints)",
    )
    parser.add_argument(
        "--checkpoint-every-steps",
        type=int,
        default=50,
        help="synthetic part: also save a reader's training state every this many optimizer "
        "steps inside an epoch (a synthetic epoch of 3,000 questions takes about an hour on "
        "one core); it is saved after every epoch regardless",
    )
    parser.add_argument(
        "--retriever-synthetic",
        action="store_true",
        help="add the synthetic (question, passage) pairs to retriever fine-tuning",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few documents and tiny budgets: checks it runs"
    )
    args = parser.parse_args()
    if args.quick:
        args.reader_epochs = args.retriever_epochs = args.synthetic_epochs = 1
        args.reader_max_length = QUICK["reader_max_length"]
        args.passage_size, args.overlap = QUICK["passage_size"], QUICK["overlap"]
        args.synthetic_max = QUICK["synthetic_max"]
        args.synthetic_curve = QUICK["synthetic_curve"]
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    passages, split, train_documents = load(
        args.passage_size,
        args.overlap,
        QUICK["documents"] if args.quick else None,
        QUICK["questions_per_split"] if args.quick else None,
        args.corpus,
    )
    synthetic, _ = synthesize(
        passages,
        train_documents,
        args.synthetic_per_passage,
        args.synthetic_max,
        seed=0,
        kinds=args.synthetic_kinds,
    )
    texts = [p.text for p in passages]
    # rankings cover the test questions, then the dev ones (for Platt scaling on dev)
    queries = [q.question for q in split["test"] + split["dev"]]
    print(
        f"{len(passages)} passages; questions train/dev/test {[len(split[s]) for s in ('train', 'dev', 'test')]}",
        flush=True,
    )
    settings = (
        f"{'COVID-QA' if args.corpus == 'covid_qa' else 'COVID-QA slice (default preset)'}"
        f"{' --quick' if args.quick else ''}, passages {args.passage_size}/{args.overlap} "
        f"tokens, CPU {args.threads} thread(s), retriever epochs {args.retriever_epochs}"
        f"{' (+ synthetic pairs)' if args.retriever_synthetic else ''}, reader epochs "
        f"{args.reader_epochs}, {len(synthetic)} synthetic questions ({args.synthetic_per_passage} "
        f"per passage, at most {args.synthetic_max}, kinds {', '.join(args.synthetic_kinds)}), "
        f"synthetic epochs {args.synthetic_epochs}"
        f"{'; readers loaded from an earlier run (--score-saved)' if args.score_saved else ''}"
    )
    hybrid = None
    if "retrieval" in args.parts:
        rows, hybrid_name, hybrid, other_rankings = retrieval_part(
            passages, split, synthetic if args.retriever_synthetic else [], args, device
        )
        save(f"retrieval{quick_suffix(args)}", rows, settings)
    if {"reader", "synthetic"} & set(args.parts) and hybrid is None:
        # without the retrieval part: the RRF of BM25 and the off-the-shelf dense ranking,
        # and BM25 and weighted fusion (BM25 weight chosen on dev) as the other end-to-end rows
        hybrid_name = "hybrid_rrf"
        hybrid, other_rankings = fusions_without_retrieval_part(texts, queries, split, passages)
    if "reader" in args.parts:
        save(
            f"reader{quick_suffix(args)}",
            reader_part(passages, split, hybrid_name, hybrid, args, device),
            settings,
        )
    if "synthetic" in args.parts:
        synthetic_part(
            passages,
            split,
            train_documents,
            (hybrid_name, hybrid),
            other_rankings,
            args,
            device,
            settings,
        )


def fusions_without_retrieval_part(texts, queries, split, passages):
    """RRF of bm25s and the off-the-shelf dense ranking (by split), and {"bm25", "hybrid_weighted":
    rankings by split}, the weighted fusion's BM25 weight chosen on dev (gold-document MRR@10)."""
    bm25_index = BM25S(texts)
    dense_index = DenseFaiss(load_sentence_encoder(ENCODER), texts)
    bm25, dense = bm25_index.search(queries, 50), dense_index.search(queries, 50)
    fusion = tune_fusion_weight(
        split["dev"],
        {"bm25": bm25_index, "dense": dense_index},
        {"dense": "dense", "candidates": 50},
        [p.doc_id for p in passages],
    )
    weight = float(fusion.loc[fusion["chosen"], "bm25_weight"].iloc[0])
    print(f"weighted fusion: BM25 weight {weight:.1f} (dev MRR@10)", flush=True)
    rrf = [reciprocal_rank_fusion([b, d], 50) for b, d in zip(bm25, dense)]
    weighted = [
        weighted_score_fusion([b, d], [weight, 1 - weight], 50) for b, d in zip(bm25, dense)
    ]
    others = {"bm25": by_split(bm25, split), "hybrid_weighted": by_split(weighted, split)}
    return by_split(rrf, split), others


def quick_suffix(args) -> str:
    """``_quick`` for a --quick check, so it never overwrites a full run's files."""
    return "_quick" if args.quick else ""


def save(part: str, rows: list[dict], settings: str) -> None:
    table = pd.DataFrame(rows)
    print(table.to_string(index=False), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    table.to_csv(OUT / f"rag_{part}.tsv", sep="\t", index=False)
    (OUT / f"rag_{part}.md").write_text(
        f"# Experiment 3 targets: {part} ({settings})\n\n" + table.to_markdown(index=False) + "\n"
    )


def retrieval_part(passages, split, synthetic, args, device):
    """Recall@5 per retriever, dev-tuned fusion, fine-tuned retriever (on the train questions
    and the ``synthetic`` ones), BM25 and dense latencies; returns the rows, the best hybrid's
    name and rankings (what the reader parts read end to end) and {name: rankings} of BM25 and
    the other fusions without the fine-tuned retriever (read end to end too)."""
    texts, test = [p.text for p in passages], split["test"]
    # test questions first, then dev: recall is measured on test, the dev rankings feed the
    # reader's Platt scaling
    queries = [q.question for q in test + split["dev"]]
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
                "value": f"{recall_at(ranking[: len(test)], test, passages, 5):.3f}",
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
    pairs = retriever_pairs(split["train"] + synthetic, passages, BM25S(texts))
    _, tune_s = timed(
        lambda: train_retriever(
            tuned,
            pairs,
            RetrieverTrainingSpec(
                **{
                    **{
                        k: v
                        for k, v in RAG_DEFAULTS["retriever_training"].items()
                        if k not in ("enabled", "synthetic")
                    },
                    "epochs": args.retriever_epochs,
                }
            ),
            device,
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
    recalls = {name: recall_at(r[: len(test)], test, passages, 5) for name, r in rankings.items()}
    for name, value in recalls.items():
        rows.append(
            {"target": f"retrieval {name}", "metric": "test recall@5", "value": f"{value:.3f}"}
        )
    best_single = max(recalls["bm25"], recalls["dense"], recalls["dense_finetuned"])
    best_hybrid = max(v for k, v in recalls.items() if k.startswith("hybrid"))
    gain = best_hybrid - best_single
    rows.append(
        {
            "target": "hybrid ≥ best single + 0.01",
            "metric": "best hybrid − best single (test recall@5)",
            "value": f"{gain:+.3f} ({'met' if gain >= 0.01 - 1e-9 else 'NOT met'})",
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
    others = {
        name: by_split(rankings[name], split)
        for name in ("bm25", "hybrid_rrf", "hybrid_weighted")
        if name != best_hybrid_name
    }
    return rows, best_hybrid_name, by_split(rankings[best_hybrid_name], split), others


def reader_spec(args, epochs: int) -> ReaderTrainingSpec:
    settings = {**RAG_DEFAULTS["reader"]["training"], "batch_size": 16}
    return ReaderTrainingSpec(
        **{**settings, "epochs": epochs, "lr": args.reader_lr},
        max_length=args.reader_max_length,
        stride=args.reader_max_length // 3,
    )


def read_all(reader, questions, passage_lists, texts) -> pd.DataFrame:
    """One row per question with passages to read: f1, em, confidence, correct (the
    pipeline's rule: F1 >= rag.evaluation.correct_f1), no_answer."""
    rows = []
    for question, passage_ids in zip(questions, passage_lists):
        if not passage_ids:
            continue
        answer = reader.read(question.question, passage_ids, texts)
        golds = [a["text"] for a in question.answers]
        f1 = token_f1(answer.text, golds)
        rows.append(
            {
                "f1": f1,
                "em": exact_match(answer.text, golds),
                "confidence": answer.score,
                "correct": int(f1 >= CORRECT_F1),
                "no_answer": answer.passage < 0,
            }
        )
    return pd.DataFrame(rows)


def score_reader(reader, split, passages, hybrid_name: str, hybrid) -> dict[str, dict]:
    """Test EM / F1 with the gold passage and end to end (top 5 of ``hybrid``, a dict of
    test and dev rankings), with n; end to end also the confidence AUROC for correctness on
    test and the ECE before / after Platt scaling fitted on the dev answers."""
    texts = [p.text for p in passages]
    test = split["test"]
    gold = read_all(reader, test, [gold_passages(q, passages)[:1] for q in test], texts)
    top5 = {name: [[i for i, _ in r[:5]] for r in hybrid[name]] for name in ("test", "dev")}
    end_to_end = read_all(reader, test, top5["test"], texts)
    dev = read_all(reader, split["dev"], top5["dev"], texts)
    answered, dev_answered = end_to_end[~end_to_end["no_answer"]], dev[~dev["no_answer"]]
    calibrated, _ = platt_calibrate(
        dev_answered["confidence"].to_numpy(),
        dev_answered["correct"].to_numpy(),
        answered["confidence"].to_numpy(),
    )
    correct = answered["correct"].to_numpy()
    return {
        "gold passage": {"em": gold["em"].mean(), "f1": gold["f1"].mean(), "n": len(gold)},
        f"end to end, {hybrid_name} top-5": {
            "em": end_to_end["em"].mean(),
            "f1": end_to_end["f1"].mean(),
            "n": len(end_to_end),
            "auroc": confidence_auroc(correct, answered["confidence"].to_numpy())[0],
            "ece_raw": expected_calibration_error(correct, answered["confidence"].to_numpy()),
            "ece_platt": expected_calibration_error(correct, calibrated)
            if calibrated is not None
            else float("nan"),
            "correct_rate": correct.mean(),
            "dev_f1": dev["f1"].mean(),
            "dev_auroc": confidence_auroc(
                dev_answered["correct"].to_numpy(), dev_answered["confidence"].to_numpy()
            )[0],
        },
    }


def guided_rows(reader, setting: str, split, passages, hybrid_name: str, hybrid, device):
    """The same reader scored again as the default preset reads (config.yaml's rag.reader):
    the span read inside the retrieved sentence the packaged bi-encoder and the question's
    words match best (sentence_lexical_weight), aggregated answers as configured, the whole
    sentence below the configured sentence_fallback."""
    defaults = RAG_DEFAULTS["reader"]
    plain = (reader.aggregate_answers, reader.sentence_fallback)
    reader.sentence_guide = load_sentence_reader(
        ENCODER, device, {"batch_size": 32, "lexical_weight": defaults["sentence_lexical_weight"]}
    )
    reader.aggregate_answers = defaults["aggregate_answers"]
    reader.sentence_fallback = defaults["sentence_fallback"]
    reader.clear_cache()
    try:
        gold, end_to_end = score_reader(reader, split, passages, hybrid_name, hybrid).values()
    finally:
        reader.sentence_guide = None
        reader.aggregate_answers, reader.sentence_fallback = plain
        reader.clear_cache()
    guided = (
        f"sentence-guided (lexical weight {defaults['sentence_lexical_weight']}, "
        f"{'aggregated answers' if defaults['aggregate_answers'] else 'best span'}, "
        f"fallback {defaults['sentence_fallback']})"
    )
    return [
        {
            "target": f"reader, {setting}, {guided}",
            "metric": f"test EM / F1 gold passage; EM / F1 {hybrid_name} top-5 (dev F1)",
            "value": f"{gold['em']:.3f} / {gold['f1']:.3f}; {end_to_end['em']:.3f} / "
            f"{end_to_end['f1']:.3f} ({end_to_end['dev_f1']:.3f}) (n={gold['n']})",
        },
        *confidence_rows(f"{setting}, {guided}, end to end", end_to_end),
    ]


def end_to_end_rows(reader, setting: str, split, passages, name: str, rankings) -> list[dict]:
    """The reader end to end over the top 5 of another retriever's ``rankings``."""
    end_to_end = score_reader(reader, split, passages, name, rankings)[f"end to end, {name} top-5"]
    return [
        {
            "target": f"reader, {setting}",
            "metric": f"test EM / F1 {name} top-5 (dev F1)",
            "value": f"{end_to_end['em']:.3f} / {end_to_end['f1']:.3f} ({end_to_end['dev_f1']:.3f})",
        },
        *confidence_rows(f"{setting}, end to end over {name}", end_to_end),
    ]


def rank_prior_rows(
    reader, setting: str, split, passages, hybrid_name: str, hybrid, args, weights=None
):
    """The reader scored end to end at each rag.reader.rank_prior of ``weights`` (default
    ``--rank-priors``): test EM / F1 with the dev F1 a weight is chosen on, and the confidence
    targets."""
    rows = []
    try:
        for weight in args.rank_priors if weights is None else weights:
            reader.rank_prior = weight
            end_to_end = score_reader(reader, split, passages, hybrid_name, hybrid)[
                f"end to end, {hybrid_name} top-5"
            ]
            rows.append(
                {
                    "target": f"reader, {setting}, rank prior {weight:g}",
                    "metric": f"test EM / F1 {hybrid_name} top-5 (dev F1)",
                    "value": f"{end_to_end['em']:.3f} / {end_to_end['f1']:.3f} "
                    f"({end_to_end['dev_f1']:.3f})",
                }
            )
            rows += confidence_rows(
                f"{setting}, rank prior {weight:g}, end to end over {hybrid_name}", end_to_end
            )
    finally:
        reader.rank_prior = 0.0
    return rows


def aggregation_rows(reader, setting: str, split, passages, hybrid_name: str, hybrid, args):
    """With ``--aggregate-answers``: the reader scored end to end with
    rag.reader.aggregate_answers, at rank prior 0 and each of ``--rank-priors`` (guided
    reading, :func:`guided_rows`, aggregates as config.yaml says)."""
    if not args.aggregate_answers:
        return []
    reader.aggregate_answers = True
    setting = f"{setting}, aggregated answers"
    try:
        return rank_prior_rows(
            reader, setting, split, passages, hybrid_name, hybrid, args, [0.0, *args.rank_priors]
        )
    finally:
        reader.aggregate_answers = False


def confidence_rows(setting: str, scores: dict) -> list[dict]:
    """Rows for the confidence targets of an end-to-end score from :func:`score_reader`."""
    return [
        {
            "target": f"confidence ({setting})",
            "metric": f"test AUROC for correct (F1 >= {CORRECT_F1}) / ECE raw / ECE Platt on dev "
            "(dev AUROC)",
            "value": f"{scores['auroc']:.3f} / {scores['ece_raw']:.3f} / {scores['ece_platt']:.3f} "
            f"({scores['dev_auroc']:.3f}) (correct rate {scores['correct_rate']:.3f})",
        }
    ]


def reader_part(passages, split, hybrid_name: str, hybrid, args, device):
    """The reader fine-tuned on the train questions: test EM / F1 with the gold passage and end to end."""
    (reader, epochs), train_s = timed(
        lambda: train_reader(
            ENCODER,
            split["train"],
            split["dev"],
            passages,
            reader_spec(args, args.reader_epochs),
            device,
            {"batch_size": 32},
        )
    )
    print(epochs.to_string(), flush=True)
    scores = score_reader(reader, split, passages, hybrid_name, hybrid)
    rows = [
        {
            "target": f"reader ({setting})",
            "metric": "test EM / F1",
            "value": f"{s['em']:.3f} / {s['f1']:.3f} (n={s['n']}; trained {train_s:.0f} s)",
        }
        for setting, s in scores.items()
    ]
    end_to_end_setting, end_to_end = list(scores.items())[1]
    return rows + confidence_rows(f"gold only, {end_to_end_setting}", end_to_end)


def synthetic_part(
    passages, split, train_documents, named_hybrid, other_rankings, args, device, settings: str
):
    """Synthetic QA ablation (gold only / synthetic only / synthetic -> gold: test EM and F1
    with the gold passage, end-to-end F1 over ``named_hybrid`` = (name, rankings) and over each
    of ``other_rankings`` = {name: rankings}, there at each ``--rank-priors`` weight too) and
    the learning curve of dev F1 against the number of synthetic questions (synthetic -> gold,
    best dev epoch). First rows: how often each ranking's top 5 holds the answer's passage.
    The table is written after every block of rows, so a run stopped part way keeps what it
    measured."""
    hybrid_name, hybrid = named_hybrid

    def run(setting: str, synthetic, gold_epochs: int, checkpoint: Path):
        """Train one reader, resuming from ``checkpoint`` (saved after every epoch) when an
        earlier run of the same training was stopped; the file goes once training ends.
        Returns (reader, epoch log, training time as words)."""
        resuming = checkpoint.exists()  # (a checkpoint of another training is ignored)
        (reader, epochs), seconds = timed(
            lambda: train_reader(
                ENCODER,
                split["train"],
                split["dev"],
                passages,
                reader_spec(args, gold_epochs),
                device,
                {"batch_size": 32},
                synthetic,
                args.synthetic_epochs if synthetic else 0,
                checkpoint_path=checkpoint,
                checkpoint_every_steps=args.checkpoint_every_steps,
            )
        )
        checkpoint.unlink(missing_ok=True)
        print(f"{setting}:\n{epochs.to_string()}", flush=True)
        return reader, epochs, f"trained {seconds:.0f} s{' after a resume' if resuming else ''}"

    def questions(size: int):
        return synthesize(
            passages,
            train_documents,
            args.synthetic_per_passage,
            size,
            seed=0,
            kinds=args.synthetic_kinds,
        )[0]

    synthetic = questions(args.synthetic_max)
    rows = [
        {
            "target": f"answer passage in the top 5 ({name})",
            "metric": "test / dev share of questions",
            "value": " / ".join(
                f"{answer_passage_recall_at(rankings[s], split[s], passages, 5):.3f}"
                for s in ("test", "dev")
            ),
        }
        for name, rankings in {hybrid_name: hybrid, **other_rankings}.items()
    ]
    part_name = (
        ("slice_" if args.corpus == "slice" else "")
        + "synthetic"
        + ("" if args.settings == list(SYNTHETIC_SETTINGS) else "_" + "_".join(args.settings))
        + ("" if args.synthetic_kinds == list(KINDS) else "_" + "_".join(args.synthetic_kinds))
        + (f"_{args.tag}" if args.tag else "")
        + quick_suffix(args)
    )
    for key in args.settings:
        setting, uses_synthetic, uses_gold = SYNTHETIC_SETTINGS[key]
        synthetic_questions = synthetic if uses_synthetic else None
        gold_epochs = args.reader_epochs if uses_gold else 0
        saved = OUT / "readers" / f"{part_name}_{key}"
        if args.score_saved:
            spec = reader_spec(args, gold_epochs)  # decoded as train_reader built it
            reader = ExtractiveReader.from_pretrained(
                str(saved), device, max_length=spec.max_length, stride=spec.stride, batch_size=32
            )
            trained = "loaded"
        else:
            checkpoint = saved.with_name(f"{saved.name}.checkpoint.pt")
            reader, epochs, took = run(setting, synthetic_questions, gold_epochs, checkpoint)
            trained = f"best dev F1 {epochs['dev_f1'].max():.3f}; {took}"
            # saved before scoring: training removed its checkpoint, and scoring takes long
            save_reader(reader, saved)
        scores = score_reader(reader, split, passages, hybrid_name, hybrid)
        gold, end_to_end = scores.values()
        rows.append(
            {
                "target": f"reader, {setting}",
                "metric": f"test EM / F1 gold passage; EM / F1 {hybrid_name} top-5 (dev F1)",
                "value": f"{gold['em']:.3f} / {gold['f1']:.3f}; {end_to_end['em']:.3f} / "
                f"{end_to_end['f1']:.3f} ({end_to_end['dev_f1']:.3f}) (n={gold['n']}; "
                f"{len(synthetic_questions or [])} synthetic; {trained})",
            }
        )
        rows += confidence_rows(f"{setting}, end to end", end_to_end)
        save(part_name, rows, settings)
        # slowest last; a save after each block: a long run keeps what it measured
        rows += rank_prior_rows(reader, setting, split, passages, hybrid_name, hybrid, args)
        save(part_name, rows, settings)
        rows += aggregation_rows(reader, setting, split, passages, hybrid_name, hybrid, args)
        save(part_name, rows, settings)
        for name, rankings in other_rankings.items():
            rows += end_to_end_rows(reader, setting, split, passages, name, rankings)
            rows += rank_prior_rows(reader, setting, split, passages, name, rankings, args)
            save(part_name, rows, settings)
        rows += guided_rows(reader, setting, split, passages, hybrid_name, hybrid, device)
        save(part_name, rows, settings)
    for size in [] if args.score_saved else args.synthetic_curve:
        subset = questions(size)
        checkpoint = OUT / "readers" / f"{part_name}_curve_{size}.checkpoint.pt"
        _, epochs, took = run(f"curve, {size} synthetic", subset, args.reader_epochs, checkpoint)
        after_synthetic = epochs.loc[epochs["stage"] == "synthetic", "dev_f1"].iloc[-1]
        rows.append(
            {
                "target": f"learning curve, {len(subset)} synthetic questions",
                "metric": "dev F1 after synthetic stage / best dev F1 after gold",
                "value": f"{after_synthetic:.3f} / {epochs['dev_f1'].max():.3f} ({took})",
            }
        )
        save(part_name, rows, settings)
    return rows


if __name__ == "__main__":
    main()
