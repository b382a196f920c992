"""Adapter: fine-tune one grid cell (batch size x learning rate x loss x seed)."""

from pathlib import Path

from medlab.device import select_device
from medlab.io import read_json
from medlab.logs import configure_logging
from medlab.multilabel.data import NO_HALLMARK, read_table
from medlab.multilabel.runner import CellPaths, run_cell
from medlab.multilabel.train import FineTuneSpec

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
spec = FineTuneSpec(
    batch_size=int(snakemake.wildcards.batch_size),
    lr=float(snakemake.wildcards.lr),
    loss=snakemake.wildcards.loss,
    **snakemake.params.training,
)
run_cell(
    snakemake.params.model,
    snakemake.input.tokens,
    read_table(snakemake.input.table),
    read_json(snakemake.input.split),
    read_json(snakemake.input.labels),
    spec,
    int(snakemake.wildcards.seed),
    device,
    CellPaths(
        steps=snakemake.output.steps,
        epochs=snakemake.output.epochs,
        predictions=snakemake.output.predictions,
        summary=snakemake.output.summary,
        # next to the outputs: after a non-finite loss the best weights so far are kept here
        checkpoint=str(Path(snakemake.output.summary).with_name("best_checkpoint.pt")),
        model=snakemake.output.model,
    ),
    # sentences roll up to their abstract: it has no hallmark only when none of its sentences has one
    empty_label=NO_HALLMARK if snakemake.params.unit == "sentence" else None,
    pooling=snakemake.params.pooling,
    windows=snakemake.params.windows if snakemake.params.windows["enabled"] else None,
    max_length=snakemake.params.max_length,
)
