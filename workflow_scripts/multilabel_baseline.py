"""Adapter: fit the TF-IDF + logistic regression baseline on the training documents and
write its validation and test predictions and summary like a grid cell's."""

from medlab.io import read_json, write_json, write_tsv
from medlab.logs import configure_logging
from medlab.multilabel.baseline import BaselineSpec, fit_baseline, save_baseline
from medlab.multilabel.data import read_table

configure_logging(snakemake.log[0])
settings = {k: v for k, v in snakemake.params.baseline.items() if k != "enabled"}
model, predictions, summary = fit_baseline(
    read_table(snakemake.input.table),
    read_json(snakemake.input.split),
    read_json(snakemake.input.labels),
    BaselineSpec(**settings),
)
write_tsv(predictions, snakemake.output.predictions, float_format="%.6g")
write_json(summary, snakemake.output.summary)
save_baseline(model, snakemake.output.model)
