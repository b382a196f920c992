"""Adapter: statistics, tables and figures of the attention experiment."""

from medlab.attention.summary import summarize
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
summarize(snakemake.input, snakemake.output, snakemake.params)
