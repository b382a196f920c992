"""Adapter: rank passages with every configured method for dev and test questions (and perturbed queries)."""

from medlab.device import select_device
from medlab.logs import configure_logging
from medlab.rag.stages import retrieve_stage

configure_logging(snakemake.log[0])
select_device(snakemake.threads, "cpu")
retrieve_stage(dict(snakemake.input), dict(snakemake.params), snakemake.output)
