"""Re-read a finished default-preset run with other sentence-guided decodings, dev and test.

The reader a pipeline run fine-tuned (results/rag/<corpus>/reader/model) reads the dev and
test questions from the gold passage and from the top-k passages of each retrieval method
(results/rag/<corpus>/rankings.parquet), guided by the sentence encoder at each
rag.reader.sentence_lexical_weight, with aggregated answers (and with --single-span also the
single best span), at each rag.reader.sentence_fallback value. The table gives
F1 and exact match per split and method, the share of readings the whole sentence answered,
and the mean end-to-end dev F1 each decoding's fallback is chosen on (the test columns
report, they do not choose).

    python bench/rag_decoding.py [--results results] [--corpus covid_qa_slice] [--top-k 5]
        [--lexical-weights 0 0.5 1 2 4] [--fallbacks 0 0.5 0.6 0.65 0.7 0.8 1]
        [--single-span] [--threads 1]

Prints the table and writes bench/out/rag_decoding.md. Span logits are computed once per
(question, passage) and reused by every decoding, so each extra setting costs seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medlab.rag.answers import exact_match, token_f1
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages
from medlab.rag.readers import load_extractive_reader
from medlab.rag.reading import read_answers

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
METHODS = ("bm25", "dense", "hybrid_rrf")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--corpus", default="covid_qa_slice")
    parser.add_argument("--encoder", default="packaged:all-MiniLM-L6-v2", help="the sentence guide")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=192, help="rag.reader.max_length")
    parser.add_argument("--stride", type=int, default=64, help="rag.reader.stride")
    parser.add_argument(
        "--fallbacks",
        type=float,
        nargs="+",
        default=[0, 0.5, 0.6, 0.65, 0.7, 0.8, 1.0],
        help="rag.reader.sentence_fallback values (0: always the span; 1: the sentence "
        "unless every candidate agrees)",
    )
    parser.add_argument(
        "--lexical-weights",
        type=float,
        nargs="+",
        default=[0, 0.5, 1, 2, 4],
        help="rag.reader.sentence_lexical_weight values of the guide (0: the cosine alone)",
    )
    parser.add_argument(
        "--single-span",
        action="store_true",
        help="also decode with the single best span (rag.reader.aggregate_answers: false)",
    )
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args()


def score(reader, questions, splits, passages, rankings, top_k: int) -> pd.DataFrame:
    """F1, exact match and whether the guide's whole sentence answered, per reading.

    Read by the pipeline's own :func:`~medlab.rag.reading.read_answers` (gold passage, and the
    top ``top_k`` of each method; no query perturbations); a gold reading without a passage
    (the answer straddles passages) is left out, as the evaluation leaves it unanswered.
    """
    policies = {f"top{top_k}": lambda ranking: ranking[:top_k]}
    answers = read_answers(
        reader, questions, splits, passages, rankings, list(METHODS), policies, focus=("", "")
    )
    answers = answers[answers["k_used"] > 0]
    golds = {q.id: [answer["text"] for answer in q.answers] for q in questions}
    questions_by_id = {q.id: q.question for q in questions}
    texts = [passage.text for passage in passages]

    def whole_sentence(row) -> bool:
        read = [int(index) for index in row["passages"].split()]
        sentence = reader.sentence_guide.read(questions_by_id[row["question_id"]], read, texts)
        return row["answer"] == sentence.text and row["source_passage"] == sentence.passage

    return pd.DataFrame(
        {
            "split": answers["split"],
            "method": answers["method"],
            "f1": [
                token_f1(a, golds[q]) for a, q in zip(answers["answer"], answers["question_id"])
            ],
            "em": [
                exact_match(a, golds[q]) for a, q in zip(answers["answer"], answers["question_id"])
            ],
            "sentence": [whole_sentence(row) for _, row in answers.iterrows()],
        }
    )


def summary_row(decoding: str, weight: float, fallback: float, frame: pd.DataFrame) -> dict:
    row = {"decoding": decoding, "sentence_lexical_weight": weight, "sentence_fallback": fallback}
    end_to_end = frame[frame["method"] != "gold_passage"]
    row["dev mean F1 (end to end)"] = end_to_end[end_to_end["split"] == "dev"]["f1"].mean()
    row["sentence share"] = frame["sentence"].mean()
    for split in ("dev", "test"):
        for method in ("gold_passage", *METHODS):
            chosen = frame[(frame["split"] == split) & (frame["method"] == method)]
            row[f"{split} {method} F1 (EM)"] = (
                f"{chosen['f1'].mean():.3f} ({chosen['em'].mean():.3f})"
            )
    return row


def main() -> None:
    args = arguments()
    torch.set_num_threads(args.threads)
    run = args.results / "rag" / args.corpus
    questions, splits = read_questions(run / "questions.jsonl", splits={"dev", "test"})
    passages = read_passages(run / "passages.jsonl")
    rankings = pd.read_parquet(run / "rankings.parquet")
    options = {
        "max_length": args.max_length,
        "stride": args.stride,
        "batch_size": 16,
        "sentence_guide": args.encoder,
    }
    reader = load_extractive_reader(str(run / "reader" / "model"), torch.device("cpu"), options)
    guide = reader.sentence_guide
    started = time.perf_counter()
    table = []
    for aggregate in (True, False) if args.single_span else (True,):
        reader.aggregate_answers = aggregate
        decoding = "aggregated answers" if aggregate else "best single span"
        for weight in args.lexical_weights:
            guide.lexical_weight = weight
            for fallback in args.fallbacks:
                reader.sentence_fallback = fallback or None
                frame = score(reader, questions, splits, passages, rankings, args.top_k)
                table.append(summary_row(decoding, weight, fallback, frame))
    table = pd.DataFrame(table)
    # rag.reader.aggregate_answers is a setting of its own: the guide's weight and the
    # fallback are chosen per decoding
    best = table.groupby("decoding")["dev mean F1 (end to end)"].idxmax()
    table.insert(0, "chosen on dev", np.where(table.index.isin(best), "**yes**", ""))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    header = (
        f"# Sentence-guided decodings of a finished run ({args.corpus}, top {args.top_k})\n\n"
        f"reader: {run / 'reader' / 'model'}; commit {commit}; "
        f"{time.strftime('%Y-%m-%d')}; {time.perf_counter() - started:.0f} s reading\n\n"
    )
    text = header + table.to_markdown(index=False, floatfmt=".3f") + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "rag_decoding.md").write_text(text)


if __name__ == "__main__":
    main()
