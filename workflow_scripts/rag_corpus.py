"""Adapter: load the QA corpus (counting bad records), split by document, cut passages."""

from medlab.logs import configure_logging
from medlab.rag.corpus import load_corpus
from medlab.rag.passages import prepare_corpus, write_prepared_corpus

configure_logging(snakemake.log[0])
corpus = load_corpus(snakemake.params.format, dict(snakemake.input))
prepared = prepare_corpus(
    corpus,
    snakemake.params.passages["size"],
    snakemake.params.passages["overlap"],
    snakemake.params.fractions,
    snakemake.params.seed,
    snakemake.params.max_documents,
)
write_prepared_corpus(
    prepared,
    snakemake.output.documents,
    snakemake.output.questions,
    snakemake.output.passages,
    snakemake.output.issues,
    snakemake.output.stats,
)
