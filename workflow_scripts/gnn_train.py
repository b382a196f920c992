"""Adapter: train one GNN variant on one split and seed; save weights, history, predictions."""

from pathlib import Path

from medlab.device import select_device
from medlab.gnn.featurize import MoleculeGraphs
from medlab.gnn.runner import run_training
from medlab.io import read_json
from medlab.logs import configure_logging

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
run_training(
    dataset=MoleculeGraphs(snakemake.input.graphs),
    split=read_json(snakemake.input.split)[0],
    spec_values=snakemake.params.spec,
    seed=int(snakemake.wildcards.seed),
    device=device,
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    predictions_path=snakemake.output.predictions,
    # next to the weights: a retried job on the same run directory resumes from it
    checkpoint_path=Path(snakemake.output.model).with_name("checkpoint.pt"),
    checkpoint_every=snakemake.params.checkpoint_every,
)
