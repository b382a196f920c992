"""Adapter: test metrics of one run from its predictions and history."""

import pandas as pd

from medlab.gnn.evaluate import evaluate_run
from medlab.io import write_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
metrics = evaluate_run(
    pd.read_csv(snakemake.input.predictions, sep="\t"),
    pd.read_csv(snakemake.input.history, sep="\t"),
    early_stopping=snakemake.params.early_stopping,
)
write_json(metrics, snakemake.output.metrics)
