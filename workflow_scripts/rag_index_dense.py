"""Adapter: encode the passages and cache the FAISS index."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.stages import build_dense_index

configure_logging(snakemake.log[0])
select_device(snakemake.threads, "cpu")  # sets the thread count; encoding runs on the CPU
build_dense_index(
    snakemake.input.passages,
    snakemake.params.encoder,
    snakemake.wildcards.kind,
    snakemake.params.batch_size,
    snakemake.output.index,
)
