"""Adapter: latency, parameters and FLOPs of the encoder pruned to N heads per layer.

Peak memory is the job's max RSS, measured by Snakemake's benchmark file."""

import torch

from medlab.attention.cost import measure_cost
from medlab.attention.extract import read_sentences
from medlab.attention.model import load_encoder
from medlab.device import select_device
from medlab.io import write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
model, tokenizer = load_encoder(snakemake.params.model)
model.to(device)
sentences = read_sentences(snakemake.input.sentences, snakemake.params.max_sentences).sentences
result = measure_cost(
    model,
    tokenizer,
    sentences,
    int(snakemake.wildcards.heads),
    snakemake.params.batch_size,
    snakemake.params.max_length,
    snakemake.params.repeats,
)
result["device"] = str(device)
if device.type == "cuda":
    result["cuda_peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
write_json(result, snakemake.output.cost)
