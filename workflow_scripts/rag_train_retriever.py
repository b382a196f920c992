"""Adapter: fine-tune the bi-encoder on the train questions (in-batch + BM25 hard negatives)."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.stages import train_retriever_stage

configure_logging(snakemake.log[0])
device = select_device(snakemake.threads, snakemake.params.device)
train_retriever_stage(
    snakemake.params.encoder,
    snakemake.input.passages,
    snakemake.input.questions,
    snakemake.params.training,
    snakemake.params.bm25_library,
    device,
    snakemake.output,
)
