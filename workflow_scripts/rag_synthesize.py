"""Adapter: synthetic questions from the passages of the training documents."""

from medlab.logs import configure_logging
from medlab.rag.synthetic import synthesize_corpus

configure_logging(snakemake.log[0])
synthetic = snakemake.params.synthetic
synthesize_corpus(
    snakemake.input.passages,
    snakemake.input.questions,
    snakemake.output.questions,
    snakemake.output.stats,
    snakemake.output.sample,
    synthetic["per_passage"],
    synthetic["max_examples"],
    snakemake.params.seed,
    synthetic["kinds"],
)
