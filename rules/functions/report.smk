# The report: its inputs, and the wildcard values of the RAG rules' jobs for the timing table
# (declared in rules/report.smk until rules/rag.smk declares them after each rule).
# Included by rules/report.smk (Snakemake's lint keeps functions and rules in separate files).
from medlab.rag.layout import ablation_variants
from medlab.report.runinfo import models_in_config



def get_rag_corpus_wildcards():
    return [dict(corpus=config["rag"]["corpus"]["name"])]


def get_rag_bm25_wildcards():
    if "bm25" not in rag_base_retrievers(config["rag"]):
        return []
    return [dict(corpus=config["rag"]["corpus"]["name"], library=config["rag"]["bm25_library"])]


def get_rag_dense_wildcards():
    bases = rag_base_retrievers(config["rag"])
    encoders = [name for name, base in (("base", "dense"), ("finetuned", "dense_finetuned")) if base in bases]
    corpus, kind = config["rag"]["corpus"]["name"], config["rag"]["dense_index"]
    return [dict(corpus=corpus, encoder=encoder, kind=kind) for encoder in encoders]


def get_rag_retriever_training_wildcards():
    return get_rag_corpus_wildcards() if "rag_retriever_epochs" in get_rag_report_inputs() else []


def get_rag_reader_training_wildcards():
    return get_rag_corpus_wildcards() if "rag_reader_epochs" in get_rag_report_inputs() else []


def get_rag_synthesize_wildcards():
    return get_rag_corpus_wildcards() if "rag_synthetic_stats" in get_rag_report_inputs() else []


def get_rag_ablation_wildcards():
    corpus = config["rag"]["corpus"]["name"]
    return [dict(corpus=corpus, variant=variant) for variant in ablation_variants(config["rag"])]


def get_rag_reader_wildcards():
    corpus = config["rag"]["corpus"]["name"]
    return [dict(corpus=corpus, reader=reader) for reader in config["rag"]["readers"]]


def get_report_inputs(wildcards):
    """Provenance records and the summary files of every enabled experiment."""
    inputs = {"provenance": get_provenance_files()}
    if is_enabled("gnn"):
        inputs.update(get_gnn_report_inputs())
    if is_enabled("attention"):
        inputs.update(get_attention_report_inputs())
    if is_enabled("rag"):
        inputs.update(get_rag_report_inputs())
    if is_enabled("multilabel"):
        inputs.update(get_multilabel_report_inputs())
    return inputs
