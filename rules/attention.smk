# Experiment 2: attention inside a BERT encoder.
# importance -> pruning curves; extract per condition; cost per heads-per-layer;
# analyze -> statistics and figures. Outputs under results/attention/<model>/...


include: "functions/attention.smk"


rule attention_importance:
    input:
        sentences=config["attention"]["sentences"],
    output:
        importance="results/attention/{model}/importance.tsv",
    wildcard_constraints:
        model=get_constraint(config["attention"]["models"]),
    params:
        code=script_code("attention_importance"),
        model=lambda wc: config["attention"]["models"][wc.model],
        max_length=config["attention"]["max_length"],
        max_sentences=config["attention"]["max_sentences"],
        batch_size=config["attention"]["batch_size"],
        device=config["device"],
    threads: config["attention"]["threads"]
    resources:
        gpu=config["attention"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["attention"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["attention"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/attention/{model}/importance.log",
    benchmark:
        "benchmarks/attention/{model}/importance.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/attention_importance.py"


declare_benchmarks("attention", rules.attention_importance, get_attention_models)


rule attention_pruning:
    input:
        sentences=config["attention"]["sentences"],
        importance="results/attention/{model}/importance.tsv",
    output:
        curves="results/attention/{model}/pruning_curves.tsv",
    wildcard_constraints:
        model=get_constraint(config["attention"]["models"]),
    params:
        code=script_code("attention_pruning"),
        model=lambda wc: config["attention"]["models"][wc.model],
        max_length=config["attention"]["max_length"],
        max_sentences=config["attention"]["max_sentences"],
        batch_size=config["attention"]["batch_size"],
        fractions=config["attention"]["pruning"]["fractions"],
        device=config["device"],
    threads: config["attention"]["threads"]
    resources:
        gpu=config["attention"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["attention"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["attention"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/attention/{model}/pruning.log",
    benchmark:
        "benchmarks/attention/{model}/pruning.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/attention_pruning.py"


declare_benchmarks("attention", rules.attention_pruning, get_attention_models)


rule attention_extract:
    input:
        unpack(get_attention_extract_inputs),
    output:
        heads="results/attention/{model}/conditions/{condition}/heads.parquet",
        hidden="results/attention/{model}/conditions/{condition}/hidden.parquet",
        maps="results/attention/{model}/conditions/{condition}/maps.npz",
        info="results/attention/{model}/conditions/{condition}/info.json",
    wildcard_constraints:
        model=get_constraint(config["attention"]["models"]),
        condition=get_constraint(config["attention"]["conditions"]),
    params:
        code=script_code("attention_extract"),
        model=lambda wc: config["attention"]["models"][wc.model],
        # settings a hub model's shape is only known to this job for (local ones: at parse time)
        hub_ranges=get_attention_hub_ranges,
        disabled=get_attention_disabled_spec,
        max_length=config["attention"]["max_length"],
        max_sentences=config["attention"]["max_sentences"],
        batch_size=config["attention"]["batch_size"],
        heatmap_sentences=config["attention"]["heatmap_sentences"],
        device=config["device"],
    threads: config["attention"]["threads"]
    resources:
        gpu=config["attention"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["attention"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["attention"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/attention/{model}/conditions/{condition}.log",
    benchmark:
        "benchmarks/attention/{model}/conditions/{condition}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/attention_extract.py"


declare_benchmarks("attention", rules.attention_extract, get_attention_conditions)


rule attention_cost:
    input:
        sentences=config["attention"]["sentences"],
    output:
        cost="results/attention/{model}/cost/heads{heads}.json",
    wildcard_constraints:
        model=get_constraint(config["attention"]["models"]),
        heads=r"\d+",
    params:
        code=script_code("attention_cost"),
        model=lambda wc: config["attention"]["models"][wc.model],
        max_length=config["attention"]["max_length"],
        max_sentences=config["attention"]["max_sentences"],
        batch_size=config["attention"]["cost"]["batch_size"],
        repeats=config["attention"]["cost"]["repeats"],
        device=config["device"],
    # one thread: latencies of different head counts stay comparable on a shared machine
    threads: 1
    resources:
        gpu=config["attention"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["attention"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["attention"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/attention/{model}/cost/heads{heads}.log",
    benchmark:
        "benchmarks/attention/{model}/cost/heads{heads}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/attention_cost.py"


declare_benchmarks("attention", rules.attention_cost, get_attention_cost_points)


rule attention_analyze:
    input:
        unpack(get_attention_analyze_inputs),
    output:
        **get_attention_report_outputs(),
    params:
        code=script_code("attention_analyze"),
        models=list(config["attention"]["models"]),
        conditions=config["attention"]["conditions"],
        heatmap_layer=config["attention"]["heatmap_layer"],
        threshold=config["attention"]["pruning"]["quality_threshold"],
        heads_per_layer=config["attention"]["cost"]["heads_per_layer"],
    log:
        "logs/attention/analyze.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/attention_analyze.py"
