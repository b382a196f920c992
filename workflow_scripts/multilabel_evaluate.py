"""Adapter: test metrics with validation-tuned thresholds and calibration."""

import pandas as pd

from medlab.io import read_json, write_json, write_tsv
from medlab.logs import configure_logging
from medlab.multilabel.evaluate import evaluate_predictions
from medlab.multilabel.metrics import ThresholdRule

configure_logging(snakemake.log[0])
metrics, per_class = evaluate_predictions(
    pd.read_csv(snakemake.input.predictions, sep="\t"),
    read_json(snakemake.input.labels),
    ThresholdRule(**snakemake.params.thresholds),
)
write_json(metrics, snakemake.output.metrics)
write_tsv(per_class, snakemake.output.per_class, float_format="%.6g")
