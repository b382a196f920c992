"""Adapter: average the validation and test probabilities of the grid cells named in
multilabel.ensemble into one more prediction table (evaluated like a cell)."""

from pathlib import Path

import pandas as pd

from medlab.io import read_json, write_json, write_tsv
from medlab.logs import configure_logging
from medlab.multilabel.ensemble import average_predictions, ensemble_summary

configure_logging(snakemake.log[0])
# each member's predictions lie in its run directory, named after the cell
tables = {
    Path(path).parent.name: pd.read_csv(path, sep="\t") for path in snakemake.input.predictions
}
write_tsv(
    average_predictions(tables, read_json(snakemake.input.labels)),
    snakemake.output.predictions,
    float_format="%.6g",
)
write_json(ensemble_summary(list(snakemake.input.summaries)), snakemake.output.summary)
