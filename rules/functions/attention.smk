# Experiment 2 (attention): input functions, output lists and the wildcard values of each rule's jobs.
# Included by rules/attention.smk (Snakemake's lint keeps functions and rules in separate files).
from medlab.attention.ranges import model_shape


def get_attention_disabled_spec(wildcards):
    """Heads to disable in this condition: none for original/positions_removed."""
    if wildcards.condition in ("original", "positions_removed"):
        return None
    return config["attention"]["disabled_heads"]


def _attention_needs_importance(condition):
    spec = config["attention"]["disabled_heads"]
    by_importance = not spec["heads"] and spec["policy"] != "random"
    return by_importance and condition in ("heads_disabled", "both")


def get_attention_extract_inputs(wildcards):
    inputs = {"sentences": config["attention"]["sentences"]}
    if _attention_needs_importance(wildcards.condition):
        inputs["importance"] = rules.attention_importance.output.importance.format(model=wildcards.model)
    return inputs


def get_attention_cost_points():
    """One dict of wildcard values (model, heads) per cost measurement of this configuration."""
    heads_per_layer = config["attention"]["cost"]["heads_per_layer"]
    return [dict(model=m, heads=h) for m in config["attention"]["models"] for h in heads_per_layer]


def get_attention_conditions():
    """One dict of wildcard values (model, condition) per extraction, model by model."""
    conditions = config["attention"]["conditions"]
    return [dict(model=m, condition=c) for m in config["attention"]["models"] for c in conditions]


def get_attention_models():
    return [dict(model=m) for m in config["attention"]["models"]]


def get_attention_analyze_inputs(wildcards):
    """Every model's files, model by model (the analyze script groups them in this order)."""
    extract = rules.attention_extract.output
    return {
        "heads": format_paths(extract.heads, get_attention_conditions()),
        "hidden": format_paths(extract.hidden, get_attention_conditions()),
        "maps": format_paths(extract.maps, get_attention_conditions()),
        "info": format_paths(extract.info, get_attention_conditions()),
        "importance": format_paths(rules.attention_importance.output.importance, get_attention_models()),
        "curves": format_paths(rules.attention_pruning.output.curves, get_attention_models()),
        "cost": format_paths(rules.attention_cost.output.cost, get_attention_cost_points()),
        "cost_benchmarks": format_paths(rules.attention_cost.benchmark, get_attention_cost_points()),
    }


def get_attention_summary_files():
    files = {
        "summary": "results/attention/summary/conditions.tsv",
        "tests": "results/attention/summary/wilcoxon_tests.tsv",
        "importance": "results/attention/summary/importance.tsv",
        "curves": "results/attention/summary/pruning_curves.tsv",
        "tolerances": "results/attention/summary/pruning_tolerances.tsv",
        "cost": "results/attention/summary/cost.tsv",
        "inputs": "results/attention/summary/inputs.tsv",
        "heatmaps": "results/attention/summary/heatmaps.png",
        "distributions": "results/attention/summary/distributions.png",
        "hidden_change": "results/attention/summary/hidden_change.png",
        "pruning_plot": "results/attention/summary/pruning.png",
        "cost_plot": "results/attention/summary/cost.png",
    }
    return files


def get_attention_report_outputs():
    files = get_attention_summary_files()
    for key in ("heatmaps", "distributions", "hidden_change", "pruning_plot", "cost_plot", "tests"):
        files[key] = report(files[key], caption=f"../resources/captions/attention_{key}.rst", category="Experiment 2: attention")
    return files


def get_attention_report_inputs():
    """The report's attention inputs, keyed attention_<summary file>."""
    return {f"attention_{k}": v for k, v in get_attention_summary_files().items()}


def get_attention_hub_ranges(wildcards):
    """Layer and head settings to check in the job that loads a hub model (None otherwise:
    packaged and local models are checked before any job), so only hub models' extraction
    reruns when these settings change."""
    attention = config["attention"]
    if model_shape(attention["models"][wildcards.model]) is not None:
        return None
    return {
        "heatmap_layer": attention["heatmap_layer"],
        "disabled_heads": attention["disabled_heads"]["heads"],
        "heads_per_layer": attention["cost"]["heads_per_layer"],
    }
