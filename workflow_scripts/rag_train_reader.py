"""Adapter: fine-tune the extractive reader on the train questions (synthetic ones first when given).

Each epoch's state is kept in checkpoint.pt beside the outputs, so a killed job (a cluster
time limit, then a retry) resumes where it stopped; the file goes once the reader is saved.
"""

from pathlib import Path

from medlab.device import select_device
from medlab.io import write_tsv
from medlab.logs import configure_logging
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages
from medlab.rag.training import fine_tune_reader, save_reader

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
train, _ = read_questions(snakemake.input.questions, splits={"train"})
dev, _ = read_questions(snakemake.input.questions, splits={"dev"})
checkpoint = Path(snakemake.output.epochs).with_name("checkpoint.pt")
synthetic = (
    read_questions(snakemake.input.synthetic)[0] if "synthetic" in snakemake.input.keys() else None
)
reader, epochs = fine_tune_reader(
    snakemake.params.model,
    read_passages(snakemake.input.passages),
    train,
    dev,
    snakemake.params.reader,
    snakemake.params.training,
    device,
    synthetic,
    snakemake.params.synthetic_epochs,
    snakemake.params.synthetic_negatives,
    checkpoint,
)
save_reader(reader, snakemake.output.model)
write_tsv(epochs, snakemake.output.epochs)
checkpoint.unlink(missing_ok=True)
