# Experiment 3: retrieval-augmented QA over health papers, against gold answers.
# corpus (passages, document-level splits) -> cached indexes (BM25, FAISS per encoder)
# -> fine-tuning (retriever, reader; GPU rules) -> retrieve (every method, cached depth)
# -> read (per reader; top_k cutoffs applied here) -> evaluate (summary tables and plots).
# Editing top_k reruns only read, evaluate and the report.
from functools import partial

from medlab.rag import layout as rag_layout
from medlab.rag.readers import READERS
from medlab.rag.retrieval import BM25_LIBRARIES, DENSE_INDEX_KINDS

# used by rules/common.smk (benchmarks, report inputs) as well
get_rag_dir = partial(rag_layout.rag_dir, config["rag"])
get_rag_report_inputs = partial(rag_layout.report_inputs, config["rag"])
# scheduling order only (rule priority); never part of an output
READER_CHAIN_PRIORITY = 10


rule rag_corpus:
    input:
        unpack(lambda wc: rag_layout.corpus_inputs(config["rag"], get_dataset_file)),
    output:
        documents="results/rag/{corpus}/documents.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
        passages="results/rag/{corpus}/passages.jsonl",
        issues="results/rag/{corpus}/issues.tsv",
        stats="results/rag/{corpus}/stats.json",
    # the configured corpus only: results/rag/<corpus>/synthetic/ is rag_synthesize's
    wildcard_constraints:
        corpus=get_constraint([config["rag"]["corpus"]["name"]]),
    params:
        code=script_code("rag_corpus"),
        format=config["rag"]["corpus"]["format"],
        passages=config["rag"]["passages"],
        fractions=config["rag"]["split_fractions"],
        seed=config["rag"]["split_seed"],
        max_documents=config["rag"]["corpus"]["max_documents"],
    # the reader's chain (corpus -> synthetic questions -> reader training -> reading) is the
    # longest of the default preset: started first, the other experiments fill the other cores
    # instead of leaving one core busy alone at the end
    priority: READER_CHAIN_PRIORITY
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
    params:
        code=script_code("rag_index_bm25"),
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
        unpack(lambda wc: rag_layout.encoder_input(wc.corpus, wc.encoder)),
        passages="results/rag/{corpus}/passages.jsonl",
    output:
        index="results/rag/{corpus}/index/dense_{encoder}_{kind}.faiss",
    wildcard_constraints:
        encoder="base|finetuned",
        kind=get_constraint(DENSE_INDEX_KINDS),
    params:
        code=script_code("rag_index_dense"),
        encoder=lambda wc: rag_layout.encoder_name(config["rag"], wc.corpus, wc.encoder),
        batch_size=config["rag"]["encode_batch_size"],
    threads: config["rag"]["threads"]
    resources:
        gpu=0,
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/rag/{corpus}/index_dense_{encoder}_{kind}.log",
    benchmark:
        "benchmarks/rag/{corpus}/index_dense_{encoder}_{kind}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_index_dense.py"


# synthetic questions from the training documents' passages, for two-stage reader training
# and (rag.retriever_training.synthetic) extra retriever pairs
rule rag_synthesize:
    input:
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        questions="results/rag/{corpus}/synthetic/questions.jsonl",
        stats="results/rag/{corpus}/synthetic/stats.json",
        sample="results/rag/{corpus}/synthetic/sample.tsv",
    params:
        code=script_code("rag_synthesize"),
        synthetic=rag_layout.synthetic_settings(config["rag"]),
        seed=config["rag"]["split_seed"],
    priority: READER_CHAIN_PRIORITY
    log:
        "logs/rag/{corpus}/synthesize.log",
    benchmark:
        "benchmarks/rag/{corpus}/synthesize.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_synthesize.py"


rule rag_train_retriever:
    input:
        unpack(
            lambda wc: rag_layout.synthetic_input(
                config["rag"], wc.corpus, rag_layout.retriever_uses_synthetic
            )
        ),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        model=directory("results/rag/{corpus}/retriever/model"),
        epochs="results/rag/{corpus}/retriever/epochs.tsv",
    params:
        code=script_code("rag_train_retriever"),
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
        unpack(
            lambda wc: rag_layout.synthetic_input(
                config["rag"], wc.corpus, rag_layout.reader_uses_synthetic
            )
        ),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        model=directory("results/rag/{corpus}/reader/model"),
        epochs="results/rag/{corpus}/reader/epochs.tsv",
    params:
        code=script_code("rag_train_reader"),
        model=config["rag"]["reader"]["model"],
        reader=rag_layout.reader_options(config["rag"]),
        training=config["rag"]["reader"]["training"],
        synthetic_epochs=rag_layout.synthetic_epochs(config["rag"]),
        synthetic_negatives=rag_layout.synthetic_negatives(config["rag"]),
        device=config["device"],
    threads: config["rag"]["threads"]
    resources:
        gpu=config["rag"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    priority: READER_CHAIN_PRIORITY
    log:
        "logs/rag/{corpus}/train_reader.log",
    benchmark:
        "benchmarks/rag/{corpus}/train_reader.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_train_reader.py"


# the reader ablation (rag.reader.ablation): readers trained on gold questions only, on
# synthetic questions only, and on part of the synthetic questions before the gold ones,
# each scored with the gold passage; the configured reader is not trained again
rule rag_train_reader_variant:
    input:
        unpack(lambda wc: rag_layout.ablation_variant_input(config["rag"], wc.corpus, wc.variant)),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        **rag_layout.ablation_variant_files("{corpus}", "{variant}"),
    wildcard_constraints:
        variant=get_constraint(rag_layout.ablation_variants(config["rag"])),
    params:
        code=script_code("rag_train_reader_variant"),
        model=config["rag"]["reader"]["model"],
        reader=rag_layout.reader_options(config["rag"]),
        training=config["rag"]["reader"]["training"],
        stages=lambda wc: rag_layout.ablation_stages(config["rag"], wc.variant),
        synthetic_negatives=rag_layout.synthetic_negatives(config["rag"]),
        device=config["device"],
    threads: config["rag"]["threads"]
    resources:
        gpu=config["rag"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/rag/{corpus}/ablation_{variant}.log",
    benchmark:
        "benchmarks/rag/{corpus}/ablation_{variant}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_train_reader_variant.py"


rule rag_reader_ablation:
    input:
        unpack(lambda wc: rag_layout.ablation_inputs(config["rag"], wc.corpus)),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        **rag_layout.ablation_summary_files("{corpus}"),
    params:
        code=script_code("rag_reader_ablation"),
        reader=rag_layout.reader_options(config["rag"]),
        device=config["device"],
    threads: config["rag"]["threads"]
    # scores the configured reader on the gold passages: light enough for a CPU
    resources:
        gpu=0,
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/rag/{corpus}/reader_ablation.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/rag_reader_ablation.py"


rule rag_retrieve:
    input:
        unpack(lambda wc: rag_layout.index_inputs(config["rag"], wc.corpus)),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
    output:
        rankings="results/rag/{corpus}/rankings.parquet",
        fusion="results/rag/{corpus}/fusion_weight.tsv",
    params:
        code=script_code("rag_retrieve"),
        methods=config["rag"]["retrievers"],
        depth=config["rag"]["retrieval_depth"],
        hybrid=config["rag"]["hybrid"],
        reranker=config["rag"]["reranker"],
        encoder=config["rag"]["encoder"],
        batch_size=config["rag"]["encode_batch_size"],
    threads: config["rag"]["threads"]
    # cross-encoder re-ranking (rag.reranker) is the heavy part: a GPU only when one is configured
    resources:
        gpu=config["rag"]["resources"]["gpu"] if config["rag"]["reranker"] else 0,
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
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
        unpack(lambda wc: rag_layout.reader_input(config["rag"], wc.corpus, wc.reader)),
        passages="results/rag/{corpus}/passages.jsonl",
        questions="results/rag/{corpus}/questions.jsonl",
        rankings="results/rag/{corpus}/rankings.parquet",
    output:
        answers="results/rag/{corpus}/answers/{reader}.parquet",
    wildcard_constraints:
        reader=get_constraint(READERS),
    params:
        code=script_code("rag_read"),
        model=lambda wc: rag_layout.reader_model(config["rag"], wc.corpus, wc.reader),
        options=lambda wc: rag_layout.read_options(config["rag"], wc.reader),
        methods=config["rag"]["read_methods"],
        top_k=config["rag"]["top_k"],
        adaptive=config["rag"]["adaptive"],
        focus_method=config["rag"]["focus_method"],
        device=config["device"],
    threads: config["rag"]["threads"]
    # the extractive reader runs a transformer over every retrieved window; the sentence reader is light
    resources:
        gpu=lambda wc: config["rag"]["resources"]["gpu"] if wc.reader == "extractive" else 0,
        mem_mb=lambda wc, attempt: config["rag"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["rag"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
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
        unpack(lambda wc: rag_layout.evaluate_inputs(config["rag"])),
    output:
        **{
            key: report(path, caption=f"../resources/captions/rag_{key}.rst", category="Experiment 3: RAG")
            if key in rag_layout.REPORTED_SUMMARIES
            else path
            for key, path in rag_layout.SUMMARY_FILES.items()
        },
    params:
        code=script_code("rag_evaluate"),
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
