"""Adapter: the reader ablation's table and learning curve, the configured reader scored
beside the ablation readers."""

import pandas as pd

from medlab.device import select_device
from medlab.io import read_json, write_tsv
from medlab.logs import configure_logging
from medlab.rag.ablation import (
    ablation_table,
    plot_learning_curve,
    score_trained_reader,
)
from medlab.rag.corpus import read_questions
from medlab.rag.extractive import ExtractiveReader
from medlab.rag.layout import ABLATION_CONFIGURED
from medlab.rag.passages import read_passages

configure_logging(snakemake.log[0])
device = select_device(snakemake.threads, snakemake.params.device)
reader = ExtractiveReader.from_pretrained(snakemake.input.model, device, **snakemake.params.reader)
configured = score_trained_reader(
    reader,
    pd.read_csv(snakemake.input.epochs, sep="\t"),
    read_questions(snakemake.input.questions, splits={"test"})[0],
    read_passages(snakemake.input.passages),
    read_json(snakemake.input.synthetic_stats)["questions"],
)
rows = [read_json(path) for path in snakemake.input.scores] + [
    {"variant": ABLATION_CONFIGURED, **configured}
]
table = ablation_table(rows)
write_tsv(table, snakemake.output.table)
plot_learning_curve(table, snakemake.output.plot)
