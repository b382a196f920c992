"""Adapter: build and cache the BM25 index of the passages."""

from medlab.logs import configure_logging
from medlab.rag.passages import read_passages
from medlab.rag.retrieval import build_bm25_index, save_bm25_index

configure_logging(snakemake.log[0])
passages = read_passages(snakemake.input.passages)
index = build_bm25_index([p.text for p in passages], snakemake.wildcards.library)
save_bm25_index(index, snakemake.output.index)
