"""Experiment 4 targets, measured: Hallmarks of Cancer test micro-/macro-F1 with the packaged
MiniLM for each addition alone and combined — mean pooling, token windows over whole
abstracts, an ensemble of the configurations trained, cross-validated thresholds — side by
side with TF-IDF + logistic regression, with the training cost of each configuration.

    python bench/multilabel_targets.py [--configs cls mean cls+win mean+win] [--unit document]
        [--max-length 256] [--window-length 128 --window-stride 96 --window-pool max]
        [--threshold-methods validation cv --folds 5 --min-gain 0.01] [--ensemble]
        [--batch-size 32] [--lr 1e-4] [--epochs 3] [--loss weighted_bce] [--tag NAME] [--quick]

A configuration is ``<pooling>`` or ``<pooling>+win`` (token windows of --window-length
tokens, --window-stride apart, logits pooled by --window-pool; without windows, texts are cut
to --max-length). Each is trained once and evaluated with every threshold method; --ensemble
adds the mean of all trained configurations' probabilities (and of --ensemble-with saved
ones). TF-IDF + logistic regression is always measured first and saved as ``tfidf``, so
``--ensemble-with tfidf`` averages it in; ``--configs`` with no name only ensembles saved
predictions. Training is resumable: each configuration keeps a per-epoch checkpoint in
bench/out/checkpoints/ and picks it up when the options, seed and data are the same, so a
long run can span interruptions. --quick runs a tiny check (a few dozen abstracts, 32
tokens, one epoch) in about two minutes on one CPU thread.

Prints a table and writes bench/out/multilabel_targets[_NAME].md (and .tsv). Hallmarks of
Cancer comes from $MEDLAB_DATA_MIRROR (or ../shared/data); the code path is the pipeline's
(data, iterative split, tokenization, fine-tuning, evaluation).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import yaml
from transformers import AutoTokenizer

from medlab.io import atomic_path
from medlab.multilabel.baseline import BaselineSpec, fit_baseline
from medlab.multilabel.data import (
    NO_HALLMARK,
    clean_table,
    label_matrix,
    read_hallmarks_sentences,
    read_hallmarks_zip,
    stratified_split,
)
from medlab.multilabel.ensemble import BASELINE_NAME, average_predictions
from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.metrics import ThresholdRule
from medlab.multilabel.runner import prediction_table, split_parts, train_on_parts
from medlab.multilabel.tokenize import tokenize_table
from medlab.multilabel.train import FineTuneSpec, ResumeFile, new_classifier
from medlab.multilabel.windows import WindowSpec, tokenize_windows
from medlab.pretrained import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
# the pipeline's fine-tuning options; each measurement overrides a few
TRAINING = yaml.safe_load((ROOT / "config.yaml").read_text())["multilabel"]["training"]
OUT = ROOT / "bench" / "out"
MODEL = "packaged:all-MiniLM-L6-v2"
BASELINE_ROW = "tfidf+logreg"
CPU = torch.device("cpu")
# --quick: documents kept per split part, tokens per text and per window, window stride
QUICK = {"train": 32, "val": 16, "test": 16, "length": 32, "window": 64, "stride": 56}


@dataclass(frozen=True)
class Corpus:
    """HoC abstracts, their split (row positions per part) and label set."""

    table: pd.DataFrame
    split: dict
    label_set: list[str]
    archive: Path


@dataclass(frozen=True)
class Configuration:
    """One model setup to train: how a text is pooled and whether it is read in windows."""

    name: str
    pooling: str
    windows: WindowSpec | None


def load_hoc(quick: bool) -> Corpus:
    """Abstracts split as the pipeline splits them (the first few per part with --quick)."""
    archive = (
        Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))
        / "Hallmarks-of-Cancer-master.zip"
    )
    raw = read_hallmarks_zip(archive)
    label_set = sorted(raw["labels"].explode().unique())
    table, _ = clean_table(raw, label_set, source="HoC")
    split = stratified_split(label_matrix(table, label_set), (0.8, 0.1, 0.1), seed=0)
    if quick:
        kept = {part: list(split[part][: QUICK[part]]) for part in ("train", "val", "test")}
        rows = sorted(r for part in kept.values() for r in part)
        position = {row: i for i, row in enumerate(rows)}
        table = table.iloc[rows].reset_index(drop=True)
        split = {part: [position[r] for r in kept[part]] for part in kept}
    return Corpus(table, split, label_set, archive)


def parse_configuration(name: str, args) -> Configuration:
    """``cls``, ``mean``, ``cls+win`` or ``mean+win``."""
    pooling, _, windowed = name.partition("+")
    if pooling not in ("cls", "mean") or windowed not in ("", "win"):
        raise SystemExit(f"--configs: {name!r} is not <cls|mean>[+win]")
    windows = (
        WindowSpec(args.window_length, args.window_stride, args.window_pool) if windowed else None
    )
    return Configuration(name, pooling, windows)


def tokenized_parts(corpus: Corpus, configuration: Configuration, args, cache: dict):
    """Split parts of the configuration's units (cached per tokenization)."""
    key = (args.unit, configuration.windows)
    if key not in cache:
        tokenizer = load_pretrained(AutoTokenizer, MODEL)
        if configuration.windows is not None:
            units = tokenize_windows(
                corpus.table, corpus.label_set, tokenizer, configuration.windows
            )
        elif args.unit == "sentence":
            sentences = read_hallmarks_sentences(corpus.archive, documents=corpus.table["id"])
            units = tokenize_table(sentences, corpus.label_set, tokenizer, args.max_length)
        else:
            units = tokenize_table(corpus.table, corpus.label_set, tokenizer, args.max_length)
        empty = NO_HALLMARK if args.unit == "sentence" and configuration.windows is None else None
        pool = configuration.windows.pool if configuration.windows else None
        cache[key] = split_parts(units, corpus.table, corpus.split, corpus.label_set, empty, pool)
    return cache[key]


def train_configuration(corpus: Corpus, configuration: Configuration, args, cache: dict):
    """(prediction table, cost row) of one configuration, resumed from its checkpoint."""
    parts = tokenized_parts(corpus, configuration, args, cache)
    spec = FineTuneSpec(
        **{
            **TRAINING,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "loss": args.loss,
            "epochs": args.epochs,
            "patience": args.epochs,
            "early_stopping_metric": args.select_on,
        }
    )
    torch.manual_seed(args.seed)  # the classifier head
    model = new_classifier(MODEL, len(corpus.label_set), configuration.pooling)
    name = f"{configuration.name}_{args.tag or 'default'}{'_quick' if args.quick else ''}"
    checkpoints = OUT / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = train_on_parts(
        model,
        parts,
        spec,
        args.seed,
        CPU,
        resume=ResumeFile(checkpoints / f"{name}.pt"),
    )
    wall = time.perf_counter() - started
    trained = result.epochs
    cost = {
        "configuration": configuration.name,
        # abstracts, sentences, or token windows
        "training units": len(parts["train"].units),
        "epochs": len(trained),
        "best epoch": result.best_epoch,
        # every epoch's training time, also those of earlier, interrupted runs
        "train s": float(trained["train_seconds"].sum()),
        "examples/s": float(trained["examples_per_s"].mean()),
        "wall s (this run)": wall,
    }
    return prediction_table(model, parts, CPU), cost


def tfidf_predictions(corpus: Corpus) -> tuple[pd.DataFrame, dict]:
    """The pipeline's TF-IDF + logistic regression baseline (multilabel.baseline defaults)."""
    _, predictions, summary = fit_baseline(
        corpus.table, corpus.split, corpus.label_set, BaselineSpec()
    )
    cost = {
        "configuration": BASELINE_ROW,
        "training units": summary["training_units"],
        "epochs": 1,
        "best epoch": 1,
        "train s": summary["train_seconds"],
        "examples/s": summary["examples_per_s"],
        "wall s (this run)": summary["train_seconds"],
    }
    return predictions, cost


def _predictions_path(name: str, quick: bool) -> Path:
    return OUT / "predictions" / f"{name}{'_quick' if quick else ''}.tsv"


def save_predictions(predictions: pd.DataFrame, name: str, quick: bool) -> None:
    """Keep a configuration's validation and test predictions for later ensembles."""
    with atomic_path(_predictions_path(name, quick)) as tmp:
        predictions.to_csv(tmp, sep="\t", index=False)


def load_predictions(name: str, quick: bool) -> pd.DataFrame:
    """Predictions saved by an earlier run (``--ensemble-with``)."""
    path = _predictions_path(name, quick)
    if not path.is_file():
        raise SystemExit(
            f"--ensemble-with {name}: {path} does not exist; run that configuration first"
        )
    return pd.read_csv(path, sep="\t", dtype={"id": str})


def score_rows(name: str, predictions: pd.DataFrame, label_set, rules: list[ThresholdRule]):
    """One row per threshold rule: test micro/macro-F1 at 0.5 and with the rule's thresholds."""
    rows = []
    for rule in rules:
        metrics, _ = evaluate_predictions(predictions, label_set, rule)
        at_half, tuned = metrics["at_0.5"], metrics["tuned_thresholds"]
        rows.append(
            {
                "configuration": name,
                "thresholds": f"{rule.method}"
                + (f" (k={rule.folds})" if rule.method == "cv" else "")
                + (f", min_gain {rule.min_gain:g}" if rule.min_gain else ""),
                "micro-F1 @0.5": at_half["micro_f1"],
                "macro-F1 @0.5": at_half["macro_f1"],
                "micro-F1 tuned": tuned["micro_f1"],
                "macro-F1 tuned": tuned["macro_f1"],
                "macro ROC-AUC": at_half["macro_roc_auc"],
                "targets met (≥0.80 micro, ≥0.78 macro, tuned)": tuned["micro_f1"] >= 0.80
                and tuned["macro_f1"] >= 0.78,
            }
        )
    return rows


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--configs",
        nargs="*",
        default=["cls", "mean", "cls+win", "mean+win"],
        help="configurations to train (none: only the baseline and --ensemble-with)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--max-length", type=int, default=256, help="tokens per text without windows"
    )
    parser.add_argument("--window-length", type=int, default=128)
    parser.add_argument("--window-stride", type=int, default=96)
    parser.add_argument("--window-pool", choices=["max", "mean"], default="max")
    parser.add_argument(
        "--loss", choices=["bce", "weighted_bce", "focal", "asymmetric"], default="weighted_bce"
    )
    parser.add_argument(
        "--unit",
        choices=["document", "sentence"],
        default="document",
        help="without windows: whole abstracts, or labelled sentences rolled up to the abstract",
    )
    parser.add_argument(
        "--threshold-methods", nargs="+", choices=["validation", "cv"], default=["validation", "cv"]
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--min-gain", type=float, default=0.0)
    parser.add_argument(
        "--ensemble", action="store_true", help="add the mean of all configurations"
    )
    parser.add_argument(
        "--ensemble-with",
        nargs="+",
        default=[],
        metavar="NAME",
        help="with --ensemble, also average the saved predictions of earlier runs "
        "(bench/out/predictions/NAME.tsv, e.g. mean_sentence from --configs mean --tag sentence, "
        "or tfidf: the TF-IDF baseline, saved before any configuration trains)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="training seed (the split stays seed 0)"
    )
    parser.add_argument("--select-on", default="mean_average_precision")
    parser.add_argument("--tag", default="", help="suffix of the output and checkpoint files")
    parser.add_argument("--quick", action="store_true", help="a tiny check: about two minutes")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.max_length, args.batch_size = 1, QUICK["length"], 8
        args.window_length, args.window_stride = QUICK["window"], QUICK["stride"]
        args.folds = min(args.folds, 2)
    return args


def main() -> None:
    args = parse_arguments()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    corpus = load_hoc(args.quick)
    rules = [ThresholdRule(m, args.folds, args.min_gain) for m in args.threshold_methods]
    scores, costs, trained, cache = [], [], {}, {}
    # the baseline first: its saved predictions can join this run's ensemble (--ensemble-with tfidf)
    baseline, cost = tfidf_predictions(corpus)
    save_predictions(baseline, BASELINE_NAME, args.quick)
    costs.append(cost)
    scores += score_rows(BASELINE_ROW, baseline, corpus.label_set, rules)
    for name in args.configs:
        configuration = parse_configuration(name, args)
        predictions, cost = train_configuration(corpus, configuration, args, cache)
        trained[name] = predictions
        save_predictions(predictions, f"{name}_{args.tag or 'default'}", args.quick)
        costs.append(cost)
        scores += score_rows(name, predictions, corpus.label_set, rules)
    for saved in args.ensemble_with:
        trained[saved] = load_predictions(saved, args.quick)
    if args.ensemble and len(trained) > 1:
        ensemble = average_predictions(trained, corpus.label_set)
        name = "ensemble of " + ", ".join(trained)
        scores += score_rows(name, ensemble, corpus.label_set, rules)
        # the ensemble costs the training of all its members
        total = {k: sum(c[k] for c in costs) for k in ("train s", "wall s (this run)")}
        costs.append({"configuration": name, "epochs": args.epochs, **total})
    table = pd.DataFrame(scores).merge(pd.DataFrame(costs), on="configuration", how="left")
    print(table.to_markdown(index=False, floatfmt=".4f"))
    OUT.mkdir(parents=True, exist_ok=True)
    name = (
        "multilabel_targets"
        + (f"_{args.tag}" if args.tag else "")
        + ("_quick" if args.quick else "")
    )
    table.to_csv(OUT / f"{name}.tsv", sep="\t", index=False)
    parts = {k: len(v) for k, v in corpus.split.items()}
    (OUT / f"{name}.md").write_text(
        f"Hallmarks of Cancer, {MODEL}, torch threads 1, {len(corpus.label_set)} labels, abstracts "
        f"per split {parts}; bs {args.batch_size}, lr {args.lr:g}, {args.loss}, {args.epochs} epochs, "
        f"{args.unit} units, max_length {args.max_length}, windows {args.window_length}/"
        f"{args.window_stride}/{args.window_pool}; examples/s counts training units, with "
        "windows abstracts (each with all its windows)\n\n"
        + table.to_markdown(index=False, floatfmt=".4f")
        + "\n"
    )


if __name__ == "__main__":
    main()
