"""Adapter: per-run results -> summary tables and figures for the report."""

from medlab.gnn.aggregate import aggregate
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
aggregate(
    runs=snakemake.params.runs,
    inputs=snakemake.input,
    outputs=snakemake.output,
    variants=snakemake.params.variants,
    comparisons=snakemake.params.comparisons,
    datasets=snakemake.params.datasets,
)
