"""Adapter: grid table, heatmaps, loss curves and comparisons of the multi-label experiment."""

from medlab.logs import configure_logging
from medlab.multilabel.aggregate import aggregate

configure_logging(snakemake.log[0])
aggregate(snakemake.params.cells, snakemake.input, snakemake.output)
