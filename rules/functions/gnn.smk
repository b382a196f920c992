# Experiment 1 (GNN): input functions, output lists and the wildcard values of each rule's jobs.
# Included by rules/gnn.smk (Snakemake's lint keeps functions and rules in separate files).
from medlab.registry import SPLIT_KINDS


def get_gnn_table(wildcards):
    return get_dataset_file(wildcards.dataset)


def get_gnn_variant(wildcards):
    """The full training spec of a variant: gnn.defaults overridden by gnn.variants.<name>."""
    return gnn_variant_spec(config, wildcards.variant)


def get_gnn_runs():
    """(dataset, split, variant, seed) of every training run the config asks for: every
    gnn.run_variants run, then the collapse study's runs not already among them."""
    gnn = config["gnn"]
    study = gnn["collapse_study"]
    runs = [
        dict(dataset=d, split=s, variant=v, seed=seed)
        for d in gnn["datasets"]
        for s in gnn["splits"]
        for v in gnn["run_variants"]
        for seed in gnn["seeds"]
    ]
    runs += [
        dict(dataset=d, split=s, variant=v, seed=seed)
        for d in study["datasets"]
        for s in study["splits"]
        for v in study["variants"]
        for seed in study["seeds"]
    ]
    return list({tuple(run.items()): run for run in runs}.values())


def get_gnn_external_dataset():
    """The external dataset's name when the external evaluation runs (enabled and its
    models are trained), else None."""
    external = config["gnn"]["external"]
    if external["enabled"] and external["trained_on"] in config["gnn"]["datasets"]:
        return external["dataset"]
    return None


def get_gnn_external_runs():
    """Wildcards of each external evaluation: every run of gnn.external.trained_on."""
    external = get_gnn_external_dataset()
    if external is None:
        return []
    trained_on = config["gnn"]["external"]["trained_on"]
    return [dict(run, external=external) for run in get_gnn_runs() if run["dataset"] == trained_on]


def get_gnn_external_removed():
    """The rows left out of the external set (a list of one path, or empty)."""
    external = get_gnn_external_dataset()
    if external is None:
        return []
    trained_on = config["gnn"]["external"]["trained_on"]
    return [f"results/gnn/{trained_on}/external/{external}/removed.tsv"]


def get_gnn_summary_files():
    return {
        "runs": "results/gnn/summary/runs.tsv",
        "variants": "results/gnn/summary/variants.tsv",
        "comparisons": "results/gnn/summary/comparisons.tsv",
        "curves": "results/gnn/summary/training_curves.png",
        "roc_pr": "results/gnn/summary/roc_pr.png",
        "dropped": "results/gnn/summary/dropped.tsv",
        "datasets": "results/gnn/summary/datasets.tsv",
        "collapse": "results/gnn/summary/collapse.tsv",
        "external": "results/gnn/summary/external.tsv",
        "external_removed": "results/gnn/summary/external_removed.tsv",
    }


def get_gnn_report_outputs():
    """The GNN summary files, with the key ones marked for `snakemake --report`."""
    files = get_gnn_summary_files()
    captions = {
        "variants": "gnn_variants.rst",
        "comparisons": "gnn_comparisons.rst",
        "curves": "gnn_curves.rst",
        "roc_pr": "gnn_roc_pr.rst",
        "collapse": "gnn_collapse.rst",
        "external": "gnn_external.rst",
    }
    for key, caption in captions.items():
        files[key] = report(files[key], caption=f"../resources/captions/{caption}", category="Experiment 1: GNN")
    return files


def get_gnn_datasets():
    """One dict of wildcard values per dataset this configuration featurizes."""
    return [dict(dataset=dataset) for dataset in config["gnn"]["datasets"]]


def get_gnn_report_inputs():
    """The report's GNN inputs, keyed gnn_<summary file>."""
    return {f"gnn_{k}": v for k, v in get_gnn_summary_files().items()}
