# Helpers, semantic config checks and input functions (get_*) shared by all rule files.
# The schema (validated in the Snakefile) checks types and ranges; the checks here need
# several keys at once and name the offending key before any job runs.
import os
import re

from medlab.config import check_config, gnn_variant_spec, rag_base_retrievers
from medlab.provenance import code_fingerprint

check_config(config)

EXPERIMENTS = ["gnn", "attention", "rag", "multilabel"]


wildcard_constraints:
    seed=r"\d+",


def is_enabled(experiment):
    """One switch per experiment: config['experiments'][<name>]."""
    return bool(config["experiments"].get(experiment, False))


def get_dataset_file(dataset):
    """Local path of a dataset's raw file, downloaded (url datasets) or exported from a package."""
    if dataset in config["datasets"]:
        return f"results/data/{dataset}/{config['datasets'][dataset]['filename']}"
    return f"results/data/{dataset}/{get_packaged_filename(dataset)}"


def get_packaged_filename(dataset):
    return os.path.basename(config["packaged_datasets"][dataset]["path"])


def get_provenance_files():
    """Provenance records of every dataset an enabled experiment reads."""
    return [f"{get_dataset_file(name)}.provenance.json" for name in get_used_datasets()]


def script_code(name):
    """Fingerprint of the code workflow_scripts/<name>.py runs, library modules included.

    Passed to each script rule as ``params: code=...``: a logic edit in the library reruns
    the rules whose scripts import it (Snakemake tracks only the script file itself);
    comment and docstring edits rerun nothing.
    """
    return code_fingerprint(os.path.join(workflow.basedir, "workflow_scripts", f"{name}.py"))


def get_constraint(names):
    """A wildcard constraint matching exactly the given names (never the empty string)."""
    escaped = [re.escape(name) for name in names]
    return "|".join(escaped) if escaped else "(?!)"


def get_used_datasets():
    used = set()
    if is_enabled("gnn"):
        used.update(config["gnn"]["datasets"])
    if is_enabled("rag") and config["rag"]["corpus"]["format"] == "squad" and config["rag"]["corpus"]["dataset"]:
        used.add(config["rag"]["corpus"]["dataset"])
    if is_enabled("multilabel") and config["multilabel"]["dataset"] == "hoc":
        used.add("hoc")
    return sorted(used)


# ---- GNN --------------------------------------------------------------------------


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


def get_gnn_run_files(kind):
    return [f"results/gnn/{r['dataset']}/{r['split']}/{r['variant']}/seed{r['seed']}/{kind}" for r in get_gnn_runs()]


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


# ---- attention ----------------------------------------------------------------------


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
        inputs["importance"] = f"results/attention/{wildcards.model}/importance.tsv"
    return inputs


def get_attention_analyze_inputs(wildcards):
    models = list(config["attention"]["models"])
    conditions = config["attention"]["conditions"]
    return {
        "heads": [f"results/attention/{m}/conditions/{c}/heads.parquet" for m in models for c in conditions],
        "hidden": [f"results/attention/{m}/conditions/{c}/hidden.parquet" for m in models for c in conditions],
        "maps": [f"results/attention/{m}/conditions/{c}/maps.npz" for m in models for c in conditions],
        "info": [f"results/attention/{m}/conditions/{c}/info.json" for m in models for c in conditions],
        "importance": [f"results/attention/{m}/importance.tsv" for m in models],
        "curves": [f"results/attention/{m}/pruning_curves.tsv" for m in models],
        "cost": [f"results/attention/{m}/cost/heads{h}.json" for m in models for h in config["attention"]["cost"]["heads_per_layer"]],
        "cost_benchmarks": [f"benchmarks/attention/{m}/cost/heads{h}.tsv" for m in models for h in config["attention"]["cost"]["heads_per_layer"]],
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


# ---- RAG ----------------------------------------------------------------------------


def get_rag_corpus_inputs(wildcards):
    corpus = config["rag"]["corpus"]
    if corpus["format"] == "jsonl":
        return {"documents": corpus["documents"], "questions": corpus["questions"]}
    return {"file": corpus["file"] or get_dataset_file(corpus["dataset"])}


def get_rag_dir():
    return f"results/rag/{config['rag']['corpus']['name']}"


def get_rag_encoder_input(wildcards):
    """The fine-tuned encoder directory when indexing with it; nothing for the packaged encoder."""
    return {"model": f"results/rag/{wildcards.corpus}/retriever/model"} if wildcards.encoder == "finetuned" else {}


def get_rag_encoder_name(wildcards):
    return f"results/rag/{wildcards.corpus}/retriever/model" if wildcards.encoder == "finetuned" else config["rag"]["encoder"]


def get_rag_index_inputs(wildcards):
    """Cached indexes the configured retrieval methods need (named by method)."""
    rag, root = config["rag"], f"results/rag/{wildcards.corpus}"
    files = {}
    for base in rag_base_retrievers(rag):
        if base == "bm25":
            files["bm25"] = f"{root}/index/bm25_{rag['bm25_library']}.pkl"
        elif base == "dense":
            files["dense"] = f"{root}/index/dense_base_{rag['dense_index']}.faiss"
        else:
            files["dense_finetuned"] = f"{root}/index/dense_finetuned_{rag['dense_index']}.faiss"
            files["finetuned_encoder"] = f"{root}/retriever/model"
    return files


def _rag_reader_fine_tuned(reader):
    return reader == "extractive" and config["rag"]["reader"]["fine_tune"]


def get_rag_reader_input(wildcards):
    return {"model": f"results/rag/{wildcards.corpus}/reader/model"} if _rag_reader_fine_tuned(wildcards.reader) else {}


def get_rag_reader_model(wildcards):
    """The sentence reader's bi-encoder, or the extractive reader's weights (fine-tuned here or as configured)."""
    if wildcards.reader == "sentence":
        return config["rag"]["encoder"]
    if _rag_reader_fine_tuned(wildcards.reader):
        return f"results/rag/{wildcards.corpus}/reader/model"
    return config["rag"]["reader"]["model"]


def get_rag_reader_options():
    """Extractive reader decoding options (everything in rag.reader but weights and training)."""
    return {k: v for k, v in config["rag"]["reader"].items() if k not in ("model", "fine_tune", "training")}


def get_rag_evaluate_inputs(wildcards):
    root = get_rag_dir()
    return {
        "questions": f"{root}/questions.jsonl",
        "passages": f"{root}/passages.jsonl",
        "rankings": f"{root}/rankings.parquet",
        "answers": [f"{root}/answers/{reader}.parquet" for reader in config["rag"]["readers"]],
    }


def get_rag_summary_files():
    return {
        "retrieval": "results/rag/summary/retrieval.tsv",
        "readers": "results/rag/summary/readers.tsv",
        "stability": "results/rag/summary/stability.tsv",
        "perturbation": "results/rag/summary/perturbation.tsv",
        "worst": "results/rag/summary/worst_cases.tsv",
        "per_question": "results/rag/summary/per_question.tsv",
        "retrieval_plot": "results/rag/summary/retrieval.png",
        "reliability_plot": "results/rag/summary/reliability.png",
    }


def get_rag_report_outputs():
    files = get_rag_summary_files()
    for key in ("retrieval", "readers", "retrieval_plot", "reliability_plot"):
        files[key] = report(files[key], caption=f"../resources/captions/rag_{key}.rst", category="Experiment 3: RAG")
    return files


def get_rag_report_inputs():
    root = get_rag_dir()
    inputs = {f"rag_{k}": v for k, v in get_rag_summary_files().items()}
    inputs.update({"rag_stats": f"{root}/stats.json", "rag_issues": f"{root}/issues.tsv", "rag_fusion": f"{root}/fusion_weight.tsv"})
    if config["rag"]["reader"]["fine_tune"] and "extractive" in config["rag"]["readers"]:
        inputs["rag_reader_epochs"] = f"{root}/reader/epochs.tsv"
    if "dense_finetuned" in rag_base_retrievers(config["rag"]):
        inputs["rag_retriever_epochs"] = f"{root}/retriever/epochs.tsv"
    return inputs


# ---- multi-label -------------------------------------------------------------------


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


def get_multilabel_run_files(kind):
    return [
        f"results/multilabel/{c['dataset']}/runs/bs{c['batch_size']}_lr{c['lr']:g}_{c['loss']}_seed{c['seed']}/{kind}"
        for c in get_multilabel_cells()
    ]


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


# ---- report -----------------------------------------------------------------------


def get_benchmark_files():
    """Benchmark files of this configuration's heavy jobs, by rule (for the report's timing table)."""
    files = {}
    if is_enabled("gnn"):
        files["gnn_featurize"] = [f"benchmarks/gnn/{d}/featurize.tsv" for d in config["gnn"]["datasets"]]
        files["gnn_train"] = [
            f"benchmarks/gnn/{r['dataset']}/{r['split']}/{r['variant']}/seed{r['seed']}/train.tsv" for r in get_gnn_runs()
        ]
    if is_enabled("attention"):
        models = list(config["attention"]["models"])
        files["attention_importance"] = [f"benchmarks/attention/{m}/importance.tsv" for m in models]
        files["attention_pruning"] = [f"benchmarks/attention/{m}/pruning.tsv" for m in models]
        files["attention_extract"] = [
            f"benchmarks/attention/{m}/conditions/{c}.tsv" for m in models for c in config["attention"]["conditions"]
        ]
        files["attention_cost"] = [
            f"benchmarks/attention/{m}/cost/heads{h}.tsv" for m in models for h in config["attention"]["cost"]["heads_per_layer"]
        ]
    if is_enabled("rag"):
        root = get_rag_dir().replace("results/", "benchmarks/", 1)
        files["rag_index"] = [f"{root}/index_dense_{e}_{config['rag']['dense_index']}.tsv"
                              for e in ("base", "finetuned") if ("dense" if e == "base" else "dense_finetuned") in rag_base_retrievers(config["rag"])]
        files["rag_retrieve"] = [f"{root}/retrieve.tsv"]
        files["rag_read"] = [f"{root}/read_{reader}.tsv" for reader in config["rag"]["readers"]]
        if "rag_retriever_epochs" in get_rag_report_inputs():
            files["rag_train_retriever"] = [f"{root}/train_retriever.tsv"]
        if "rag_reader_epochs" in get_rag_report_inputs():
            files["rag_train_reader"] = [f"{root}/train_reader.tsv"]
    if is_enabled("multilabel"):
        files["multilabel_train"] = [
            f"benchmarks/multilabel/{c['dataset']}/runs/bs{c['batch_size']}_lr{c['lr']:g}_{c['loss']}_seed{c['seed']}.tsv"
            for c in get_multilabel_cells()
        ]
    return files



def get_report_inputs(wildcards):
    inputs = {"provenance": get_provenance_files()}
    if is_enabled("gnn"):
        inputs.update({f"gnn_{k}": v for k, v in get_gnn_summary_files().items()})
    if is_enabled("attention"):
        inputs.update({f"attention_{k}": v for k, v in get_attention_summary_files().items()})
    if is_enabled("rag"):
        inputs.update(get_rag_report_inputs())
    if is_enabled("multilabel"):
        inputs.update(get_multilabel_report_inputs())
    return inputs
