"""Adapter: one finished run scored on the prepared external set."""

from pathlib import Path

from medlab.device import select_device
from medlab.gnn.external import evaluate_external
from medlab.io import write_json, write_tsv
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
metrics, predictions = evaluate_external(
    run_directory=Path(snakemake.input.model).parent,
    graphs_path=snakemake.input.graphs,
    device=select_device(snakemake.threads, snakemake.params.device),
)
write_json(metrics, snakemake.output.metrics)
write_tsv(predictions, snakemake.output.predictions, float_format="%.6g")
