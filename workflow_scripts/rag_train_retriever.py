"""Adapter: fine-tune the bi-encoder on the train questions (in-batch + BM25 hard negatives),
plus the synthetic questions when given."""

from medlab.device import select_device
from medlab.io import write_tsv
from medlab.logs import configure_logging
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages
from medlab.rag.retriever_training import fine_tune_retriever, save_encoder

configure_logging(snakemake.log[0], keep_attempts=True)
device = select_device(snakemake.threads, snakemake.params.device)
train, _ = read_questions(snakemake.input.questions, splits={"train"})
synthetic = (
    read_questions(snakemake.input.synthetic)[0] if "synthetic" in snakemake.input.keys() else None
)
encoder, epochs = fine_tune_retriever(
    snakemake.params.encoder,
    read_passages(snakemake.input.passages),
    train,
    snakemake.params.training,
    snakemake.params.bm25_library,
    device,
    synthetic,
)
save_encoder(encoder, snakemake.output.model)
write_tsv(epochs, snakemake.output.epochs)
