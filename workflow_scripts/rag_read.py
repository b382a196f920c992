"""Adapter: answer dev and test questions with one reader at every cutoff."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.stages import read_stage

configure_logging(snakemake.log[0])
device = select_device(snakemake.threads, snakemake.params.device)
read_stage(
    snakemake.wildcards.reader,
    snakemake.params.model,
    snakemake.input,
    dict(snakemake.params),
    device,
    snakemake.output.answers,
)
