"""Cost of attention heads: parameters, FLOPs and latency of a really pruned encoder."""

from __future__ import annotations

import time

import numpy as np
import torch

from medlab.attention.extract import tokenize
from medlab.attention.model import prune_to_heads_per_layer, shape


def attention_flops(model, tokens: int, heads_per_layer: int) -> int:
    """Multiply-accumulates x 2 of the attention blocks for one sequence of ``tokens``.

    Per layer: Q, K, V projections (3 x t x d x h*dh), scores and weighted sum
    (2 x h x t^2 x dh), output projection (t x h*dh x d). Feed-forward blocks are not
    counted: they do not depend on the number of heads.
    """
    n_layers, n_heads = shape(model)
    d = model.config.hidden_size
    head_dim = d // n_heads
    width = heads_per_layer * head_dim
    per_layer = (
        3 * tokens * d * width
        + 2 * heads_per_layer * tokens * tokens * head_dim
        + tokens * width * d
    )
    return int(2 * per_layer * n_layers)


@torch.no_grad()
def measure_cost(
    model,
    tokenizer,
    sentences: list[str],
    heads_per_layer: int,
    batch_size: int,
    max_length: int,
    repeats: int,
) -> dict:
    """Prune ``model`` to ``heads_per_layer`` and time ``repeats`` passes over one batch.

    Returns parameters (all / attention), attention GFLOPs per batch, and latency
    (median and min over repeats, after one warm-up pass), in milliseconds per batch.
    """
    prune_to_heads_per_layer(model, heads_per_layer)
    encoded, _ = tokenize(tokenizer, sentences[:batch_size], max_length, model.device)
    synchronize = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    model(**encoded)  # warm-up
    timings = []
    for _ in range(repeats):
        synchronize()
        started = time.perf_counter()
        model(**encoded)
        synchronize()
        timings.append((time.perf_counter() - started) * 1000)
    attention_params = sum(
        p.numel() for layer in model.encoder.layer for p in layer.attention.parameters()
    )
    tokens = int(encoded["attention_mask"].sum(-1).float().mean())
    return {
        "heads_per_layer": heads_per_layer,
        "parameters": sum(p.numel() for p in model.parameters()),
        "attention_parameters": attention_params,
        "attention_gflops_per_batch": attention_flops(model, tokens, heads_per_layer)
        * len(encoded["input_ids"])
        / 1e9,
        "batch_size": len(encoded["input_ids"]),
        "mean_tokens": tokens,
        "latency_ms_median": float(np.median(timings)),
        "latency_ms_min": float(np.min(timings)),
        "repeats": repeats,
    }
