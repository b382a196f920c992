"""One function per experiment: summary files -> a section dict the template renders.

A section dict has: id, title, question, original (what the original experiment found),
findings (list of measured sentences), blocks (list of {kind: table|figure, title, html|src,
caption}).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from medlab.gnn.collapse import collapse_verdict
from medlab.rag.layout import ABLATION_CONFIGURED, ABLATION_GOLD_ONLY, ABLATION_SYNTHETIC_ONLY
from medlab.report.figures import png_data_uri
from medlab.report.tables import html_table


def _table_block(
    title: str, frame: pd.DataFrame, caption: str = "", best=None, digits: int = 3, formats=None
) -> dict:
    return {
        "kind": "table",
        "title": title,
        "html": html_table(frame, best=best, digits=digits, formats=formats),
        "caption": caption,
    }


def _figure_block(title: str, path, caption: str) -> dict:
    return {"kind": "figure", "title": title, "src": png_data_uri(path), "caption": caption}


def _read_tables(files: dict, *keys: str) -> list[pd.DataFrame]:
    """The TSV summary files under ``keys`` of ``files``, in that order."""
    return [pd.read_csv(files[key], sep="\t") for key in keys]


def _mean_std(frame: pd.DataFrame, metric: str) -> pd.Series:
    return (
        frame[f"{metric}_mean"].map("{:.3f}".format)
        + " ± "
        + frame[f"{metric}_std"].map("{:.3f}".format)
    )


def gnn_section(files: dict, comparisons_config: dict[str, list[str]] | None = None) -> dict:
    """Experiment 1 from the GNN summary files (keys as in rules/functions/gnn.smk).

    ``comparisons_config`` is ``gnn.comparisons``; with it, a comparison that ran fewer
    than two of its variants names the ones to add to ``gnn.run_variants``.
    """
    variants, runs, comparisons, dropped, datasets = _read_tables(
        files, "variants", "runs", "comparisons", "dropped", "datasets"
    )

    display = variants[["dataset", "split", "variant", "n_seeds"]].copy()
    for metric, label in [
        ("test_roc_auc", "test ROC-AUC"),
        ("test_pr_auc", "test PR-AUC"),
        ("mcc_at_0.5", "MCC @0.5"),
        ("f1_at_val_threshold", "F1 @val thr."),
        ("best_epoch", "best epoch"),
    ]:
        display[label] = variants[f"{metric}_mean"]
        display[label + " ±"] = variants[f"{metric}_std"]
    findings = _gnn_findings(variants, runs)
    blocks = [
        _table_block(
            "Datasets",
            datasets,
            "Molecules read, kept and dropped per dataset (rows dropped are listed below).",
            digits=3,
        ),
        _table_block(
            "Variants (mean and std over seeds)",
            display,
            "Test metrics of the reported checkpoint: restored best-validation weights with early stopping; "
            "last-epoch weights for variants trained without it. Best value per column in bold.",
            best={
                "test ROC-AUC": "max",
                "test PR-AUC": "max",
                "MCC @0.5": "max",
                "F1 @val thr.": "max",
            },
        ),
        _figure_block(
            "Training curves",
            files["curves"],
            "Validation AUROC per epoch; dots mark each variant's best epoch.",
        ),
        _figure_block(
            "ROC and precision-recall curves",
            files["roc_pr"],
            "Test set, reported checkpoint, first seed.",
        ),
    ]
    blocks += _comparison_blocks(comparisons, comparisons_config)
    collapse_blocks, verdict = _collapse_blocks(files, comparisons_config)
    blocks += collapse_blocks
    if verdict:
        findings.append(verdict)
    blocks += _external_blocks(files)
    dropped_caption = (
        f"{len(dropped)} row(s) dropped in total; rows are numbered as 1-based data rows of the "
        "dataset's file (header excluded)."
        if len(dropped)
        else "No row was dropped."
    )
    blocks.append(
        _table_block(
            "Dropped molecules",
            dropped if len(dropped) else pd.DataFrame({"note": ["none"]}),
            dropped_caption,
        )
    )
    return {
        "id": "gnn",
        "title": "Experiment 1 — GNNs for blood–brain-barrier permeability",
        "question": "Does a graph attention network predict BBB permeability reliably, and which remedies "
        "(early stopping, regularisation, edge features, imbalance handling, aggregation) actually help?",
        "original": "The original GAT on BBBP peaked at validation AUROC ≈ 0.92 around epoch 150, then collapsed to "
        "AUROC 0.51 (recall 1.0, precision 0.76: the all-positive classifier).",
        "findings": findings,
        "blocks": blocks,
    }


def _collapse_blocks(
    files: dict, comparisons_config: dict[str, list[str]] | None
) -> tuple[list[dict], str | None]:
    """The collapse study's table and its verdict sentence; nothing when no study run exists."""
    table = pd.read_csv(files["collapse"], sep="\t")
    if table.empty:
        return [], None
    study = (comparisons_config or {}).get("collapse") or list(dict.fromkeys(table["variant"]))
    verdict = collapse_verdict(table, study)
    block = _table_block(
        "Collapse study",
        table,
        verdict + " Logit std (validation) at the first, best and last epoch; saturated: "
        "|logit| > 10 or p outside [1e-4, 1 − 1e-4]; over-smoothing: mean cosine similarity of "
        "a molecule's node states after the last layer, on a fixed validation batch.",
    )
    return [block], verdict


def _external_blocks(files: dict) -> list[dict]:
    """In-distribution vs external metrics and the molecules left out of the external set."""
    table, removed = _read_tables(files, "external", "external_removed")
    if table.empty:
        return []
    display = table[["dataset", "split", "variant", "n_seeds", "external_molecules"]].copy()
    display["external BBB+ share"] = table["external_positive_fraction"]
    for metric, label in [
        ("roc_auc", "ROC-AUC"),
        ("pr_auc", "PR-AUC"),
        ("f1_at_val_threshold", "F1 @val thr."),
    ]:
        display[f"test {label}"] = _mean_std(table, f"in_distribution_{metric}")
        display[f"external {label}"] = _mean_std(table, f"external_{metric}")
    display["ROC-AUC drop"] = table["roc_auc_drop_mean"]
    in_training = removed["reason"].str.startswith("also in the training dataset").sum()
    return [
        _table_block(
            "External evaluation",
            display,
            "Test split of the run's own dataset against the external set (mean ± std over seeds; "
            "the reported checkpoint at its F1-optimal validation threshold). "
            f"{in_training} external molecule(s) also in the training dataset (same canonical "
            f"SMILES) and {len(removed) - in_training} invalid row(s) were removed, listed below. "
            "With few BBB- molecules in the external set, its ROC-AUC rests on few negatives "
            "and varies widely.",
            best={"ROC-AUC drop": "min"},
        ),
        _table_block(
            "Molecules removed from the external set",
            removed if len(removed) else pd.DataFrame({"note": ["none"]}),
            "Rows numbered as 1-based data rows of the external file (header excluded).",
        ),
    ]


def _comparison_blocks(
    comparisons: pd.DataFrame, configured: dict[str, list[str]] | None
) -> list[dict]:
    """One table per comparison that ran at least two variants; a note for the others."""
    ran = {name: part for name, part in comparisons.groupby("comparison", sort=False)}
    names = list(configured) if configured else list(ran)
    blocks, omitted = [], []
    for name in names:
        part = ran.get(name, comparisons.iloc[0:0])
        present = list(dict.fromkeys(part["variant"]))
        if len(present) < 2:
            missing = [v for v in (configured or {}).get(name, []) if v not in present]
            # the collapse study's variants run through their own key, on chosen data only
            key = "gnn.collapse_study.variants" if name == "collapse" else "gnn.run_variants"
            enable = f"add {', '.join(missing)} to {key}" if missing else "run more variants"
            omitted.append(f"{name} (ran: {', '.join(present) or 'none'}; {enable})")
            continue
        table = part[["dataset", "split", "variant", "n_seeds"]].copy()
        table["test ROC-AUC"] = _mean_std(part, "test_roc_auc")
        table["test PR-AUC"] = _mean_std(part, "test_pr_auc")
        table["MCC @0.5"] = _mean_std(part, "mcc_at_0.5")
        table["collapse gap"] = part["collapse_gap_mean"]
        blocks.append(
            _table_block(
                f"Comparison: {name}", table, "mean ± std over seeds", best={"collapse gap": "min"}
            )
        )
    if omitted:
        note = pd.DataFrame({"comparison omitted (fewer than two variants ran)": omitted})
        blocks.append(
            _table_block("Comparisons not shown", note, "A comparison needs two variants or more.")
        )
    return blocks


def _gnn_findings(variants: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    findings = []
    for (dataset, split), part in variants.groupby(["dataset", "split"]):
        top = part.loc[part["test_roc_auc_mean"].idxmax()]
        findings.append(
            f"{dataset}, {split} split: best variant {top['variant']} with test ROC-AUC "
            f"{top['test_roc_auc_mean']:.3f} ± {top['test_roc_auc_std']:.3f} over {int(top['n_seeds'])} seed(s)."
        )
    controls = runs[runs["variant"].str.contains("no_early_stopping")]
    for row in controls.to_dict("records"):
        findings.append(
            f"Control without early stopping ({row['dataset']}, {row['split']}, seed {row['seed']}): best validation "
            f"AUROC {row['best_val_auroc']:.3f} at epoch {row['best_epoch']}, final {row['final_val_auroc']:.3f} after "
            f"{row['epochs_trained']} epochs (collapse gap {row['collapse_gap']:.3f}); last-epoch weights give test "
            f"ROC-AUC {row['final_test_roc_auc']:.3f}, recall {row['recall_at_0.5']:.3f} and precision "
            f"{row['precision_at_0.5']:.3f} at 0.5."
        )
    return findings


# the original's claims about pruning tolerance per band (fraction of heads prunable)
CLAIMED_TOLERANCE = {"lower": "≈ 50%", "middle": "20–30%", "upper": "10–15%", "global": "—"}


def attention_section(files: dict) -> dict:
    """Experiment 2 from the attention summary files."""
    summary, tests, tolerances, cost, inputs, importance = _read_tables(
        files, "summary", "tests", "tolerances", "cost", "inputs", "importance"
    )

    overall = tests[tests["layer"].astype(str) == "all"]
    test_table = overall[
        [
            "model",
            "condition",
            "metric",
            "n_sentences",
            "mean_original",
            "mean_condition",
            "median_difference",
            "rank_biserial",
            "p_adjusted_bh",
        ]
    ]
    tolerance_table = tolerances.assign(claimed=tolerances["band"].map(CLAIMED_TOLERANCE))
    cost_table = cost[
        [
            "model",
            "heads_per_layer",
            "parameters",
            "attention_parameters",
            "attention_gflops_per_batch",
            "latency_ms_median",
            "max_rss_mb",
        ]
    ]
    layer_importance = importance.groupby(["model", "layer"], as_index=False)["importance"].agg(
        ["mean", "max"]
    )
    blocks = [
        _table_block(
            "Inputs",
            inputs,
            "Sentences used, empty lines skipped, sentences truncated to the model's length, heads disabled.",
        ),
        _table_block(
            "Conditions (per-sentence means over layers and heads)",
            summary,
            "Entropy in nats over non-padding keys; distance Σⱼ aᵢⱼ·|i−j| in tokens; both averaged over queries; "
            "last-layer change: 1 − cosine and relative L2 of hidden states vs the original.",
            digits=3,
        ),
        _table_block(
            "Paired tests against the original",
            test_table,
            "Wilcoxon signed-rank on per-sentence means; effect size = matched-pairs rank-biserial correlation "
            "(positive: condition higher); p-values Benjamini–Hochberg adjusted over all tests (per-layer tests in "
            "wilcoxon_tests.tsv).",
            digits=4,
            formats={"p_adjusted_bh": "{:.2g}"},
        ),
        _figure_block(
            "Attention heatmaps",
            files["heatmaps"],
            "Rows: conditions; columns: sentences; one colour scale.",
        ),
        _figure_block(
            "Entropy and distance per layer",
            files["distributions"],
            "Per-sentence means over heads, by layer and condition.",
        ),
        _figure_block(
            "Hidden-state change per layer",
            files["hidden_change"],
            "Against the original model on the same sentences.",
        ),
        _table_block(
            "Head importance per layer",
            layer_importance,
            "Importance = loss of sentence-embedding quality (1 − mean cosine to the unpruned model) when the head alone is disabled.",
            digits=4,
        ),
        _table_block(
            "Prunable fraction per layer band vs the original's claim",
            tolerance_table,
            "Largest fraction of a band's least important heads that can be disabled while quality stays at or above the threshold.",
        ),
        _figure_block(
            "Pruning curves",
            files["pruning_plot"],
            "Quality retained vs fraction of heads pruned, per band.",
        ),
        _table_block(
            "Cost vs heads per layer",
            cost_table,
            "Encoder really pruned to N heads in every layer; latency per batch (median), attention FLOPs, peak job memory (max RSS).",
            best={"latency_ms_median": "min"},
        ),
        _figure_block(
            "Cost curves",
            files["cost_plot"],
            "Latency, attention parameters and memory vs heads per layer.",
        ),
    ]
    return {
        "id": "attention",
        "title": "Experiment 2 — Attention and position embeddings inside a BERT encoder",
        "question": "How do attention entropy, attention distance and hidden states change when heads are disabled, "
        "positions removed, or both; which heads matter, how many can be pruned per layer band, and what do heads cost?",
        "original": "On a few sentences: entropy 1.91–2.46 nats, distance 4.65–11.46 tokens; disabling heads raised entropy a "
        "little, removing positions raised it strongly (mean 2.31 → above 3.0) and distance (up to 13.71); lower "
        "layers ~50% of heads prunable, middle 20–30%, top 10–15%.",
        "findings": _attention_findings(summary, overall, tolerances),
        "blocks": blocks,
    }


def _attention_findings(
    summary: pd.DataFrame, overall: pd.DataFrame, tolerances: pd.DataFrame
) -> list[str]:
    findings = []
    for row in overall.to_dict("records"):
        direction = "higher" if row["median_difference"] > 0 else "lower"
        findings.append(
            f"{row['model']}, {row['condition']}: {row['metric']} {row['mean_original']:.3f} → {row['mean_condition']:.3f} "
            f"({direction}; rank-biserial {row['rank_biserial']:+.2f}, adjusted p = {row['p_adjusted_bh']:.2g}, n = {int(row['n_sentences'])})."
        )
    for row in tolerances.to_dict("records"):
        findings.append(
            f"{row['model']}, {row['band']} band: {row['prunable_fraction']:.0%} of heads prunable at quality ≥ {row['threshold']} "
            f"(claimed {CLAIMED_TOLERANCE.get(row['band'], '—')})."
        )
    return findings


def _grid_row_kind(row: dict) -> str:
    """What a row of the multi-label grid is: a fine-tuned cell, the ensemble or the baseline."""
    if isinstance(row.get("baseline"), str):
        return "TF-IDF baseline"
    if isinstance(row.get("ensemble"), str):
        return "ensemble"
    return "fine-tuned"


def _cell_settings_as_text(grid: pd.DataFrame) -> dict[str, list[str]]:
    """batch_size, lr, loss and seed as text, "—" where a row has none (ensemble, baseline):
    a missing setting is not a metric that could not be computed."""

    def text(value, form: str) -> str:
        return "—" if pd.isna(value) else form.format(value)

    return {
        "batch_size": [text(v, "{:.0f}") for v in grid["batch_size"]],
        "lr": [text(v, "{:g}") for v in grid["lr"]],
        "loss": [text(v, "{}") for v in grid["loss"]],
        "seed": [text(v, "{:.0f}") for v in grid["seed"]],
    }


def multilabel_section(files: dict, unit: str = "document") -> dict:
    """Experiment 4 from the multi-label summary files; ``unit`` is what each training example was."""
    grid, thresholds, batch_sizes, losses, per_class, prevalence, dropped = _read_tables(
        files, "grid", "thresholds", "batch_sizes", "losses", "per_class", "prevalence", "dropped"
    )
    grid = grid.assign(run=[_grid_row_kind(row) for row in grid.to_dict("records")])
    grid_table = grid[
        [
            "run",
            "batch_size",
            "lr",
            "loss",
            "seed",
            "micro_f1@at_0.5",
            "macro_f1@at_0.5",
            "micro_f1@per_class_thresholds",
            "macro_f1@per_class_thresholds",
            "macro_roc_auc@at_0.5",
            "mean_average_precision@at_0.5",
            "ece_raw",
            "ece_isotonic",
            "labels_excluded",
            "examples_per_s",
        ]
    ].assign(**_cell_settings_as_text(grid))
    # the ensemble and baseline rows (no batch size) are reported on their own lines below
    cells = grid[grid["batch_size"].notna()]
    best = cells.loc[cells["macro_f1@at_0.5"].idxmax()]
    first = per_class[
        (per_class.batch_size == best.batch_size)
        & (per_class.lr == best.lr)
        & (per_class["loss"] == best["loss"])
        & (per_class.seed == best.seed)
    ]
    per_class_table = first[
        [
            "label",
            "test_positives",
            "roc_auc",
            "average_precision",
            "f1_0.5",
            "threshold",
            "f1_tuned",
            "tp_tuned",
            "fp_tuned",
            "fn_tuned",
        ]
    ]
    findings = [
        f"Best cell by macro-F1: batch {int(best.batch_size)}, lr {best.lr:g}, {best['loss']}: micro-F1 {best['micro_f1@at_0.5']:.3f}, "
        f"macro-F1 {best['macro_f1@at_0.5']:.3f} at 0.5; with per-class validation thresholds micro-F1 "
        f"{best['micro_f1@per_class_thresholds']:.3f}, macro-F1 {best['macro_f1@per_class_thresholds']:.3f}.",
        f"Training units: {unit}s ({int(best['training_units']):,} in the train split)"
        + (
            "; sentence predictions are rolled up to their document (any sentence for a label; all sentences for "
            "'none'), so every metric is per document."
            if unit == "sentence"
            else "; texts longer than max_length are truncated."
        ),
    ]
    for row in grid[grid["batch_size"].isna()].to_dict("records"):
        if row["run"] == "TF-IDF baseline":
            findings.append(
                f"Baseline, TF-IDF + logistic regression on whole documents: micro-F1 "
                f"{row['micro_f1@at_0.5']:.3f}, macro-F1 {row['macro_f1@at_0.5']:.3f} at 0.5; with "
                f"per-class thresholds micro-F1 {row['micro_f1@tuned_thresholds']:.3f}, macro-F1 "
                f"{row['macro_f1@tuned_thresholds']:.3f}; macro ROC-AUC {row['macro_roc_auc@at_0.5']:.3f}."
            )
            continue
        findings.append(
            f"Ensemble of {row['ensemble'].replace('+', ', ')} (mean probability): micro-F1 "
            f"{row['micro_f1@at_0.5']:.3f}, macro-F1 {row['macro_f1@at_0.5']:.3f} at 0.5; with "
            f"per-class thresholds tuned on its validation probabilities micro-F1 "
            f"{row['micro_f1@tuned_thresholds']:.3f}, macro-F1 {row['macro_f1@tuned_thresholds']:.3f}."
        )
    for row in thresholds.to_dict("records"):
        findings.append(
            f"bs {int(row['batch_size'])}, lr {row['lr']:g}, {row['loss']}: per-class thresholds change macro-F1 by "
            f"{row['macro_f1_gain_per_class']:+.3f} and micro-F1 by {row['micro_f1_change_per_class']:+.3f}."
        )
    excluded = int(grid["labels_excluded"].max())
    if excluded:
        findings.append(
            f"{excluded} label(s) had no positives (or no negatives) in the test split and are excluded from macro averages."
        )
    blocks = [
        _table_block(
            "Labels",
            prevalence,
            "Count and prevalence per label, positives per split (iterative stratification).",
            formats={"prevalence": "{:.4f}"},
        ),
        _table_block(
            "Grid",
            grid_table,
            "Test metrics per cell; thresholds and calibration fitted on validation only.",
            best={
                "micro_f1@at_0.5": "max",
                "macro_f1@at_0.5": "max",
                "macro_f1@per_class_thresholds": "max",
                "ece_isotonic": "min",
            },
        ),
        _figure_block(
            "Batch size × learning rate",
            files["heatmaps"],
            "Micro- and macro-F1 at 0.5, mean over seeds.",
        ),
        _figure_block("Training loss", files["loss_curves"], "Per-step training loss."),
        _table_block(
            "Thresholds: before and after",
            thresholds,
            "Mean over seeds.",
            best={"macro_f1_gain_per_class": "max"},
        ),
        _table_block(
            "Loss functions",
            losses,
            "Mean over batch sizes, learning rates and seeds.",
            best={
                "macro_f1@at_0.5": "max",
                "micro_f1@at_0.5": "max",
                "macro_f1@per_class_thresholds": "max",
                "ece_raw": "min",
            },
        ),
        _table_block(
            "Per class (best cell)",
            per_class_table,
            "Test split; F1 at 0.5 and at the label's validation-tuned threshold.",
        ),
        _table_block(
            "Batch size: throughput and loss variability",
            batch_sizes,
            "Training examples per second and coefficient of variation of the per-step loss in the last epoch.",
            best={"examples_per_s": "max"},
        ),
        _table_block(
            "Dropped rows",
            dropped if len(dropped) else pd.DataFrame({"note": ["none"]}),
            f"{len(dropped)} row(s) dropped.",
        ),
    ]
    return {
        "id": "multilabel",
        "title": "Experiment 4 — Imbalanced multi-label fine-tuning",
        "question": f"{label_balance(prevalence)}: which batch size, learning rate and loss work, and do "
        "validation-tuned thresholds and calibration rescue the rarer labels without wrecking micro-F1?",
        "original": "On its synthetic clinical notes (RoBERTa, 8 labels, 'healthy' on 92.5% of notes): best batch "
        "64 / lr 3e-5 with micro-F1 0.8509 but macro-F1 0.1203; threshold tuning raised macro-F1 by 52% but "
        "dropped micro-F1 to 0.30.",
        "findings": findings,
        "blocks": blocks,
    }


def label_balance(prevalence: pd.DataFrame) -> str:
    """The label balance of this run's data in words, from the prevalence table.

    E.g. "8 labels, from 'healthy' on 90.8% of examples down to 'pneumonia' on 0.83%".
    """
    ranked = prevalence.sort_values("prevalence", ascending=False)
    top, rare = ranked.iloc[0], ranked.iloc[-1]
    return (
        f"{len(ranked)} labels, from {top['label']!r} on {top['prevalence']:.1%} of examples "
        f"down to {rare['label']!r} on {rare['prevalence']:.2%}"
    )


def rag_section(files: dict) -> dict:
    """Experiment 3 from the RAG summary files (keys as in medlab.rag.layout.report_inputs)."""
    retrieval, readers, stability, perturbation, worst, issues = _read_tables(
        files, "retrieval", "readers", "stability", "perturbation", "worst", "issues"
    )
    stats = json.loads(Path(files["stats"]).read_text())
    original = retrieval[retrieval["variant"] == "original"].drop(columns="variant")
    reader_columns = [
        "reader",
        "method",
        "cutoff",
        "n",
        "answered",
        "no_answer_rate",
        "exact_match",
        "f1",
        "contains_answer",
        "answer_in_passages",
        "answer_tokens",
        "mean_confidence",
        "ece_raw",
        "ece_calibrated",
        "ece_calibrated_note",
        "confidence_auroc",
        "confidence_auroc_note",
    ]
    corpus_table = pd.DataFrame(
        [
            {
                "documents": stats["documents"],
                "passages": stats["passages"],
                **{
                    f"{split} questions": count
                    for split, count in sorted(stats["questions"].items())
                },
            }
        ]
    )
    blocks = [
        _table_block(
            "Corpus",
            corpus_table,
            "Questions split by document (train / dev / test): no test document is seen in fine-tuning.",
        ),
        _table_block(
            "Records skipped or repaired",
            issues if len(issues) else pd.DataFrame({"note": ["none"]}),
            "Counted while loading; nothing is dropped silently.",
        ),
        _table_block(
            "Retrieval (test questions)",
            original,
            "recall: gold document among the kept passages; answer_in_passages: a gold answer string among them; "
            "MRR@10 / nDCG@10 (ranx) over the documents of the top-10 passages; answer_mrr@10: MRR@10 of the "
            "first passage holding a gold answer.",
            best={
                "recall": "max",
                "answer_in_passages": "max",
                "mrr@10": "max",
                "ndcg@10": "max",
                "answer_mrr@10": "max",
            },
        ),
        _figure_block(
            "Recall per method", files["retrieval_plot"], "Test questions, original queries."
        ),
        _table_block(
            "Weighted fusion: BM25 weight",
            pd.read_csv(files["fusion"], sep="\t"),
            "Chosen on the dev questions (gold-document MRR@10), never on test.",
            best={"dev_mrr@10": "max"},
        ),
        _table_block(
            "Readers (test questions)",
            readers[reader_columns],
            "gold_passage: the reader given the passage holding the answer (its ceiling). no_answer_rate: share "
            "of questions the reader abstained on; EM, F1 and confidence cover the answered ones. Confidence is "
            "calibrated by Platt scaling fitted on dev answers; correct = token F1 ≥ the configured threshold.",
            best={
                "exact_match": "max",
                "f1": "max",
                "contains_answer": "max",
                "ece_calibrated": "min",
                "confidence_auroc": "max",
            },
        ),
        _figure_block(
            "Confidence reliability",
            files["reliability_plot"],
            "Fraction correct per confidence bin; the diagonal is perfect calibration.",
        ),
        _table_block(
            "Answer stability across top_k", stability, "Same question, fewer vs more passages."
        ),
        _table_block(
            "Query perturbations",
            perturbation,
            "Test questions with a trailing '?' added or removed, or lower-cased.",
        ),
        _table_block(
            "Worst answers (most confidently wrong)",
            worst,
            "Lowest token F1 first, then highest confidence.",
        ),
    ]
    if "synthetic_stats" in files:
        blocks += synthetic_blocks(files["synthetic_stats"], files["synthetic_sample"])
    for key, title in (
        ("reader_epochs", "Reader fine-tuning"),
        ("retriever_epochs", "Retriever fine-tuning"),
    ):
        if key in files:
            epochs = pd.read_csv(files[key], sep="\t")
            blocks.append(_table_block(title, epochs, epochs_caption(epochs)))
    findings = _rag_findings(original, readers, stability, perturbation)
    if "reader_ablation" in files:
        ablation = pd.read_csv(files["reader_ablation"], sep="\t")
        blocks += reader_ablation_blocks(ablation, files["reader_ablation_plot"])
        findings.append(reader_ablation_finding(ablation))
    return {
        "id": "rag",
        "title": "Experiment 3 — Retrieval-augmented QA over health papers",
        "question": "Which retriever finds the passages that answer a question, does a reader extract the right answer, "
        "and does its confidence say when it is right?",
        "original": "BM25 vs dense (all-MiniLM-L6-v2) at top_k 5 and 10 over 10 PubMed papers, without gold answers: BM25 answers "
        "were stable across top_k, dense answers shifted; confidence did not track correctness (0.646 vs 0.008 for "
        "near-identical answers); answers were often generic ('AI'); a question mark changed confidence 0.181 → 0.089.",
        "findings": findings,
        "blocks": blocks,
    }


def synthetic_blocks(stats_path, sample_path) -> list[dict]:
    """The synthetic questions: counts per kind (from stats.json) and the seeded sample."""
    stats = json.loads(Path(stats_path).read_text())
    counts = pd.DataFrame(
        [
            {
                **{f"{kind} questions": n for kind, n in stats["per_kind"].items()},
                "kept": stats["questions"],
                "made": stats["made"],
                "duplicates dropped": stats["duplicates"],
                "passages read": stats["passages_read"],
                "training documents": stats["train_documents"],
            }
        ]
    )
    sample = pd.read_csv(sample_path, sep="\t")
    return [
        _table_block(
            "Synthetic questions",
            counts,
            "Made from the passages of the training documents only (never dev or test): a number, "
            "acronym, entity or clause of a sentence becomes the answer and the sentence around it "
            "the question; kept: after dropping duplicates and sampling at most "
            "rag.reader.synthetic.max_examples.",
        ),
        _table_block(
            "Synthetic questions: a sample",
            sample,
            f"{len(sample)} questions drawn with the corpus seed, with the answer the reader is taught.",
        ),
    ]


def reader_ablation_blocks(table: pd.DataFrame, plot_path) -> list[dict]:
    """The reader ablation (rag.reader.ablation, its summary.tsv as ``table``): the table
    and its learning curve."""
    shown = table.drop(columns="variant")
    shown["dev_f1_after_synthetic_note"] = shown["synthetic_epochs"].map(
        lambda epochs: "" if epochs else "no synthetic stage"
    )
    return [
        _table_block(
            "Reader ablation: what the synthetic questions add",
            shown,
            "Extractive readers trained on the gold train questions only, on the synthetic "
            "questions only, on part of the synthetic questions before the gold ones (the "
            "learning curve; a seeded sample, each part of the next) and the configured reader, "
            "all with the same settings otherwise. Scores read the gold passage with the plain "
            "best span, as training scores dev (the readers table above reads with "
            "rag.reader's reading options, so its gold_passage row differs): dev EM / F1 of the "
            "kept epoch (best dev F1 over both stages), test EM / F1 of its weights; "
            "dev_f1_after_synthetic: at the synthetic stage's last epoch.",
            best={"dev_f1": "max", "test_exact_match": "max", "test_f1": "max"},
            formats={"training_seconds": "{:.0f}"},
        ),
        _figure_block(
            "Reader ablation: learning curve",
            plot_path,
            "Dev F1 with the gold passage against the number of synthetic questions read "
            "before the gold ones (0: gold questions only).",
        ),
    ]


def reader_ablation_finding(table: pd.DataFrame) -> str:
    """One line: the test F1 with the gold passage of every reader of the ablation table."""

    def named(row: dict) -> str:
        if row["variant"] == ABLATION_GOLD_ONLY:
            return "gold only"
        questions = f"{int(row['synthetic_questions']):,}"
        if row["variant"] == ABLATION_SYNTHETIC_ONLY:
            return f"synthetic only ({questions})"
        configured = " (configured)" if row["variant"] == ABLATION_CONFIGURED else ""
        return f"{questions} synthetic → gold{configured}"

    scores = "; ".join(f"{named(row)} {row['test_f1']:.3f}" for row in table.to_dict("records"))
    return f"Reader ablation, test F1 with the gold passage: {scores}."


def epochs_caption(epochs: pd.DataFrame) -> str:
    """Caption of a per-epoch fine-tuning table, naming only what its columns hold."""
    parts = ["Per epoch: mean training loss"]
    if "stage" in epochs.columns and (epochs["stage"] == "synthetic").any():
        parts.append(
            "the stage (synthetic questions first, then the gold train questions; the best dev "
            "epoch over both is kept)"
        )
    if any(column.startswith("dev_") for column in epochs.columns):
        parts.append("dev scores, which read the gold passage")
    if "hard_negatives" in epochs.columns:
        parts.append("whether a BM25 hard negative joined each pair")
    parts.append("seconds and throughput")
    return "; ".join(parts) + "."


def _rag_findings(
    retrieval: pd.DataFrame,
    readers: pd.DataFrame,
    stability: pd.DataFrame,
    perturbation: pd.DataFrame,
) -> list[str]:
    findings = []
    for cutoff, part in retrieval.groupby("cutoff", sort=False):
        ranked = part.sort_values("recall", ascending=False)
        findings.append(
            f"Recall at {cutoff}: "
            + ", ".join(f"{r['method']} {r['recall']:.3f}" for r in ranked.to_dict("records"))
            + "."
        )
    retrieved = readers[readers["method"] != "gold_passage"]
    for reader, part in retrieved.groupby("reader", sort=False):
        top = part.loc[part["f1"].idxmax()]
        gold = readers[(readers["reader"] == reader) & (readers["method"] == "gold_passage")]
        ceiling = f"; with the gold passage F1 {gold['f1'].iloc[0]:.3f}" if len(gold) else ""
        auroc = (
            "not computed" if pd.isna(top["confidence_auroc"]) else f"{top['confidence_auroc']:.3f}"
        )
        findings.append(
            f"{reader} reader: best end-to-end F1 {top['f1']:.3f} (EM {top['exact_match']:.3f}) with {top['method']} "
            f"{top['cutoff']}{ceiling}; confidence AUROC for correctness {auroc}."
        )
    for row in stability.to_dict("records"):
        findings.append(
            f"{row['reader']} reader, {row['method']}: {row['same_answer']:.0%} of answers identical at {row['cutoffs']}."
        )
    for row in perturbation.to_dict("records"):
        findings.append(
            f"{row['reader']} reader, {row['perturbation']}: {row['answer_changed']:.0%} of answers changed, "
            f"mean |Δconfidence| {row['mean_abs_confidence_change']:.3f}."
        )
    return findings
