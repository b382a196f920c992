"""The reader ablation (rag.reader.ablation): what synthetic questions add to the extractive
reader. Readers trained on the gold questions alone, on the synthetic questions alone, and
on a seeded part of the synthetic questions before the gold ones (the learning curve) are
set beside the configured two-stage reader, every one scored the way training chooses its
kept epoch: span decoding in the gold passage (dev, and test here).

Which readers run and how their training differs is medlab.rag.layout's (the rules need it
while parsing); this module trains, scores, tabulates and plots them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from medlab.plotting import PALETTE, plt, save_figure
from medlab.rag.corpus import Question
from medlab.rag.extractive import ExtractiveReader
from medlab.rag.layout import (
    ABLATION_CONFIGURED,
    ABLATION_CURVE_PREFIX,
    ABLATION_GOLD_ONLY,
    ABLATION_SYNTHETIC_ONLY,
)
from medlab.rag.passages import Passage
from medlab.rag.training import evaluate_reader_on_gold, fine_tune_reader
from medlab.sampling import seeded_rows

log = logging.getLogger(__name__)

# table columns, in order
COLUMNS = [
    "variant",
    "reader",
    "synthetic_questions",
    "synthetic_epochs",
    "gold_epochs",
    "kept_epoch",
    "kept_stage",
    "dev_f1_after_synthetic",
    "dev_exact_match",
    "dev_f1",
    "test_exact_match",
    "test_f1",
    "test_questions",
    "training_seconds",
]


def synthetic_subset(questions: Sequence[Question], size: int | None, seed: int) -> list[Question]:
    """At most ``size`` of the synthetic ``questions`` (None: all), drawn with ``seed`` in
    their order. Drawn as :func:`medlab.sampling.seeded_rows` draws rows, so for one seed
    the smaller subsets of a curve are parts of the larger ones: a curve point adds
    questions to the one before it rather than swapping them."""
    positions = seeded_rows(pd.DataFrame({"position": range(len(questions))}), size, seed)
    return [questions[i] for i in positions["position"]]


def train_ablation_reader(
    model_name: str,
    passages: list[Passage],
    split: dict[str, list[Question]],
    synthetic: list[Question] | None,
    stages: dict,
    reader_options: dict,
    training: dict,
    synthetic_negatives: int | None,
    device,
    checkpoint_path: str | Path | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Train one ablation reader; (epoch log, its table row without the ``variant``).

    ``split`` holds the train, dev and test questions; ``stages`` is
    :func:`medlab.rag.layout.ablation_stages` (gold epochs, synthetic epochs, how many of
    ``synthetic`` to use); the other arguments are the configured reader's, as
    :func:`medlab.rag.training.fine_tune_reader` takes them.
    """
    wanted = stages["synthetic_questions"]
    if synthetic and wanted is not None and wanted >= len(synthetic):
        log.warning(
            "rag.reader.ablation.curve: %d is not below the %d synthetic questions made; this "
            "reader trains on all of them, as the configured reader does",
            wanted,
            len(synthetic),
        )
    used = synthetic_subset(synthetic or [], wanted, training["seed"])
    reader, epochs = fine_tune_reader(
        model_name,
        passages,
        split["train"],
        split["dev"],
        reader_options,
        {**training, "epochs": stages["gold_epochs"]},
        device,
        used,
        stages["synthetic_epochs"] if used else 0,
        synthetic_negatives,
        checkpoint_path,
    )
    return epochs, score_trained_reader(reader, epochs, split["test"], passages, len(used))


def score_trained_reader(
    reader: ExtractiveReader,
    epochs: pd.DataFrame,
    test: list[Question],
    passages: list[Passage],
    synthetic_questions: int,
) -> dict:
    """A row of the ablation table for a trained reader (its kept epoch's weights) and its
    epoch log (columns epoch, stage, dev_exact_match, dev_f1, seconds): the stages it ran,
    the kept epoch, dev scores from the log, test scores with the gold passage now."""
    kept = kept_epoch(epochs)
    synthetic_rows = epochs[epochs["stage"] == "synthetic"]
    test_scores = evaluate_reader_on_gold(reader, test, passages)
    return {
        "synthetic_questions": synthetic_questions,
        "synthetic_epochs": len(synthetic_rows),
        "gold_epochs": int((epochs["stage"] == "gold").sum()),
        "kept_epoch": int(kept["epoch"]),
        "kept_stage": kept["stage"],
        "dev_f1_after_synthetic": (
            float(synthetic_rows["dev_f1"].iloc[-1]) if len(synthetic_rows) else math.nan
        ),
        "dev_exact_match": float(kept["dev_exact_match"]),
        "dev_f1": float(kept["dev_f1"]),
        "test_exact_match": test_scores["exact_match"],
        "test_f1": test_scores["f1"],
        "test_questions": test_scores["n"],
        "training_seconds": float(epochs["seconds"].sum()),
    }


def kept_epoch(epochs: pd.DataFrame) -> pd.Series:
    """The epoch-log row whose weights training kept: the best dev F1, ties to the later
    epoch; the last epoch when no dev F1 is known (as
    :func:`medlab.rag.training.train_reader` keeps them)."""
    scored = epochs.dropna(subset=["dev_f1"])
    if scored.empty:
        return epochs.iloc[-1]
    return scored[scored["dev_f1"] == scored["dev_f1"].max()].iloc[-1]


def variant_label(variant: str) -> str:
    """How the table and the figure name an ablation reader."""
    if variant == ABLATION_GOLD_ONLY:
        return "gold only"
    if variant == ABLATION_SYNTHETIC_ONLY:
        return "synthetic only"
    if variant == ABLATION_CONFIGURED:
        return "synthetic → gold (configured)"
    return "synthetic → gold (curve)"


def _table_order(variant: str) -> tuple[int, int]:
    if variant == ABLATION_GOLD_ONLY:
        return (0, 0)
    if variant == ABLATION_SYNTHETIC_ONLY:
        return (1, 0)
    if variant.startswith(ABLATION_CURVE_PREFIX):
        return (2, int(variant.removeprefix(ABLATION_CURVE_PREFIX)))
    return (3, 0)


def ablation_table(rows: list[dict]) -> pd.DataFrame:
    """The table: gold only, synthetic only, the curve's readers by their number of
    synthetic questions, then the configured reader. Each row holds a ``variant`` and what
    :func:`score_trained_reader` gives.

    Raises:
        ValueError: when a row lacks a column or two rows name the same reader.
    """
    variants = [row.get("variant") for row in rows]
    if len(set(variants)) < len(variants):
        raise ValueError(f"ablation rows name a reader twice: {variants}")
    for row in rows:
        missing = [c for c in COLUMNS if c != "reader" and c not in row]
        if missing:
            raise ValueError(f"ablation row {row.get('variant')!r} lacks {missing}")
    ordered = sorted(rows, key=lambda row: _table_order(row["variant"]))
    table = pd.DataFrame(ordered)
    table["reader"] = table["variant"].map(variant_label)
    return table[COLUMNS].reset_index(drop=True)


def plot_learning_curve(table: pd.DataFrame, path) -> None:
    """Dev F1 (gold passage) against the number of synthetic questions: the kept epoch of
    every reader that ends on the gold questions (gold only at 0), and the dev F1 after the
    synthetic stage of those that have one. Synthetic only is one marker."""
    ends_on_gold = table[table["variant"] != ABLATION_SYNTHETIC_ONLY].sort_values(
        "synthetic_questions"
    )
    staged = ends_on_gold.dropna(subset=["dev_f1_after_synthetic"])
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    ax.plot(
        ends_on_gold["synthetic_questions"],
        ends_on_gold["dev_f1"],
        marker="o",
        label="synthetic → gold, kept epoch",
    )
    ax.plot(
        staged["synthetic_questions"],
        staged["dev_f1_after_synthetic"],
        marker="s",
        linestyle="--",
        label="after the synthetic stage",
    )
    alone = table[table["variant"] == ABLATION_SYNTHETIC_ONLY]
    ax.scatter(
        alone["synthetic_questions"],
        alone["dev_f1"],
        marker="^",
        color=PALETTE[2],
        zorder=3,
        label="synthetic only",
    )
    ax.set_xlabel("synthetic questions")
    ax.set_ylabel("dev F1 (gold passage)")
    ax.set_ylim(bottom=0)
    # below the axes: the curve's points can sit anywhere inside them
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    save_figure(fig, path)
