# Experiment 1: GNNs for blood-brain-barrier permeability.
# featurize (per dataset) -> split (per split kind x seed) -> train (per variant x seed)
# -> evaluate -> aggregate. Outputs under results/gnn/<dataset>/...


include: "functions/gnn.smk"


rule gnn_featurize:
    input:
        table=get_gnn_table,
    wildcard_constraints:
        dataset=get_constraint(config["gnn"]["datasets"]),
    output:
        graphs="results/gnn/{dataset}/graphs.pt",
        molecules="results/gnn/{dataset}/molecules.csv",
        dropped="results/gnn/{dataset}/dropped.tsv",
        summary="results/gnn/{dataset}/featurize.json",
    params:
        code=script_code("gnn_featurize"),
        table=lambda wc: config["gnn"]["tables"][wc.dataset],
        max_molecules=config["gnn"]["max_molecules"],
        subsample_seed=config["gnn"]["subsample_seed"],
    log:
        "logs/gnn/{dataset}/featurize.log",
    benchmark:
        "benchmarks/gnn/{dataset}/featurize.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_featurize.py"


declare_benchmarks("gnn", rules.gnn_featurize, get_gnn_datasets)


rule gnn_split:
    input:
        molecules="results/gnn/{dataset}/molecules.csv",
    output:
        split="results/gnn/{dataset}/splits/{split}_seed{seed}.json",
    wildcard_constraints:
        dataset=get_constraint(config["gnn"]["datasets"]),
        split=get_constraint(SPLIT_KINDS.names()),
    params:
        code=script_code("gnn_split"),
        fractions=config["gnn"]["split_fractions"],
    log:
        "logs/gnn/{dataset}/splits/{split}_seed{seed}.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_split.py"


rule gnn_train:
    input:
        graphs="results/gnn/{dataset}/graphs.pt",
        split="results/gnn/{dataset}/splits/{split}_seed{seed}.json",
    output:
        model="results/gnn/{dataset}/{split}/{variant}/seed{seed}/model.pt",
        history="results/gnn/{dataset}/{split}/{variant}/seed{seed}/history.tsv",
        predictions="results/gnn/{dataset}/{split}/{variant}/seed{seed}/predictions.tsv",
    wildcard_constraints:
        dataset=get_constraint(config["gnn"]["datasets"]),
        split=get_constraint(SPLIT_KINDS.names()),
        variant=get_constraint(config["gnn"]["variants"]),
    params:
        code=script_code("gnn_train"),
        spec=get_gnn_variant,
        device=config["device"],
        checkpoint_every=config["gnn"]["checkpoint_every"],
    # one thread per job: measured steadier than two on a 2-core machine
    threads: config["gnn"]["threads"]
    resources:
        gpu=config["gnn"]["resources"]["gpu"],
        # more memory and time on each retry (an out-of-memory kill or a timeout)
        mem_mb=lambda wc, attempt: config["gnn"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["gnn"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/gnn/{dataset}/{split}/{variant}/seed{seed}/train.log",
    benchmark:
        "benchmarks/gnn/{dataset}/{split}/{variant}/seed{seed}/train.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_train.py"


declare_benchmarks("gnn", rules.gnn_train, get_gnn_runs)


rule gnn_evaluate:
    input:
        history="results/gnn/{dataset}/{split}/{variant}/seed{seed}/history.tsv",
        predictions="results/gnn/{dataset}/{split}/{variant}/seed{seed}/predictions.tsv",
    output:
        metrics="results/gnn/{dataset}/{split}/{variant}/seed{seed}/metrics.json",
    params:
        code=script_code("gnn_evaluate"),
        early_stopping=lambda wc: get_gnn_variant(wc)["early_stopping"],
    log:
        "logs/gnn/{dataset}/{split}/{variant}/seed{seed}/evaluate.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_evaluate.py"


rule gnn_external_featurize:
    input:
        table=lambda wc: get_dataset_file(wc.external),
        molecules="results/gnn/{dataset}/molecules.csv",
    output:
        graphs="results/gnn/{dataset}/external/{external}/graphs.pt",
        molecules="results/gnn/{dataset}/external/{external}/molecules.csv",
        removed="results/gnn/{dataset}/external/{external}/removed.tsv",
        summary="results/gnn/{dataset}/external/{external}/summary.json",
    wildcard_constraints:
        dataset=get_constraint(config["gnn"]["datasets"]),
        external=get_constraint([config["gnn"]["external"]["dataset"]]),
    params:
        code=script_code("gnn_external_featurize"),
        table=lambda wc: config["gnn"]["tables"][wc.external],
    log:
        "logs/gnn/{dataset}/external/{external}/featurize.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_external_featurize.py"


rule gnn_external:
    input:
        model="results/gnn/{dataset}/{split}/{variant}/seed{seed}/model.pt",
        metrics="results/gnn/{dataset}/{split}/{variant}/seed{seed}/metrics.json",
        graphs="results/gnn/{dataset}/external/{external}/graphs.pt",
    output:
        metrics="results/gnn/{dataset}/{split}/{variant}/seed{seed}/external/{external}.json",
        predictions="results/gnn/{dataset}/{split}/{variant}/seed{seed}/external/{external}_predictions.tsv",
    wildcard_constraints:
        dataset=get_constraint(config["gnn"]["datasets"]),
        split=get_constraint(SPLIT_KINDS.names()),
        variant=get_constraint(config["gnn"]["variants"]),
        external=get_constraint([config["gnn"]["external"]["dataset"]]),
    params:
        code=script_code("gnn_external"),
        device=config["device"],
    threads: config["gnn"]["threads"]
    log:
        "logs/gnn/{dataset}/{split}/{variant}/seed{seed}/external_{external}.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_external.py"


rule gnn_aggregate:
    input:
        metrics=format_paths(rules.gnn_evaluate.output.metrics, get_gnn_runs()),
        histories=format_paths(rules.gnn_train.output.history, get_gnn_runs()),
        predictions=format_paths(rules.gnn_train.output.predictions, get_gnn_runs()),
        featurize=format_paths(rules.gnn_featurize.output.summary, get_gnn_datasets()),
        dropped=format_paths(rules.gnn_featurize.output.dropped, get_gnn_datasets()),
        external=format_paths(rules.gnn_external.output.metrics, get_gnn_external_runs()),
        external_removed=get_gnn_external_removed(),
    output:
        **get_gnn_report_outputs(),
    params:
        code=script_code("gnn_aggregate"),
        runs=get_gnn_runs(),
        external_runs=get_gnn_external_runs(),
        variants=config["gnn"]["run_variants"],
        comparisons=config["gnn"]["comparisons"],
        datasets=config["gnn"]["datasets"],
    log:
        "logs/gnn/aggregate.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/gnn_aggregate.py"
