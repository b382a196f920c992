# Experiment 4 (multi-label): input functions, output lists and the wildcard values of each rule's jobs.
# Included by rules/multilabel.smk (Snakemake's lint keeps functions and rules in separate files).
from medlab.multilabel.ensemble import BASELINE_NAME
from medlab.registry import LOSSES


def get_multilabel_data_inputs(wildcards):
    return {"archive": get_dataset_file("hoc")} if wildcards.dataset == "hoc" else {}


def get_multilabel_tokens(wildcards):
    settings = config["multilabel"]
    return f"results/multilabel/{wildcards.dataset}/tokens/{settings['model']['name']}_len{settings['max_length']}_{settings['unit']}"


def get_multilabel_unit_table(wildcards):
    """The table a tokenized dataset is built from: documents, or their labelled sentences."""
    name = "sentences" if wildcards.unit == "sentence" else "table"
    return f"results/multilabel/{wildcards.dataset}/{name}.tsv"


def get_multilabel_cells():
    """One dict per grid cell (dataset, batch_size, lr, loss, seed), in a stable order."""
    grid = config["multilabel"]["grid"]
    return [
        dict(dataset=config["multilabel"]["dataset"], batch_size=b, lr=lr, loss=loss, seed=seed)
        for b in grid["batch_size"]
        for lr in grid["lr"]
        for loss in grid["loss"]
        for seed in grid["seed"]
    ]


def get_multilabel_cell_wildcards():
    """One dict of wildcard values per grid cell, as they appear in paths (lr as %g): those of
    the training rule, and ``cell``, the name of the run directory the training rule writes
    (the evaluation rule's wildcard). Called once the training rule is defined."""
    wildcards = [dict(cell, lr=f"{cell['lr']:g}") for cell in get_multilabel_cells()]
    run_directory = rules.multilabel_train.output.summary
    return [dict(w, cell=os.path.basename(os.path.dirname(run_directory.format(**w)))) for w in wildcards]


def get_multilabel_ensemble_member_files(pattern, baseline_pattern):
    """``pattern`` (a training rule output) for each grid cell named in multilabel.ensemble,
    then ``baseline_pattern`` (the baseline rule's) when the baseline is named too."""
    members = set(config["multilabel"]["ensemble"])
    files = format_paths(pattern, [w for w in get_multilabel_cell_wildcards() if w["cell"] in members])
    if BASELINE_NAME in members:
        files.append(baseline_pattern.format(dataset=config["multilabel"]["dataset"]))
    return files


def get_multilabel_baseline_files(pattern):
    """``pattern`` filled in for the baseline's run directory; empty when it is disabled."""
    if not config["multilabel"]["baseline"]["enabled"]:
        return []
    return [pattern.format(dataset=config["multilabel"]["dataset"], cell=BASELINE_NAME)]


def get_multilabel_ensemble_files(pattern):
    """``pattern`` filled in for the ensemble's run directory; empty without an ensemble."""
    if not config["multilabel"]["ensemble"]:
        return []
    return [pattern.format(dataset=config["multilabel"]["dataset"], cell="ensemble")]


def get_multilabel_summary_files():
    return {
        "grid": "results/multilabel/summary/grid.tsv",
        "thresholds": "results/multilabel/summary/thresholds.tsv",
        "batch_sizes": "results/multilabel/summary/batch_sizes.tsv",
        "losses": "results/multilabel/summary/losses.tsv",
        "per_class": "results/multilabel/summary/per_class.tsv",
        "heatmaps": "results/multilabel/summary/heatmaps.png",
        "loss_curves": "results/multilabel/summary/loss_curves.png",
    }


def get_multilabel_report_outputs():
    files = get_multilabel_summary_files()
    for key in ("grid", "heatmaps", "loss_curves", "thresholds"):
        files[key] = report(files[key], caption=f"../resources/captions/multilabel_{key}.rst", category="Experiment 4: multi-label")
    return files


def get_multilabel_report_inputs():
    dataset = config["multilabel"]["dataset"]
    return {
        **{f"multilabel_{k}": v for k, v in get_multilabel_summary_files().items()},
        "multilabel_prevalence": f"results/multilabel/{dataset}/prevalence.tsv",
        "multilabel_dropped": f"results/multilabel/{dataset}/dropped.tsv",
        "multilabel_cardinality": f"results/multilabel/{dataset}/cardinality.tsv",
    }
