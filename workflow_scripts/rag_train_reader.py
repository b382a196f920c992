"""Adapter: fine-tune the extractive reader on the train questions."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.stages import train_reader_stage

configure_logging(snakemake.log[0])
device = select_device(snakemake.threads, snakemake.params.device)
train_reader_stage(
    snakemake.params.model,
    snakemake.input.passages,
    snakemake.input.questions,
    snakemake.params.reader,
    snakemake.params.training,
    device,
    snakemake.output,
)
