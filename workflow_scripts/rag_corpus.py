"""Adapter: load the QA corpus (counting bad records), split by document, cut passages."""

from medlab.logs import configure_logging
from medlab.rag.stages import prepare_corpus

configure_logging(snakemake.log[0])
prepare_corpus(
    snakemake.params.format,
    dict(snakemake.input),
    snakemake.params.passages["size"],
    snakemake.params.passages["overlap"],
    snakemake.params.fractions,
    snakemake.params.seed,
    snakemake.params.max_documents,
    snakemake.output,
)
