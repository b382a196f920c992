"""Adapter: quality retained vs fraction of least-important heads pruned, per layer band."""

import pandas as pd

from medlab.attention.extract import read_sentences
from medlab.attention.importance import pruning_curves
from medlab.attention.model import load_encoder
from medlab.device import select_device
from medlab.io import write_tsv
from medlab.logs import configure_logging

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
model, tokenizer = load_encoder(snakemake.params.model)
model.to(device)
sentences = read_sentences(snakemake.input.sentences, snakemake.params.max_sentences).sentences
importance = pd.read_csv(snakemake.input.importance, sep="\t")
curves = pruning_curves(
    model,
    tokenizer,
    sentences,
    importance,
    snakemake.params.fractions,
    snakemake.params.max_length,
    snakemake.params.batch_size,
)
write_tsv(curves, snakemake.output.curves, float_format="%.6g")
