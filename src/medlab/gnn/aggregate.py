"""Combine per-run GNN results into the tables and figures the report renders."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from medlab.gnn.collapse import collapse_table
from medlab.gnn.evaluate import flat_summary
from medlab.gnn.featurize import ROW_COLUMN
from medlab.io import read_json, write_tsv
from medlab.plotting import PALETTE, empty_figure, plt, save_figure

RUN_KEYS = ["dataset", "split", "variant", "seed"]
HEADLINE = [
    "test_roc_auc",
    "test_pr_auc",
    "f1_at_0.5",
    "mcc_at_0.5",
    "f1_at_val_threshold",
    "best_epoch",
    "collapse_gap",
    "train_seconds",
]


@dataclass(frozen=True)
class RunFiles:
    """One training run (dataset, split, variant, seed) and the files it produced."""

    run: dict
    metrics: str
    history: str
    predictions: str


@dataclass(frozen=True)
class ExternalRunFiles:
    """A run's external evaluation: the run (dataset, split, variant, seed) and its metrics JSON."""

    run: dict
    metrics: str


@dataclass(frozen=True)
class DatasetFiles:
    """One featurized dataset: its featurization summary (JSON) and dropped rows (TSV)."""

    name: str
    featurize: str
    dropped: str


@dataclass(frozen=True)
class SummaryPaths:
    """Where the GNN summary tables and figures go."""

    runs: str
    variants: str
    comparisons: str
    curves: str
    roc_pr: str
    dropped: str
    datasets: str
    collapse: str
    external: str
    external_removed: str


def runs_table(runs: list[dict]) -> pd.DataFrame:
    """One row per run. Each ``runs`` item: dataset, split, variant, seed, metrics (dict)."""
    rows = [{**{k: run[k] for k in RUN_KEYS}, **flat_summary(run["metrics"])} for run in runs]
    return pd.DataFrame(rows).sort_values(RUN_KEYS).reset_index(drop=True)


def variants_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of the headline metrics per dataset x split x variant."""
    grouped = runs.groupby(["dataset", "split", "variant"], sort=True)
    means = grouped[HEADLINE].mean().add_suffix("_mean")
    stds = grouped[HEADLINE].std(ddof=1).fillna(0.0).add_suffix("_std")
    table = pd.concat([means, stds], axis=1)
    table["n_seeds"] = grouped.size()
    ordered = ["n_seeds"] + [f"{m}_{s}" for m in HEADLINE for s in ("mean", "std")]
    return table[ordered].reset_index()


def comparisons_table(variants: pd.DataFrame, comparisons: dict[str, list[str]]) -> pd.DataFrame:
    """Rows of ``variants`` regrouped by named comparison (e.g. aggregation: gcn, gin, gat, sage).

    Variants in a comparison that did not run are left out.
    """
    parts = []
    for name, members in comparisons.items():
        chosen = variants[variants["variant"].isin(members)].copy()
        chosen.insert(0, "comparison", name)
        chosen["order"] = chosen["variant"].map({v: i for i, v in enumerate(members)})
        parts.append(chosen.sort_values(["dataset", "split", "order"]).drop(columns="order"))
    columns = ["comparison"] + list(variants.columns)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


# metric compared in-distribution and externally -> its column in the runs table (test split)
EXTERNAL_METRICS = {
    "roc_auc": "test_roc_auc",
    "pr_auc": "test_pr_auc",
    "f1_at_val_threshold": "f1_at_val_threshold",
}


def external_table(runs: pd.DataFrame, external: list[dict]) -> pd.DataFrame:
    """In-distribution test metrics next to external ones, mean and std over seeds, per
    dataset x split x variant.

    ``runs`` is :func:`runs_table`; each ``external`` item has dataset, split, variant,
    seed and metrics (an external metrics dict of medlab.gnn.external.evaluate_external).
    Columns: dataset, split, variant, n_seeds, external_molecules,
    external_positive_fraction, then
    <in_distribution|external>_<metric>_<mean|std> for roc_auc, pr_auc and
    f1_at_val_threshold, and roc_auc_drop_mean (in-distribution minus external).
    """
    keys = ["dataset", "split", "variant"]
    if not external:
        return pd.DataFrame(
            columns=keys + ["n_seeds", "external_molecules", "external_positive_fraction"]
        )
    rows = []
    for item in external:
        metrics = item["metrics"]
        row = {key: item[key] for key in RUN_KEYS}
        row["external_molecules"] = metrics["n_molecules"]
        row["external_positive_fraction"] = metrics["positive_fraction"]
        row["external_roc_auc"] = metrics["roc_auc"]
        row["external_pr_auc"] = metrics["pr_auc"]
        row["external_f1_at_val_threshold"] = metrics["at_val_threshold"]["f1"]
        rows.append(row)
    inside = runs[RUN_KEYS + list(EXTERNAL_METRICS.values())].rename(
        columns={column: f"in_distribution_{name}" for name, column in EXTERNAL_METRICS.items()}
    )
    merged = pd.DataFrame(rows).merge(inside, on=RUN_KEYS, how="left")
    grouped = merged.groupby(keys, sort=True)
    table = grouped.size().rename("n_seeds").to_frame()
    table["external_molecules"] = grouped["external_molecules"].first()
    table["external_positive_fraction"] = grouped["external_positive_fraction"].first()
    for name in EXTERNAL_METRICS:
        for side in ("in_distribution", "external"):
            column = f"{side}_{name}"
            table[f"{column}_mean"] = grouped[column].mean()
            table[f"{column}_std"] = grouped[column].std(ddof=1).fillna(0.0)
    table["roc_auc_drop_mean"] = (
        table["in_distribution_roc_auc_mean"] - table["external_roc_auc_mean"]
    )
    return table.reset_index()


def _write_external_tables(
    runs: pd.DataFrame,
    external_runs: list[ExternalRunFiles],
    external_removed: str | None,
    outputs: SummaryPaths,
) -> None:
    """external.tsv (:func:`external_table`) and the rows removed from the external set;
    both empty (with their columns) when the external evaluation is off."""
    external = [{**files.run, "metrics": read_json(files.metrics)} for files in external_runs]
    write_tsv(external_table(runs, external), outputs.external, float_format="%.6g")
    removed = (
        pd.read_csv(external_removed, sep="\t")
        if external_removed
        else pd.DataFrame(columns=[ROW_COLUMN, "smiles", "reason"])
    )
    write_tsv(removed, outputs.external_removed)


def plot_training_curves(histories: pd.DataFrame, path, variants: list[str]) -> None:
    """Validation AUROC per epoch for each variant (first seed), one panel per dataset x split."""
    if histories.empty:
        return empty_figure("no training history", path)
    panels = histories[["dataset", "split"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (dataset, split) in zip(axes[0], panels):
        part = histories[(histories.dataset == dataset) & (histories.split == split)]
        first_seed = part.seed.min()
        for index, variant in enumerate(v for v in variants if v in set(part.variant)):
            run = part[(part.variant == variant) & (part.seed == first_seed)]
            ax.plot(
                run.epoch, run.val_auroc, label=variant, color=PALETTE[index % len(PALETTE)], lw=1.2
            )
            best = run.loc[run.val_auroc.idxmax()]
            ax.scatter(
                [best.epoch], [best.val_auroc], color=PALETTE[index % len(PALETTE)], s=14, zorder=3
            )
        ax.set(
            title=f"{dataset}, {split} split (seed {first_seed})",
            xlabel="epoch",
            ylabel="validation AUROC",
        )
        ax.legend(loc="lower right")
    save_figure(fig, path)


def plot_roc_pr(predictions: pd.DataFrame, path, variants: list[str]) -> None:
    """Test ROC and PR curves of the reported checkpoint for each variant (first seed)."""
    test = predictions[predictions.split == "test"]
    if test.empty:
        return empty_figure("no test predictions", path)
    panels = test[["dataset", "data_split"]].drop_duplicates().values.tolist()
    fig, axes = plt.subplots(len(panels), 2, figsize=(9, 3.4 * len(panels)), squeeze=False)
    for row, (dataset, data_split) in enumerate(panels):
        part = test[(test.dataset == dataset) & (test.data_split == data_split)]
        first_seed = part.seed.min()
        for index, variant in enumerate(v for v in variants if v in set(part.variant)):
            run = part[(part.variant == variant) & (part.seed == first_seed)]
            colour = PALETTE[index % len(PALETTE)]
            fpr, tpr, _ = roc_curve(run.label, run.prob_reported)
            precision, recall, _ = precision_recall_curve(run.label, run.prob_reported)
            axes[row, 0].plot(fpr, tpr, color=colour, lw=1.1, label=variant)
            axes[row, 1].plot(recall, precision, color=colour, lw=1.1, label=variant)
        axes[row, 0].plot([0, 1], [0, 1], color="grey", ls=":", lw=0.8)
        axes[row, 0].set(
            title=f"ROC, {dataset} {data_split}",
            xlabel="false positive rate",
            ylabel="true positive rate",
        )
        axes[row, 1].axhline(part.label.mean(), color="grey", ls=":", lw=0.8)
        axes[row, 1].set(
            title=f"precision-recall, {dataset} {data_split}", xlabel="recall", ylabel="precision"
        )
        axes[row, 0].legend(loc="lower right")
    save_figure(fig, path)


def aggregate(
    runs: list[RunFiles],
    datasets: list[DatasetFiles],
    variants: list[str],
    comparisons: dict[str, list[str]],
    outputs: SummaryPaths,
    external_runs: list[ExternalRunFiles] = (),
    external_removed: str | None = None,
) -> None:
    """Read every run's and dataset's files and write the runs / variants / comparisons
    tables, training curves, ROC/PR curves, dropped rows, dataset tables, the collapse
    study and the external evaluation to ``outputs``.

    ``variants`` orders the curves' legends; ``comparisons`` names groups of variants (the
    ``collapse`` group, when present, is the collapse study). ``external_runs`` are the
    runs' external metrics and ``external_removed`` the rows left out of the external set
    (none when the external evaluation is off).
    """
    loaded, histories, predictions = [], [], []
    for files in runs:
        run = files.run
        metrics = read_json(files.metrics)
        loaded.append({**run, "metrics": metrics})
        history = pd.read_csv(files.history, sep="\t")
        histories.append(history.assign(**run))
        prediction = pd.read_csv(files.predictions, sep="\t")
        prediction["prob_reported"] = prediction[f"prob_{metrics['reported']}"]
        # "split" in a predictions file is val/test; the run's split kind goes to data_split
        predictions.append(
            prediction.assign(
                data_split=run["split"], **{k: run[k] for k in ("dataset", "variant", "seed")}
            )
        )
    runs_frame = runs_table(loaded)
    study = [
        {**run, "history": history, "final_test_auroc": run["metrics"]["final"]["test_roc_auc"]}
        for run, history in zip(loaded, histories)
    ]
    write_tsv(
        collapse_table(study, comparisons.get("collapse", [])),
        outputs.collapse,
        float_format="%.6g",
    )
    _write_external_tables(runs_frame, external_runs, external_removed, outputs)
    variants_frame = variants_table(runs_frame)
    write_tsv(runs_frame, outputs.runs, float_format="%.6g")
    write_tsv(variants_frame, outputs.variants, float_format="%.6g")
    write_tsv(
        comparisons_table(variants_frame, comparisons), outputs.comparisons, float_format="%.6g"
    )
    plot_training_curves(pd.concat(histories, ignore_index=True), outputs.curves, variants)
    plot_roc_pr(pd.concat(predictions, ignore_index=True), outputs.roc_pr, variants)
    dropped = [
        pd.read_csv(dataset.dropped, sep="\t").assign(dataset=dataset.name) for dataset in datasets
    ]
    write_tsv(
        pd.concat(dropped, ignore_index=True)[["dataset", ROW_COLUMN, "smiles", "reason"]],
        outputs.dropped,
    )
    write_tsv(
        pd.DataFrame([read_json(dataset.featurize) for dataset in datasets]).drop(
            columns="drop_reasons"
        ),
        outputs.datasets,
    )
