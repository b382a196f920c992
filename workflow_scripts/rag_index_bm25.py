"""Adapter: build and cache the BM25 index of the passages."""

from medlab.logs import configure_logging
from medlab.rag.stages import build_bm25_index

configure_logging(snakemake.log[0])
build_bm25_index(snakemake.input.passages, snakemake.wildcards.library, snakemake.output.index)
