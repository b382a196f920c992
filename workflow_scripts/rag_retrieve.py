"""Adapter: rank passages with every configured method for dev and test questions (and perturbed queries)."""

from medlab.device import select_device
from medlab.io import atomic_path, write_tsv
from medlab.logs import configure_logging
from medlab.rag.corpus import read_questions
from medlab.rag.passages import read_passages
from medlab.rag.retrieval import (
    load_bm25_index,
    load_cross_encoder,
    load_dense_index,
    rank_questions,
)

configure_logging(snakemake.log[0], keep_attempts=True)
select_device(snakemake.threads, "cpu")
files, params = dict(snakemake.input), snakemake.params
passages = read_passages(files["passages"])
questions, splits = read_questions(files["questions"], splits={"dev", "test"})
# the rule names each index input after the retrieval method that searches it
retrievers = {}
if "bm25" in files:
    retrievers["bm25"] = load_bm25_index(files["bm25"])
if "dense" in files:
    retrievers["dense"] = load_dense_index(files["dense"], params.encoder, params.batch_size)
if "dense_finetuned" in files:
    retrievers["dense_finetuned"] = load_dense_index(
        files["dense_finetuned"], files["finetuned_encoder"], params.batch_size
    )
rankings, fusion = rank_questions(
    questions,
    splits,
    passages,
    retrievers,
    params.methods,
    params.depth,
    params.hybrid,
    load_cross_encoder(params.reranker) if params.reranker else None,
)
write_tsv(fusion, snakemake.output.fusion)
with atomic_path(snakemake.output.rankings) as tmp:
    rankings.to_parquet(tmp, index=False)
