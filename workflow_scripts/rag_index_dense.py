"""Adapter: encode the passages and cache the FAISS index."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.passages import read_passages
from medlab.rag.retrieval import DenseFaiss, load_sentence_encoder, save_dense_index

configure_logging(snakemake.log[0], keep_attempts=True)
select_device(snakemake.threads, "cpu")  # sets the thread count; encoding runs on the CPU
passages = read_passages(snakemake.input.passages)
dense = DenseFaiss(
    load_sentence_encoder(snakemake.params.encoder),
    [p.text for p in passages],
    snakemake.wildcards.kind,
    snakemake.params.batch_size,
)
save_dense_index(dense, snakemake.output.index)
