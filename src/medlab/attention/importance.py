"""Head importance by masking (Michel et al. 2019) and pruning curves per layer band.

Quality is what the packaged model is for: the cosine similarity of each sentence's
mean-pooled embedding to the unpruned model's, averaged over sentences (1.0 = unchanged).
A head's importance is the quality lost when that head alone is disabled.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from medlab.attention.extract import batches, tokenize
from medlab.attention.model import heads_disabled, shape


@torch.no_grad()
def sentence_embeddings(
    model, tokenizer, sentences: list[str], max_length: int, batch_size: int
) -> torch.Tensor:
    """Mean-pooled, L2-normalised last-layer embeddings, shape (sentences, hidden)."""
    pooled = []
    for _, chunk in batches(sentences, batch_size):
        encoded, _ = tokenize(tokenizer, chunk, max_length, model.device)
        hidden = model(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled.append(torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1))
    return torch.cat(pooled).cpu()


def quality(
    model, tokenizer, sentences, reference: torch.Tensor, disabled, max_length: int, batch_size: int
) -> float:
    """Mean cosine similarity to ``reference`` embeddings with ``disabled`` heads off."""
    with heads_disabled(model, disabled):
        embeddings = sentence_embeddings(model, tokenizer, sentences, max_length, batch_size)
    return float((embeddings * reference).sum(-1).mean())


def head_importance(model, tokenizer, sentences, max_length: int, batch_size: int) -> pd.DataFrame:
    """One row per head: layer, head, quality_without (with that head disabled), importance = 1 - quality_without."""
    reference = sentence_embeddings(model, tokenizer, sentences, max_length, batch_size)
    n_layers, n_heads = shape(model)
    rows = []
    for layer in range(n_layers):
        for head in range(n_heads):
            kept = quality(
                model, tokenizer, sentences, reference, [(layer, head)], max_length, batch_size
            )
            rows.append((layer, head, kept, 1.0 - kept))
    frame = pd.DataFrame(rows, columns=["layer", "head", "quality_without", "importance"])
    frame["rank"] = frame["importance"].rank(method="first").astype(int)  # 1 = least important
    return frame


def layer_bands(n_layers: int) -> dict[str, list[int]]:
    """Lower / middle / upper thirds of the layers (as equal as possible)."""
    parts = np.array_split(np.arange(n_layers), 3)
    return {name: part.tolist() for name, part in zip(("lower", "middle", "upper"), parts)}


def least_important(
    importance: pd.DataFrame, fraction: float, layers: list[int] | None = None
) -> list[tuple[int, int]]:
    """The ceil(fraction x heads) least important heads, among ``layers`` if given."""
    pool = importance if layers is None else importance[importance["layer"].isin(layers)]
    count = math.ceil(fraction * len(pool) - 1e-9)
    chosen = pool.sort_values(["importance", "layer", "head"]).head(count)
    return [(int(r.layer), int(r.head)) for r in chosen.itertuples()]


def pruning_curves(
    model,
    tokenizer,
    sentences,
    importance: pd.DataFrame,
    fractions: list[float],
    max_length: int,
    batch_size: int,
) -> pd.DataFrame:
    """Quality retained when the k% least important heads are pruned, globally and per band.

    Rows: band (global, lower, middle, upper), layers, fraction, heads_pruned, quality.
    """
    reference = sentence_embeddings(model, tokenizer, sentences, max_length, batch_size)
    bands = {"global": None, **layer_bands(shape(model)[0])}
    rows = []
    for band, layers in bands.items():
        for fraction in fractions:
            pruned = least_important(importance, fraction, layers)
            kept = quality(model, tokenizer, sentences, reference, pruned, max_length, batch_size)
            rows.append(
                (
                    band,
                    "all" if layers is None else ",".join(map(str, layers)),
                    fraction,
                    len(pruned),
                    kept,
                )
            )
    return pd.DataFrame(rows, columns=["band", "layers", "fraction", "heads_pruned", "quality"])


def tolerances(curves: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Per band: the largest pruned fraction whose quality stays >= ``threshold``
    (scanning fractions upwards and stopping at the first one below it)."""
    rows = []
    for band, part in curves.groupby("band", sort=False):
        tolerated = 0.0
        for row in part.sort_values("fraction").itertuples():
            if row.quality < threshold:
                break
            tolerated = row.fraction
        rows.append({"band": band, "threshold": threshold, "prunable_fraction": tolerated})
    return pd.DataFrame(rows)
