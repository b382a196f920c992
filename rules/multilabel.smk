# Experiment 4: imbalanced multi-label fine-tuning.
# data (+ split, label statistics) -> tokenize (cached dataset) -> train per grid cell
# -> evaluate (thresholds and calibration fitted on validation) -> aggregate.


include: "functions/multilabel.smk"


rule multilabel_data:
    input:
        unpack(get_multilabel_data_inputs),
    output:
        table="results/multilabel/{dataset}/table.tsv",
        dropped="results/multilabel/{dataset}/dropped.tsv",
        labels="results/multilabel/{dataset}/labels.json",
        split="results/multilabel/{dataset}/split.json",
        prevalence="results/multilabel/{dataset}/prevalence.tsv",
        cooccurrence="results/multilabel/{dataset}/cooccurrence.tsv",
        cardinality="results/multilabel/{dataset}/cardinality.tsv",
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
    params:
        code=script_code("multilabel_data"),
        synthetic=config["multilabel"]["synthetic"],
        max_documents=config["multilabel"]["max_documents"],
        fractions=config["multilabel"]["split_fractions"],
        split_seed=config["multilabel"]["split_seed"],
    log:
        "logs/multilabel/{dataset}/data.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_data.py"


rule multilabel_sentences:
    input:
        unpack(get_multilabel_data_inputs),
        table="results/multilabel/{dataset}/table.tsv",
    output:
        sentences="results/multilabel/{dataset}/sentences.tsv",
    wildcard_constraints:
        # sentence units exist only for Hallmarks of Cancer
        dataset=get_constraint(["hoc"]),
    params:
        code=script_code("multilabel_sentences"),
    log:
        "logs/multilabel/{dataset}/sentences.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_sentences.py"


rule multilabel_tokenize:
    input:
        table=get_multilabel_unit_table,
        labels="results/multilabel/{dataset}/labels.json",
    output:
        tokens=directory("results/multilabel/{dataset}/tokens/{model}_len{max_length}_{unit}"),
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
        max_length=r"\d+",
        unit=get_constraint([config["multilabel"]["unit"]]),
    params:
        code=script_code("multilabel_tokenize"),
        model=config["multilabel"]["model"]["path"],
        windows=config["multilabel"]["windows"],
    log:
        "logs/multilabel/{dataset}/tokenize_{model}_len{max_length}_{unit}.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_tokenize.py"


rule multilabel_train:
    input:
        tokens=get_multilabel_tokens,
        table="results/multilabel/{dataset}/table.tsv",
        split="results/multilabel/{dataset}/split.json",
        labels="results/multilabel/{dataset}/labels.json",
    output:
        steps="results/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}/steps.tsv",
        epochs="results/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}/epochs.tsv",
        predictions="results/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}/predictions.tsv",
        summary="results/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}/summary.json",
        model="results/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}/model.pt",
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
        batch_size=r"\d+",
        lr=r"[0-9.]+(e[+-]?[0-9]+)?",
        loss=get_constraint(LOSSES.names()),
    params:
        code=script_code("multilabel_train"),
        model=config["multilabel"]["model"]["path"],
        training=config["multilabel"]["training"],
        unit=config["multilabel"]["unit"],
        pooling=config["multilabel"]["pooling"],
        windows=config["multilabel"]["windows"],
        max_length=config["multilabel"]["max_length"],
        device=config["device"],
    threads: config["multilabel"]["threads"]
    resources:
        gpu=config["multilabel"]["resources"]["gpu"],
        mem_mb=lambda wc, attempt: config["multilabel"]["resources"]["mem_mb"] * attempt,
        runtime=lambda wc, attempt: config["multilabel"]["resources"]["runtime"] * attempt,
    retries: config["retries"]
    log:
        "logs/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}.log",
    benchmark:
        "benchmarks/multilabel/{dataset}/runs/bs{batch_size}_lr{lr}_{loss}_seed{seed}.tsv"
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_train.py"


declare_benchmarks("multilabel", rules.multilabel_train, get_multilabel_cell_wildcards)


rule multilabel_baseline:
    input:
        table="results/multilabel/{dataset}/table.tsv",
        split="results/multilabel/{dataset}/split.json",
        labels="results/multilabel/{dataset}/labels.json",
    output:
        predictions="results/multilabel/{dataset}/runs/tfidf/predictions.tsv",
        summary="results/multilabel/{dataset}/runs/tfidf/summary.json",
        model="results/multilabel/{dataset}/runs/tfidf/model.joblib",
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
    params:
        code=script_code("multilabel_baseline"),
        baseline=config["multilabel"]["baseline"],
    log:
        "logs/multilabel/{dataset}/runs/tfidf.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_baseline.py"


rule multilabel_ensemble:
    input:
        predictions=get_multilabel_ensemble_member_files(
            rules.multilabel_train.output.predictions, rules.multilabel_baseline.output.predictions
        ),
        summaries=get_multilabel_ensemble_member_files(
            rules.multilabel_train.output.summary, rules.multilabel_baseline.output.summary
        ),
        labels="results/multilabel/{dataset}/labels.json",
    output:
        predictions="results/multilabel/{dataset}/runs/ensemble/predictions.tsv",
        summary="results/multilabel/{dataset}/runs/ensemble/summary.json",
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
    params:
        code=script_code("multilabel_ensemble"),
        members=config["multilabel"]["ensemble"],
    log:
        "logs/multilabel/{dataset}/runs/ensemble.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_ensemble.py"


rule multilabel_evaluate:
    input:
        predictions="results/multilabel/{dataset}/runs/{cell}/predictions.tsv",
        labels="results/multilabel/{dataset}/labels.json",
    output:
        metrics="results/multilabel/{dataset}/runs/{cell}/metrics.json",
        per_class="results/multilabel/{dataset}/runs/{cell}/per_class.tsv",
    wildcard_constraints:
        dataset=get_constraint([config["multilabel"]["dataset"]]),
    params:
        code=script_code("multilabel_evaluate"),
        thresholds=config["multilabel"]["thresholds"],
    log:
        "logs/multilabel/{dataset}/runs/{cell}_evaluate.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_evaluate.py"


rule multilabel_aggregate:
    input:
        metrics=format_paths(rules.multilabel_evaluate.output.metrics, get_multilabel_cell_wildcards()),
        summaries=format_paths(rules.multilabel_train.output.summary, get_multilabel_cell_wildcards()),
        steps=format_paths(rules.multilabel_train.output.steps, get_multilabel_cell_wildcards()),
        per_class=format_paths(rules.multilabel_evaluate.output.per_class, get_multilabel_cell_wildcards()),
        # empty lists without an ensemble
        ensemble_metrics=get_multilabel_ensemble_files(rules.multilabel_evaluate.output.metrics),
        ensemble_summary=get_multilabel_ensemble_files(rules.multilabel_ensemble.output.summary),
        ensemble_per_class=get_multilabel_ensemble_files(rules.multilabel_evaluate.output.per_class),
        baseline_metrics=get_multilabel_baseline_files(rules.multilabel_evaluate.output.metrics),
        baseline_summary=get_multilabel_baseline_files(rules.multilabel_baseline.output.summary),
        baseline_per_class=get_multilabel_baseline_files(rules.multilabel_evaluate.output.per_class),
    output:
        **get_multilabel_report_outputs(),
    params:
        code=script_code("multilabel_aggregate"),
        cells=get_multilabel_cells(),
        ensemble=config["multilabel"]["ensemble"],
    log:
        "logs/multilabel/aggregate.log",
    conda:
        "../envs/medlab.yaml"
    script:
        "../workflow_scripts/multilabel_aggregate.py"
