"""Experiment 4 targets, measured: HoC test micro-F1 with the packaged MiniLM, the effect of
validation-tuned thresholds on macro- and micro-F1, and training throughput per batch size
measured side by side in one run.

    python bench/multilabel_targets.py [--batch-size 32] [--lr 1e-4] [--epochs 3] [--max-length 128]
        [--unit sentence|document] [--loss weighted_bce|bce|focal|asymmetric] [--tag NAME]

The defaults are the best settings measured so far on this CPU (about 30 minutes at 1 thread).

Prints a table and writes bench/out/multilabel_targets[_NAME].md (and .tsv). Hallmarks of Cancer
comes from $MEDLAB_DATA_MIRROR (or ../shared/data); the code path is the pipeline's
(data, iterative split, tokenization, fine-tuning, evaluation).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from medlab.multilabel.data import (
    NO_HALLMARK,
    clean_table,
    label_matrix,
    read_hallmarks_sentences,
    read_hallmarks_zip,
    stratified_split,
)
from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.runner import prediction_table, split_parts, train_on_parts
from medlab.multilabel.tokenize import tokenize_table
from medlab.multilabel.train import FineTuneSpec, fine_tune, new_classifier
from medlab.pretrained import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
# the pipeline's fine-tuning options; each measurement overrides a few
TRAINING = yaml.safe_load((ROOT / "config.yaml").read_text())["multilabel"]["training"]
OUT = ROOT / "bench" / "out"
MODEL = "packaged:all-MiniLM-L6-v2"


def load_hoc(max_length: int, unit: str = "document"):
    """(split parts, label set): abstracts split as the pipeline splits them, tokenized as
    whole abstracts or as labelled sentences."""
    from transformers import AutoTokenizer

    archive = (
        Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))
        / "Hallmarks-of-Cancer-master.zip"
    )
    raw = read_hallmarks_zip(archive)
    label_set = sorted(raw["labels"].explode().unique())
    table, _ = clean_table(raw, label_set, source="HoC")
    split = stratified_split(label_matrix(table, label_set), (0.8, 0.1, 0.1), seed=0)
    units = (
        read_hallmarks_sentences(archive, documents=table["id"]) if unit == "sentence" else table
    )
    dataset = tokenize_table(units, label_set, load_pretrained(AutoTokenizer, MODEL), max_length)
    return split_parts(
        dataset, table, split, label_set, NO_HALLMARK if unit == "sentence" else None
    ), label_set


def new_model(label_set):
    return new_classifier(MODEL, len(label_set))


def throughput(parts, label_set, batch_sizes, batches: int = 4) -> list[dict]:
    """Training examples/s per batch size, one after another in this process, on the same
    training examples (``batches`` batches of the largest size) in shuffled batches: with
    padding trimmed per batch, a larger batch pads to a longer longest row."""
    rows = []
    examples = parts["train"].units.select(range(max(batch_sizes) * batches))
    val = parts["val"].units.select(range(32))
    for batch_size in batch_sizes:
        spec = FineTuneSpec(
            **{
                **TRAINING,
                "batch_size": batch_size,
                "lr": 3e-5,
                "loss": "bce",
                "epochs": 1,
                "patience": 1,
                "group_by_length": False,
            }
        )
        result = fine_tune(new_model(label_set), examples, val, spec, 0, torch.device("cpu"))
        rows.append(
            {
                "batch_size": batch_size,
                "examples_per_s": float(result.epochs["examples_per_s"].iloc[0]),
            }
        )
        print(
            f"throughput batch {batch_size}: {rows[-1]['examples_per_s']:.1f} examples/s",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument(
        "--loss", choices=["bce", "weighted_bce", "focal", "asymmetric"], default="weighted_bce"
    )
    parser.add_argument("--throughput-batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument(
        "--unit",
        choices=["document", "sentence"],
        default="sentence",
        help="train on whole abstracts or on labelled sentences rolled up to the abstract",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="training seed (the split stays seed 0)"
    )
    parser.add_argument(
        "--tag",
        default="",
        help="suffix of the output files, to keep runs with other settings apart",
    )
    parser.add_argument(
        "--select-on", default="mean_average_precision", help="validation metric for early stopping"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    parts, label_set = load_hoc(args.max_length, args.unit)
    speeds = throughput(parts, label_set, args.throughput_batch_sizes)

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
    model = new_model(label_set)
    started = time.perf_counter()
    result = train_on_parts(model, parts, spec, args.seed, torch.device("cpu"))
    seconds = time.perf_counter() - started
    metrics, _ = evaluate_predictions(
        prediction_table(model, parts, torch.device("cpu")), label_set
    )
    at_half, tuned = metrics["at_0.5"], metrics["per_class_thresholds"]
    micro_drop = at_half["micro_f1"] - tuned["micro_f1"]
    rows = [
        {
            "measure": "HoC test micro-F1 (threshold 0.5)",
            "value": f"{at_half['micro_f1']:.4f}",
            "target": "≥ 0.80",
            "met": at_half["micro_f1"] >= 0.80,
        },
        {
            "measure": "HoC test macro-F1 (threshold 0.5)",
            "value": f"{at_half['macro_f1']:.4f}",
            "target": "",
            "met": "",
        },
        {
            "measure": "macro-F1 with validation-tuned per-class thresholds",
            "value": f"{tuned['macro_f1']:.4f} ({tuned['macro_f1'] - at_half['macro_f1']:+.4f})",
            "target": "raises macro-F1",
            "met": tuned["macro_f1"] > at_half["macro_f1"],
        },
        {
            "measure": "micro-F1 with validation-tuned per-class thresholds",
            "value": f"{tuned['micro_f1']:.4f} ({-micro_drop:+.4f})",
            "target": "drops by ≤ 0.02",
            "met": micro_drop <= 0.02,
        },
        {
            "measure": "macro ROC-AUC / mAP (test)",
            "value": f"{at_half['macro_roc_auc']:.4f} / {at_half['mean_average_precision']:.4f}",
            "target": "",
            "met": "",
        },
        {
            "measure": "ECE raw / Platt / isotonic (test)",
            "value": " / ".join(f"{metrics['ece'][k]:.4f}" for k in ("raw", "platt", "isotonic")),
            "target": "",
            "met": "",
        },
        {
            "measure": f"training time (bs {args.batch_size}, lr {args.lr:g}, {args.loss}, {len(result.epochs)} epochs, len {args.max_length}, "
            f"{args.unit} units, best epoch {result.best_epoch} by validation {args.select_on})",
            "value": f"{seconds:.0f} s",
            "target": "",
            "met": "",
        },
    ] + [
        {
            "measure": f"throughput, batch {r['batch_size']}",
            "value": f"{r['examples_per_s']:.1f} examples/s",
            "target": "",
            "met": "",
        }
        for r in speeds
    ]
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False))
    OUT.mkdir(parents=True, exist_ok=True)
    name = "multilabel_targets" + (f"_{args.tag}" if args.tag else "")
    table.to_csv(OUT / f"{name}.tsv", sep="\t", index=False)
    (OUT / f"{name}.md").write_text(
        f"Hallmarks of Cancer, {MODEL}, torch threads 1, {len(label_set)} labels, abstracts per split "
        f"{ {k: len(p.documents) for k, p in parts.items()} }, {args.unit} units per split "
        f"{ {k: len(p.units) for k, p in parts.items()} }\n\n"
        + table.to_markdown(index=False)
        + "\n"
    )


if __name__ == "__main__":
    main()
