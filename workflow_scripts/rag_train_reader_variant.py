"""Adapter: train one reader of the reader ablation (rag.reader.ablation) and score it.

Like rag_train_reader, with the stages of the ablation reader (gold only, synthetic only,
or part of the synthetic questions) and a checkpoint beside the outputs for a resume; the
weights are not kept, only the epoch log and the table row.
"""

from pathlib import Path

from medlab.device import select_device
from medlab.io import write_json, write_tsv
from medlab.logs import configure_logging
from medlab.rag.ablation import train_ablation_reader
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages

configure_logging(snakemake.log[0], keep_attempts=True)
params = snakemake.params
device = select_device(snakemake.threads, params.device)
split = {
    name: read_questions(snakemake.input.questions, splits={name})[0]
    for name in ("train", "dev", "test")
}
synthetic = (
    read_questions(snakemake.input.synthetic)[0] if "synthetic" in snakemake.input.keys() else None
)
checkpoint = Path(snakemake.output.epochs).with_name("checkpoint.pt")
epochs, row = train_ablation_reader(
    params.model,
    read_passages(snakemake.input.passages),
    split,
    synthetic,
    params.stages,
    params.reader,
    params.training,
    params.synthetic_negatives,
    device,
    checkpoint,
)
write_tsv(epochs, snakemake.output.epochs)
write_json({"variant": snakemake.wildcards.variant, **row}, snakemake.output.scores)
checkpoint.unlink(missing_ok=True)
