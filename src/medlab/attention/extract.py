"""Per-head attention entropy and distance, and per-layer hidden-state change, on a sentence set."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medlab.attention.model import AttentionUnavailableError, condition

log = logging.getLogger(__name__)


@dataclass
class SentenceSet:
    sentences: list[str]
    skipped_empty: int


def read_sentences(path: str | Path, limit: int | None = None) -> SentenceSet:
    """One sentence per line; '#' comment lines ignored; empty lines skipped and counted;
    the first ``limit`` sentences when given.

    Raises ValueError naming the file when no sentence is left, or when it is not UTF-8.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not valid UTF-8 ({error})") from error
    sentences, empty = [], 0
    for line in lines:
        if line.startswith("#"):
            continue
        if not line.strip():
            empty += 1
            continue
        sentences.append(line.strip())
    if not sentences:
        raise ValueError(f"{path}: no sentences (after skipping {empty} empty lines and comments)")
    return SentenceSet(sentences[:limit] if limit else sentences, empty)


def batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def tokenize(tokenizer, sentences: list[str], max_length: int, device=None):
    """Padded, truncated batch (on ``device``); also how many sentences were truncated."""
    full_lengths = [len(ids) for ids in tokenizer(sentences, add_special_tokens=True)["input_ids"]]
    encoded = tokenizer(
        sentences, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )
    truncated = sum(length > max_length for length in full_lengths)
    return (encoded.to(device) if device is not None else encoded), truncated


def head_metrics(
    attentions: tuple[torch.Tensor, ...], mask: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Entropy and mean distance per sentence, layer and head.

    ``attentions``: L tensors (batch, heads, tokens, tokens); ``mask``: (batch, tokens), 1 for
    real tokens. For query i, entropy is -sum_j a_ij ln a_ij over non-padding keys j (nats)
    and distance is sum_j a_ij |i - j| (tokens); both are averaged over non-padding queries.
    Returns two arrays of shape (batch, layers, heads).
    """
    stacked = torch.stack(attentions, dim=1).double()  # (batch, layers, heads, tokens, tokens)
    key_mask = mask[:, None, None, None, :].double()
    query_mask = mask[:, None, None, :].double()
    probs = stacked * key_mask
    entropy = -(probs * torch.log(probs.clamp_min(1e-30))).sum(-1)  # (batch, layers, heads, tokens)
    positions = torch.arange(mask.shape[1], dtype=torch.float64)
    offsets = (positions[:, None] - positions[None, :]).abs()
    distance = (probs * offsets).sum(-1)
    n_queries = query_mask.sum(-1)
    return (
        ((entropy * query_mask).sum(-1) / n_queries).numpy(),
        ((distance * query_mask).sum(-1) / n_queries).numpy(),
    )


def hidden_change(
    reference: tuple[torch.Tensor, ...], changed: tuple[torch.Tensor, ...], mask: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """Per sentence and layer (embeddings = layer 0): mean over real tokens of 1 - cosine,
    and relative L2 ||changed - reference|| / ||reference|| over real tokens.

    ``reference``/``changed``: L+1 tensors (batch, tokens, hidden). Returns (batch, L+1) arrays.
    """
    ref = torch.stack(reference, dim=1).double()  # (batch, layers+1, tokens, hidden)
    new = torch.stack(changed, dim=1).double()
    token_mask = mask[:, None, :].double()
    cosine = torch.nn.functional.cosine_similarity(ref, new, dim=-1)  # (batch, layers+1, tokens)
    one_minus_cos = ((1 - cosine) * token_mask).sum(-1) / token_mask.sum(-1)
    diff = (((new - ref) ** 2).sum(-1) * token_mask).sum(-1).sqrt()
    norm = ((ref**2).sum(-1) * token_mask).sum(-1).sqrt()
    return one_minus_cos.numpy(), (diff / norm).numpy()


@torch.no_grad()
def extract_condition(
    model,
    tokenizer,
    sentences: list[str],
    disabled: list[tuple[int, int]],
    remove_positions: bool,
    max_length: int,
    batch_size: int,
    keep_maps: list[int] | None = None,
) -> dict:
    """Run the model on ``sentences`` in one condition and in the original state.

    Returns dict with ``heads`` (tidy frame: sentence, layer, head, entropy, distance,
    tokens), ``hidden`` (sentence, layer, cosine_change, relative_l2), ``maps`` (sentence
    index -> (layers, heads, tokens, tokens) array for ``keep_maps``), ``tokens`` (for those
    sentences) and ``truncated`` (count).
    """
    keep_maps = set(keep_maps or [])
    head_rows, hidden_rows, maps, map_tokens, truncated_total = [], [], {}, {}, 0
    for start, chunk in batches(sentences, batch_size):
        encoded, truncated = tokenize(tokenizer, chunk, max_length, model.device)
        truncated_total += truncated
        original = model(**encoded, output_hidden_states=True)
        with condition(model, disabled, remove_positions):
            output = model(**encoded, output_attentions=True, output_hidden_states=True)
        if output.attentions is None or any(a is None for a in output.attentions):
            raise AttentionUnavailableError(
                "the model returned no attentions; it must be loaded with attn_implementation='eager'"
            )
        mask = encoded["attention_mask"].cpu()
        attentions = tuple(a.cpu() for a in output.attentions)
        entropy, distance = head_metrics(attentions, mask)
        cos_change, rel_l2 = hidden_change(
            tuple(h.cpu() for h in original.hidden_states),
            tuple(h.cpu() for h in output.hidden_states),
            mask,
        )
        lengths = mask.sum(-1).tolist()
        for b in range(len(chunk)):
            index = start + b
            for layer in range(entropy.shape[1]):
                for head in range(entropy.shape[2]):
                    head_rows.append(
                        (
                            index,
                            layer,
                            head,
                            entropy[b, layer, head],
                            distance[b, layer, head],
                            lengths[b],
                        )
                    )
            for layer in range(cos_change.shape[1]):
                hidden_rows.append((index, layer, cos_change[b, layer], rel_l2[b, layer]))
            if index in keep_maps:
                n = lengths[b]
                maps[index] = (
                    torch.stack([a[b, :, :n, :n] for a in attentions]).numpy().astype(np.float32)
                )
                map_tokens[index] = tokenizer.convert_ids_to_tokens(
                    encoded["input_ids"][b, :n].tolist()
                )
    if truncated_total:
        log.warning(
            "%d sentence(s) longer than %d tokens were truncated", truncated_total, max_length
        )
    return {
        "heads": pd.DataFrame(
            head_rows, columns=["sentence", "layer", "head", "entropy", "distance", "tokens"]
        ),
        "hidden": pd.DataFrame(
            hidden_rows, columns=["sentence", "layer", "cosine_change", "relative_l2"]
        ),
        "maps": maps,
        "tokens": map_tokens,
        "truncated": truncated_total,
    }
