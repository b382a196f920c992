# Experiment 3: retrieval-augmented QA over health papers, against gold answers.
# corpus (passages, document-level splits) -> cached indexes (BM25, FAISS per encoder)
# -> fine-tuning (retriever, reader; GPU rules) -> retrieve (every method, cached depth)
# -> read (per reader; top_k cutoffs applied here) -> evaluate (summary tables and plots).
# Editing top_k reruns only read, evaluate and the report.
from medlab.config import rag_base_retrievers
from medlab.rag.readers import READERS
from medlab.rag.retrieval import BM25_LIBRARIES, DENSE_INDEX_KINDS


def get_rag_corpus_inputs(wildcards):
    corpus = config["rag"]["corpus"]
    if corpus["format"] == "jsonl":
        return {"documents": corpus["documents"], "questions": corpus["questions"]}
    return {"file": corpus["file"] or get_dataset_file(corpus["dataset"])}


def get_rag_dir():
    return f"results/rag/{config['rag']['corpus']['name']}"


def get_rag_encoder_input(wildcards):
    """The fine-tuned encoder directory when indexing with it; nothing for the packaged encoder."""
    return {"model": f"results/rag/{wildcards.corpus}/retriever/model"} if wildcards.encoder == "finetuned" else {}


def get_rag_encoder_name(wildcards):
    return f"results/rag/{wildcards.corpus}/retriever/model" if wildcards.encoder == "finetuned" else config["rag"]["encoder"]


def get_rag_index_inputs(wildcards):
    """Cached indexes the configured retrieval methods need, each named after its method."""
    rag, root = config["rag"], f"results/rag/{wildcards.corpus}"
    index_files = {
        "bm25": f"{root}/index/bm25_{rag['bm25_library']}.pkl",
        "dense": f"{root}/index/dense_base_{rag['dense_index']}.faiss",
        "dense_finetuned": f"{root}/index/dense_finetuned_{rag['dense_index']}.faiss",
    }
    files = {method: index_files[method] for method in rag_base_retrievers(rag)}
    if "dense_finetuned" in files:
        files["finetuned_encoder"] = f"{root}/retriever/model"
    return files


def _rag_reader_fine_tuned(reader):
    return reader == "extractive" and config["rag"]["reader"]["fine_tune"]


def get_rag_reader_input(wildcards):
    return {"model": f"results/rag/{wildcards.corpus}/reader/model"} if _rag_reader_fine_tuned(wildcards.reader) else {}


def get_rag_reader_model(wildcards):
    """The sentence reader's bi-encoder, or the extractive reader's weights (fine-tuned here or as configured)."""
    if wildcards.reader == "sentence":
        return config["rag"]["encoder"]
    if _rag_reader_fine_tuned(wildcards.reader):
        return f"results/rag/{wildcards.corpus}/reader/model"
    return config["rag"]["reader"]["model"]


def get_rag_reader_options():
    """Extractive reader decoding options (everything in rag.reader but weights and training)."""
    return {k: v for k, v in config["rag"]["reader"].items() if k not in ("model", "fine_tune", "training")}


def get_rag_evaluate_inputs(wildcards):
    root = get_rag_dir()
    return {
        "questions": f"{root}/questions.jsonl",
        "passages": f"{root}/passages.jsonl",
        "rankings": f"{root}/rankings.parquet",
        "answers": [f"{root}/answers/{reader}.parquet" for reader in config["rag"]["readers"]],
    }


def get_rag_summary_files():
    return {
        "retrieval": "results/rag/summary/retrieval.tsv",
        "readers": "results/rag/summary/readers.tsv",
        "stability": "results/rag/summary/stability.tsv",
        "perturbation": "results/rag/summary/perturbation.tsv",
        "worst": "results/rag/summary/worst_cases.tsv",
        "per_question": "results/rag/summary/per_question.tsv",
        "retrieval_plot": "results/rag/summary/retrieval.png",
        "reliability_plot": "results/rag/summary/reliability.png",
    }


def get_rag_report_outputs():
    files = get_rag_summary_files()
    for key in ("retrieval", "readers", "retrieval_plot", "reliability_plot"):
        files[key] = report(files[key], caption=f"../resources/captions/rag_{key}.rst", category="Experiment 3: RAG")
    return files


def get_rag_report_inputs():
    root = get_rag_dir()
    inputs = {f"rag_{k}": v for k, v in get_rag_summary_files().items()}
    inputs.update({"rag_stats": f"{root}/stats.json", "rag_issues": f"{root}/issues.tsv", "rag_fusion": f"{root}/fusion_weight.tsv"})
    if config["rag"]["reader"]["fine_tune"] and "extractive" in config["rag"]["readers"]:
        inputs["rag_reader_epochs"] = f"{root}/reader/epochs.tsv"
    if "dense_finetuned" in rag_base_retrievers(config["rag"]):
        inputs["rag_retriever_epochs"] = f"{root}/retriever/epochs.tsv"
    return inputs


rule rag_corpus:
    input:
        unpack(get_rag_corpus_inputs),
    output:
        documents="results/rag/{corpus}/documents.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
        passages="results/rag/{corpus}/passages.jsonl",
        issues="results/rag/{corpus}/issues.tsv",
        stats="results/rag/{corpus}/stats.json",
    params:
        format=config["rag"]["corpus"]["format"],
        passages=config["rag"]["passages"],
        fractions=config["rag"]["split_fractions"],
        seed=config["rag"]["split_seed"],
        max_documents=config["rag"]["corpus"]["max_documents"],
    log:
        "logs/rag/{corpus}/corpus.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_corpus.py"


rule rag_index_bm25:
    input:
        passages="results/rag/{corpus}/passages.jsonl",
    output:
        index="results/rag/{corpus}/index/bm25_{library}.pkl",
    wildcard_constraints:
        library=get_constraint(BM25_LIBRARIES),
    log:
        "logs/rag/{corpus}/index_bm25_{library}.log",
    benchmark:
        "benchmarks/rag/{corpus}/index_bm25_{library}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_index_bm25.py"


rule rag_index_dense:
    input:
        unpack(get_rag_encoder_input),
        passages="results/rag/{corpus}/passages.jsonl",
    output:
        index="results/rag/{corpus}/index/dense_{encoder}_{kind}.faiss",
    wildcard_constraints:
        encoder="base|finetuned",
        kind=get_constraint(DENSE_INDEX_KINDS),
    params:
        encoder=get_rag_encoder_name,
        batch_size=config["rag"]["encode_batch_size"],
    threads: config["rag"]["threads"]
    log:
        "logs/rag/{corpus}/index_dense_{encoder}_{kind}.log",
    benchmark:
        "benchmarks/rag/{corpus}/index_dense_{encoder}_{kind}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_index_dense.py"


rule rag_train_retriever:
    input:
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        model=directory("results/rag/{corpus}/retriever/model"),
        epochs="results/rag/{corpus}/retriever/epochs.tsv",
    params:
        encoder=config["rag"]["encoder"],
        training=config["rag"]["retriever_training"],
        bm25_library=config["rag"]["bm25_library"],
        device=config["device"],
    threads: config["rag"]["threads"]
    resources:
        gpu=config["rag"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/rag/{corpus}/train_retriever.log",
    benchmark:
        "benchmarks/rag/{corpus}/train_retriever.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_train_retriever.py"


rule rag_train_reader:
    input:
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        model=directory("results/rag/{corpus}/reader/model"),
        epochs="results/rag/{corpus}/reader/epochs.tsv",
    params:
        model=config["rag"]["reader"]["model"],
        reader=get_rag_reader_options(),
        training=config["rag"]["reader"]["training"],
        device=config["device"],
    threads: config["rag"]["threads"]
    resources:
        gpu=config["rag"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/rag/{corpus}/train_reader.log",
    benchmark:
        "benchmarks/rag/{corpus}/train_reader.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_train_reader.py"


rule rag_retrieve:
    input:
        unpack(get_rag_index_inputs),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        rankings="results/rag/{corpus}/rankings.parquet",
        fusion="results/rag/{corpus}/fusion_weight.tsv",
    params:
        methods=config["rag"]["retrievers"],
        depth=config["rag"]["retrieval_depth"],
        hybrid=config["rag"]["hybrid"],
        reranker=config["rag"]["reranker"],
        encoder=config["rag"]["encoder"],
        batch_size=config["rag"]["encode_batch_size"],
    threads: config["rag"]["threads"]
    log:
        "logs/rag/{corpus}/retrieve.log",
    benchmark:
        "benchmarks/rag/{corpus}/retrieve.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_retrieve.py"


rule rag_read:
    input:
        unpack(get_rag_reader_input),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
        rankings="results/rag/{corpus}/rankings.parquet",
    output:
        answers="results/rag/{corpus}/answers/{reader}.parquet",
    wildcard_constraints:
        reader=get_constraint(READERS),
    params:
        model=get_rag_reader_model,
        options=get_rag_reader_options(),
        methods=config["rag"]["read_methods"],
        top_k=config["rag"]["top_k"],
        adaptive=config["rag"]["adaptive"],
        focus_method=config["rag"]["focus_method"],
        device=config["device"],
    threads: config["rag"]["threads"]
    log:
        "logs/rag/{corpus}/read_{reader}.log",
    benchmark:
        "benchmarks/rag/{corpus}/read_{reader}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_read.py"


rule rag_evaluate:
    input:
        unpack(get_rag_evaluate_inputs),
    output:
        **get_rag_report_outputs(),
    params:
        top_k=config["rag"]["top_k"],
        adaptive=config["rag"]["adaptive"],
        focus_method=config["rag"]["focus_method"],
        evaluation=config["rag"]["evaluation"],
    log:
        "logs/rag/evaluate.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_evaluate.py"
