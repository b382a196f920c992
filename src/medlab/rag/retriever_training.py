"""Fine-tuning the bi-encoder retriever inside the pipeline.

MultipleNegativesRankingLoss from sentence-transformers (in-batch negatives, optionally one
BM25 hard negative per question). The loop is written here instead of using
SentenceTransformerTrainer because that trainer needs `accelerate`, which nothing else in the
project uses; the loss itself is the library's. Kept apart from the reader's training so the
retriever's rule fingerprints no reading code.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from medlab.io import atomic_directory
from medlab.rag.corpus import Question
from medlab.rag.passages import Passage, gold_passages
from medlab.rag.retrieval import build_bm25_index, load_sentence_encoder
from medlab.training import clipped_step, linear_schedule, seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrieverTrainingSpec:
    """rag.retriever_training without its switches; defaults live in the schema only."""

    epochs: int
    batch_size: int
    lr: float
    warmup_ratio: float
    hard_negatives: bool
    seed: int


def retriever_pairs(
    questions: list[Question], passages: list[Passage], bm25=None
) -> list[tuple[str, str, str | None]]:
    """(question, gold passage text, hard negative text or None); the hard negative is the
    highest-ranked BM25 passage that does not contain the answer."""
    pairs = []
    for question in questions:
        golds = gold_passages(question, passages)
        if not golds:
            continue
        negative = None
        if bm25 is not None:
            for index, _ in bm25.search([question.question], 10)[0]:
                if index not in golds:
                    negative = passages[index].text
                    break
        pairs.append((question.question, passages[golds[0]].text, negative))
    return pairs


def train_retriever(
    encoder,
    pairs: list[tuple[str, str, str | None]],
    spec: RetrieverTrainingSpec,
    device: torch.device,
) -> pd.DataFrame:
    """Fine-tune a SentenceTransformer in place with in-batch (and hard) negatives; per-epoch log."""
    if not pairs:
        raise ValueError(
            "no training question has a passage containing its answer; cannot fine-tune the retriever"
        )
    seed_everything(spec.seed)
    encoder.to(device)
    loss_function = MultipleNegativesRankingLoss(encoder)
    use_negatives = spec.hard_negatives and all(p[2] is not None for p in pairs)
    steps_per_epoch = math.ceil(len(pairs) / spec.batch_size)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=spec.lr)
    scheduler = linear_schedule(optimizer, steps_per_epoch * spec.epochs, spec.warmup_ratio)
    # sentence-transformers >= 6 renamed tokenize to preprocess
    preprocess = getattr(encoder, "preprocess", None) or encoder.tokenize
    rows = []
    for epoch in range(1, spec.epochs + 1):
        encoder.train()
        order = list(range(len(pairs)))
        random.Random(spec.seed + epoch).shuffle(order)
        began, losses = time.perf_counter(), []
        for first in range(0, len(order), spec.batch_size):
            batch = [pairs[i] for i in order[first : first + spec.batch_size]]
            columns = [[b[0] for b in batch], [b[1] for b in batch]] + (
                [[b[2] for b in batch]] if use_negatives else []
            )
            features = [
                {
                    k: v.to(device)
                    for k, v in preprocess(texts).items()
                    if isinstance(v, torch.Tensor)
                }
                for texts in columns
            ]
            losses.append(
                clipped_step(
                    loss_function(features, None),
                    encoder,
                    optimizer,
                    scheduler,
                    f"retriever training, epoch {epoch}",
                    "lower the learning rate (rag.retriever_training.lr)",
                )
            )
        seconds = time.perf_counter() - began
        rows.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "pairs": len(pairs),
                "hard_negatives": use_negatives,
                "seconds": seconds,
                "pairs_per_s": len(pairs) / seconds,
            }
        )
        log.info("retriever epoch %d: loss %.4f (%.0f s)", epoch, rows[-1]["train_loss"], seconds)
    encoder.eval()
    return pd.DataFrame(rows)


# ---- fine-tuning entry point ------------------------------------------------------


def fine_tune_retriever(
    encoder_name: str,
    passages: list[Passage],
    train: list[Question],
    training: dict,
    bm25_library: str,
    device: torch.device,
    synthetic: list[Question] | None = None,
):
    """The bi-encoder ``encoder_name`` fine-tuned on the train questions; (encoder, epoch log).

    ``training`` is rag.retriever_training (its ``enabled`` and ``synthetic`` switches are
    read by the workflow, not here); BM25 hard negatives come from a ``bm25_library`` index of
    the passages. ``synthetic`` questions, when given, add their (question, gold passage)
    pairs after the gold ones.
    """
    spec = RetrieverTrainingSpec(
        **{k: v for k, v in training.items() if k not in ("enabled", "synthetic")}
    )
    texts = [p.text for p in passages]
    bm25 = build_bm25_index(texts, bm25_library) if spec.hard_negatives else None
    pairs = retriever_pairs(train, passages, bm25)
    log.info("%d training pairs from %d train questions", len(pairs), len(train))
    if synthetic:
        synthetic_pairs = retriever_pairs(synthetic, passages, bm25)
        log.info("%d more pairs from %d synthetic questions", len(synthetic_pairs), len(synthetic))
        pairs += synthetic_pairs
    encoder = load_sentence_encoder(encoder_name, device)
    epochs = train_retriever(encoder, pairs, spec, device)
    return encoder, epochs


def save_encoder(encoder, path) -> None:
    """A SentenceTransformer saved as a directory, atomically."""
    with atomic_directory(path) as tmp:
        encoder.save(str(tmp))
