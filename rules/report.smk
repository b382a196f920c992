# The HTML report: run header plus one section per enabled experiment (Jinja2 templates
# in the medlab package). Disabled experiments are absent from the page.


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
    log:
        "logs/report/report.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/report_render.py"
