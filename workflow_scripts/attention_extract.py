"""Adapter: entropy, distance and hidden-state change of one model in one condition."""

import numpy as np
import pandas as pd

from medlab.attention.extract import extract_condition, read_sentences
from medlab.attention.model import load_encoder, shape
from medlab.attention.ranges import check_attention_ranges
from medlab.attention.selection import choose_disabled_heads
from medlab.device import select_device
from medlab.io import atomic_path, write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0], keep_attempts=True)
condition = snakemake.wildcards.condition
device = select_device(snakemake.threads, snakemake.params.device)
model, tokenizer = load_encoder(snakemake.params.model)
if snakemake.params.hub_ranges is not None:
    check_attention_ranges(snakemake.wildcards.model, *shape(model), **snakemake.params.hub_ranges)
model.to(device)
sentence_set = read_sentences(snakemake.input.sentences, snakemake.params.max_sentences)
for position, index in enumerate(snakemake.params.heatmap_sentences):
    if index >= len(sentence_set.sentences):
        raise ValueError(
            f"config key attention.heatmap_sentences[{position}]: sentence {index} does not exist; "
            f"{snakemake.input.sentences} has {len(sentence_set.sentences)} sentences"
        )
importance = (
    pd.read_csv(snakemake.input.importance, sep="\t")
    if "importance" in snakemake.input.keys()
    else None
)
disabled = choose_disabled_heads(snakemake.params.disabled, model, importance)
result = extract_condition(
    model,
    tokenizer,
    sentence_set.sentences,
    disabled,
    condition in ("positions_removed", "both"),
    snakemake.params.max_length,
    snakemake.params.batch_size,
    keep_maps=snakemake.params.heatmap_sentences,
)
with atomic_path(snakemake.output.heads) as tmp:
    result["heads"].assign(condition=condition).to_parquet(tmp, index=False)
with atomic_path(snakemake.output.hidden) as tmp:
    result["hidden"].assign(condition=condition).to_parquet(tmp, index=False)
with atomic_path(snakemake.output.maps) as tmp, open(tmp, "wb") as handle:
    np.savez_compressed(handle, **{f"sentence_{i}": array for i, array in result["maps"].items()})
write_json(
    {
        "model": snakemake.params.model,
        "condition": condition,
        "disabled_heads": [list(h) for h in disabled],
        "positions_removed": condition in ("positions_removed", "both"),
        "sentences": len(sentence_set.sentences),
        "empty_lines_skipped": sentence_set.skipped_empty,
        "truncated": result["truncated"],
        "tokens": {str(i): tokens for i, tokens in result["tokens"].items()},
    },
    snakemake.output.info,
)
