"""Adapter: masking-based importance of every attention head."""

from medlab.attention.extract import read_sentences
from medlab.attention.importance import head_importance
from medlab.attention.model import load_encoder
from medlab.device import select_device
from medlab.io import write_tsv
from medlab.logs import configure_logging

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
model, tokenizer = load_encoder(snakemake.params.model)
model.to(device)
sentences = read_sentences(snakemake.input.sentences, snakemake.params.max_sentences).sentences
importance = head_importance(
    model, tokenizer, sentences, snakemake.params.max_length, snakemake.params.batch_size
)
write_tsv(importance, snakemake.output.importance, float_format="%.6g")
