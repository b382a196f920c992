# The HTML report: run header plus one section per enabled experiment (Jinja2 templates
# in the medlab package). Disabled experiments are absent from the page.


include: "functions/report.smk"


# The RAG rules' jobs in the timing table: each rule file declares its rules like this.
declare_benchmarks("rag", rules.rag_index_bm25, get_rag_bm25_wildcards)
declare_benchmarks("rag", rules.rag_index_dense, get_rag_dense_wildcards)
declare_benchmarks("rag", rules.rag_synthesize, get_rag_synthesize_wildcards)
declare_benchmarks("rag", rules.rag_train_retriever, get_rag_retriever_training_wildcards)
declare_benchmarks("rag", rules.rag_train_reader, get_rag_reader_training_wildcards)
declare_benchmarks("rag", rules.rag_train_reader_variant, get_rag_ablation_wildcards)
declare_benchmarks("rag", rules.rag_retrieve, get_rag_corpus_wildcards)
declare_benchmarks("rag", rules.rag_read, get_rag_reader_wildcards)


rule report:
    input:
        unpack(get_report_inputs),
    output:
        html=report(
            "results/report/index.html",
            caption="../resources/captions/report.rst",
            category="Report",
        ),
    params:
        code=script_code("report_render"),
        title=config["report"]["title"],
        preset=config["preset"],
        experiments={name: is_enabled(name) for name in EXPERIMENTS},
        multilabel_dataset=config["multilabel"]["dataset"],
        multilabel_unit=config["multilabel"]["unit"],
        rag_corpus=config["rag"]["corpus"]["name"],
        benchmarks=get_benchmark_files(),
        models=models_in_config(config),
        gnn_comparisons=config["gnn"]["comparisons"],
    log:
        "logs/report/report.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/report_render.py"
