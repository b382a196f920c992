"""Grid table, BS x LR heatmaps, loss curves, threshold and loss-function comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlab.io import read_json, write_tsv
from medlab.plotting import PALETTE, plt, save_figure

GRID_KEYS = ["dataset", "batch_size", "lr", "loss", "seed"]


@dataclass(frozen=True)
class CellFiles:
    """One grid cell (dataset, batch_size, lr, loss, seed) and the files it produced."""

    cell: dict
    metrics: str
    summary: str
    steps: str
    per_class: str


@dataclass(frozen=True)
class SummaryPaths:
    """Where the multi-label summary tables and figures go."""

    grid: str
    thresholds: str
    batch_sizes: str
    losses: str
    per_class: str
    heatmaps: str
    loss_curves: str


def grid_row(cell: dict, metrics: dict, summary: dict) -> dict:
    row = dict(cell)
    for setting in ("at_0.5", "per_class_thresholds", "tuned_thresholds", "global_threshold"):
        for key in (
            "micro_f1",
            "macro_f1",
            "micro_precision",
            "micro_recall",
            "macro_roc_auc",
            "micro_roc_auc",
            "mean_average_precision",
        ):
            row[f"{key}@{setting}"] = metrics[setting][key]
    row.update({f"ece_{k}": v for k, v in metrics["ece"].items()})
    row["labels_excluded"] = metrics["at_0.5"]["labels_excluded"]
    row.update(
        {
            k: summary[k]
            for k in (
                "best_epoch",
                "training_units",
                "examples_per_s",
                "peak_memory_mb",
                "train_seconds",
                "loss_cv_last_epoch",
                "loss_cv_all_steps",
            )
        }
    )
    return row


def aggregate(
    cells: list[CellFiles],
    outputs: SummaryPaths,
    ensemble: CellFiles | None = None,
    baseline: CellFiles | None = None,
) -> None:
    """Read every cell's metrics, summary, step log and per-class table; write the grid,
    threshold, batch-size, loss and per-class tables, heatmaps and loss curves to ``outputs``.

    ``ensemble`` (its ``cell`` holds ``dataset`` and ``ensemble``, the member names joined by
    '+'; no step log) adds the last row of the grid and its per-class rows; its batch size,
    learning rate, loss and seed are empty, so the per-setting comparisons leave it out.
    ``baseline`` (its ``cell`` holds ``dataset`` and ``baseline``, the baseline's name) is
    added the same way after it.
    """
    rows, steps, per_class = [], [], []
    for files in cells:
        cell = files.cell
        rows.append(grid_row(cell, read_json(files.metrics), read_json(files.summary)))
        step_log = pd.read_csv(files.steps, sep="\t")
        # "loss" in a step log is the loss value; the cell's loss function goes to loss_fn
        steps.append(
            step_log.assign(
                batch_size=cell["batch_size"],
                lr=cell["lr"],
                loss_fn=cell["loss"],
                seed=cell["seed"],
                examples_seen=step_log["step"] * cell["batch_size"],
            )
        )
        per_class.append(pd.read_csv(files.per_class, sep="\t").assign(**cell))
    grid = pd.DataFrame(rows).sort_values(GRID_KEYS).reset_index(drop=True)
    for extra in (ensemble, baseline):
        if extra is None:
            continue
        metrics, summary = read_json(extra.metrics), read_json(extra.summary)
        grid = pd.concat(
            [grid, pd.DataFrame([grid_row(extra.cell, metrics, summary)])], ignore_index=True
        )
        per_class.append(pd.read_csv(extra.per_class, sep="\t").assign(**extra.cell))
    write_tsv(grid, outputs.grid, float_format="%.6g")
    grid = grid[grid["batch_size"].notna()]
    write_tsv(threshold_comparison(grid), outputs.thresholds, float_format="%.6g")
    write_tsv(batch_size_effects(grid), outputs.batch_sizes, float_format="%.6g")
    write_tsv(loss_comparison(grid), outputs.losses, float_format="%.6g")
    plot_heatmaps(grid, outputs.heatmaps)
    plot_loss_curves(pd.concat(steps, ignore_index=True), outputs.loss_curves)
    write_tsv(pd.concat(per_class, ignore_index=True), outputs.per_class, float_format="%.6g")


def threshold_comparison(grid: pd.DataFrame) -> pd.DataFrame:
    """Per cell (mean over seeds): micro/macro F1 at 0.5, with per-class thresholds tuned on
    all of validation, with those of the configured method (``tuned_thresholds``:
    cross-validated and/or kept at 0.5 without enough gain), with one global tuned
    threshold, and the changes."""
    keys = ["dataset", "batch_size", "lr", "loss"]
    columns = [
        f"{m}@{s}"
        for m in ("micro_f1", "macro_f1")
        for s in ("at_0.5", "per_class_thresholds", "tuned_thresholds", "global_threshold")
    ]
    table = grid.groupby(keys, as_index=False)[columns].mean()
    table["macro_f1_gain_per_class"] = (
        table["macro_f1@per_class_thresholds"] - table["macro_f1@at_0.5"]
    )
    table["micro_f1_change_per_class"] = (
        table["micro_f1@per_class_thresholds"] - table["micro_f1@at_0.5"]
    )
    for metric in ("macro_f1", "micro_f1"):
        table[f"{metric}_change_tuned"] = (
            table[f"{metric}@tuned_thresholds"] - table[f"{metric}@at_0.5"]
        )
    return table


def batch_size_effects(grid: pd.DataFrame) -> pd.DataFrame:
    """Throughput and training-loss variability per batch size (mean over the other settings)."""
    return grid.groupby(["dataset", "batch_size"], as_index=False).agg(
        examples_per_s=("examples_per_s", "mean"),
        loss_cv_last_epoch=("loss_cv_last_epoch", "mean"),
        peak_memory_mb=("peak_memory_mb", "max"),
        cells=("seed", "size"),
    )


def loss_comparison(grid: pd.DataFrame) -> pd.DataFrame:
    """Per loss function, mean over batch sizes, learning rates and seeds: micro/macro F1 at 0.5
    and with tuned thresholds, macro ROC-AUC, mAP and calibration error."""
    columns = [
        "micro_f1@at_0.5",
        "macro_f1@at_0.5",
        "micro_f1@per_class_thresholds",
        "macro_f1@per_class_thresholds",
        "macro_roc_auc@at_0.5",
        "mean_average_precision@at_0.5",
        "ece_raw",
    ]
    table = grid.groupby(["dataset", "loss"], as_index=False)[columns].mean()
    table["cells"] = grid.groupby(["dataset", "loss"]).size().to_numpy()
    return table


def plot_heatmaps(grid: pd.DataFrame, path) -> None:
    """Micro- and macro-F1 (at 0.5, mean over seeds) over batch size x learning rate, one row per loss."""
    losses = sorted(grid["loss"].unique())
    fig, axes = plt.subplots(len(losses), 2, figsize=(9, 3.2 * len(losses)), squeeze=False)
    for row, loss in enumerate(losses):
        part = grid[grid["loss"] == loss]
        for col, metric in enumerate(("micro_f1@at_0.5", "macro_f1@at_0.5")):
            table = part.pivot_table(
                index="batch_size", columns="lr", values=metric, aggfunc="mean"
            )
            ax = axes[row, col]
            image = ax.imshow(table.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto")
            ax.set_xticks(range(len(table.columns)), [f"{v:g}" for v in table.columns])
            ax.set_yticks(range(len(table.index)), [str(v) for v in table.index])
            for (i, j), value in np.ndenumerate(table.to_numpy()):
                ax.text(
                    j,
                    i,
                    f"{value:.3f}",
                    ha="center",
                    va="center",
                    color="white" if value < 0.6 else "black",
                    fontsize=8,
                )
            ax.set(
                title=f"{metric.split('@')[0].replace('_', '-')} ({loss})",
                xlabel="learning rate",
                ylabel="batch size",
            )
            ax.grid(False)
            fig.colorbar(image, ax=ax, shrink=0.8)
    save_figure(fig, path)


def plot_loss_curves(steps: pd.DataFrame, path) -> None:
    """Training loss per step (first seed) for each batch size x learning rate x loss function."""
    first = steps[steps.seed == steps.seed.min()]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for index, ((batch_size, lr, loss), part) in enumerate(
        first.groupby(["batch_size", "lr", "loss_fn"])
    ):
        ax.plot(
            part["examples_seen"],
            part["loss"],
            lw=0.9,
            color=PALETTE[index % len(PALETTE)],
            label=f"bs {batch_size}, lr {lr:g}, {loss}",
        )
    ax.set(xlabel="training examples seen", ylabel="training loss (per step)", yscale="log")
    ax.legend(fontsize=7)
    save_figure(fig, path)
