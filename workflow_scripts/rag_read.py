"""Adapter: answer dev and test questions with one reader at every cutoff."""

import logging

import pandas as pd

from medlab.device import select_device
from medlab.io import atomic_path
from medlab.logs import configure_logging
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages
from medlab.rag.rankings import cutoffs
from medlab.rag.readers import load_reader
from medlab.rag.reading import read_answers

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
params, reader_name = snakemake.params, snakemake.wildcards.reader
reader = load_reader(reader_name, params.model, device, params.options)
questions, splits = read_questions(snakemake.input.questions, splits={"dev", "test"})
answers = read_answers(
    reader,
    questions,
    splits,
    read_passages(snakemake.input.passages),
    pd.read_parquet(snakemake.input.rankings),
    params.methods,
    cutoffs(params.top_k, params.adaptive),
    focus=(params.focus_method, f"top{max(params.top_k)}"),
)
answers.insert(0, "reader", reader_name)
with atomic_path(snakemake.output.answers) as tmp:
    answers.to_parquet(tmp, index=False)
logging.getLogger(__name__).info("%d answers", len(answers))
