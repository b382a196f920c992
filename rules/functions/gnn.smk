# Experiment 1 (GNN): input functions, output lists and the wildcard values of each rule's jobs.
# Included by rules/gnn.smk (Snakemake's lint keeps functions and rules in separate files).
from medlab.registry import SPLIT_KINDS


def get_gnn_table(wildcards):
    return get_dataset_file(wildcards.dataset)


def get_gnn_variant(wildcards):
    """The full training spec of a variant: gnn.defaults overridden by gnn.variants.<name>."""
    return gnn_variant_spec(config, wildcards.variant)


def get_gnn_runs():
    """(dataset, split, variant, seed) of every training run the config asks for."""
    gnn = config["gnn"]
    return [
        dict(dataset=d, split=s, variant=v, seed=seed)
        for d in gnn["datasets"]
        for s in gnn["splits"]
        for v in gnn["run_variants"]
        for seed in gnn["seeds"]
    ]


def get_gnn_summary_files():
    return {
        "runs": "results/gnn/summary/runs.tsv",
        "variants": "results/gnn/summary/variants.tsv",
        "comparisons": "results/gnn/summary/comparisons.tsv",
        "curves": "results/gnn/summary/training_curves.png",
        "roc_pr": "results/gnn/summary/roc_pr.png",
        "dropped": "results/gnn/summary/dropped.tsv",
        "datasets": "results/gnn/summary/datasets.tsv",
    }


def get_gnn_report_outputs():
    """The GNN summary files, with the key ones marked for `snakemake --report`."""
    files = get_gnn_summary_files()
    captions = {
        "variants": "gnn_variants.rst",
        "comparisons": "gnn_comparisons.rst",
        "curves": "gnn_curves.rst",
        "roc_pr": "gnn_roc_pr.rst",
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
