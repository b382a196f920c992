"""Combine per-condition tables, importance, pruning and cost into the files the report renders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlab.attention.analysis import (
    COST_SIZE,
    DISTRIBUTIONS_SIZE,
    HIDDEN_CHANGE_SIZE,
    PRUNING_SIZE,
    condition_summary,
    draw_cost,
    draw_distributions,
    draw_heatmaps,
    draw_hidden_change,
    draw_pruning,
    heatmaps_size,
    paired_tests,
)
from medlab.attention.importance import tolerances
from medlab.io import read_json, write_tsv
from medlab.plotting import plt, save_figure

# room for the model name above each model's row of panels (inches)
TITLE_HEIGHT = 0.4


@dataclass(frozen=True)
class ModelFiles:
    """One model's inputs: per-condition files in the ``conditions`` order given to
    ``summarize``, cost and cost benchmark files in matching pairs (one per head count)."""

    heads: list[str]
    hidden: list[str]
    maps: list[str]
    info: list[str]
    importance: str
    curves: str
    cost: list[str]
    cost_benchmarks: list[str]


@dataclass(frozen=True)
class SummaryPaths:
    """Where the attention summary tables and figures go."""

    summary: str
    tests: str
    importance: str
    curves: str
    tolerances: str
    cost: str
    inputs: str
    heatmaps: str
    distributions: str
    hidden_change: str
    pruning_plot: str
    cost_plot: str


def summarize(
    models: dict[str, ModelFiles],
    conditions: list[str],
    heatmap_layer: int,
    threshold: float,
    outputs: SummaryPaths,
) -> None:
    """Write tables (conditions, tests, importance, pruning, cost, inputs) and figures.

    ``models`` maps each model's name to its files, in the order the report lists them.
    Tables hold every model (column ``model``); each figure has one row of panels per
    model, titled with the model's name. ``threshold`` is the pruning quality threshold.
    """
    heads = _read_per_model(models, lambda files: files.heads, pd.read_parquet)
    hidden = _read_per_model(models, lambda files: files.hidden, pd.read_parquet)
    order = {name: index for index, name in enumerate(conditions)}
    summary = pd.concat(
        [
            condition_summary(heads[heads.model == model], hidden[hidden.model == model]).assign(
                model=model
            )
            for model in models
        ],
        ignore_index=True,
    ).sort_values(
        ["model", "condition"], key=lambda c: c.map(order) if c.name == "condition" else c
    )
    write_tsv(
        summary[["model"] + [c for c in summary.columns if c != "model"]],
        outputs.summary,
        float_format="%.6g",
    )
    tests = [
        paired_tests(heads[heads.model == model]).assign(model=model)
        if "original" in conditions
        else pd.DataFrame()
        for model in models
    ]
    write_tsv(pd.concat(tests, ignore_index=True), outputs.tests, float_format="%.6g")
    write_tsv(
        _read_per_model(models, lambda files: [files.importance], _read_tsv),
        outputs.importance,
        float_format="%.6g",
    )
    curves = _read_per_model(models, lambda files: [files.curves], _read_tsv)
    write_tsv(curves, outputs.curves, float_format="%.6g")
    tolerance_tables = [
        tolerances(_read_tsv(files.curves), threshold).assign(model=model)
        for model, files in models.items()
    ]
    write_tsv(pd.concat(tolerance_tables, ignore_index=True), outputs.tolerances)
    cost = cost_table(models)
    write_tsv(cost, outputs.cost, float_format="%.6g")
    infos = {model: [read_json(path) for path in files.info] for model, files in models.items()}
    write_tsv(inputs_table(infos), outputs.inputs)
    _draw_figures(
        models, conditions, heatmap_layer, threshold, heads, hidden, curves, cost, infos, outputs
    )


def _draw_figures(
    models, conditions, heatmap_layer, threshold, heads, hidden, curves, cost, infos, outputs
):
    """One figure per kind, one row per model."""
    names = list(models)
    plot_per_model(
        names,
        DISTRIBUTIONS_SIZE,
        lambda figure, model: draw_distributions(figure, heads[heads.model == model], conditions),
        outputs.distributions,
    )
    plot_per_model(
        names,
        HIDDEN_CHANGE_SIZE,
        lambda figure, model: draw_hidden_change(figure, hidden[hidden.model == model], conditions),
        outputs.hidden_change,
    )
    heatmaps = {model: _heatmap_inputs(models[model], infos[model]) for model in names}
    sentences = max(len(tokens) for _, tokens in heatmaps.values())
    plot_per_model(
        names,
        heatmaps_size(len(conditions), sentences),
        lambda figure, model: draw_heatmaps(figure, *heatmaps[model], conditions, heatmap_layer),
        outputs.heatmaps,
    )
    plot_per_model(
        names,
        PRUNING_SIZE,
        lambda figure, model: draw_pruning(figure, curves[curves.model == model], threshold),
        outputs.pruning_plot,
    )
    plot_per_model(
        names,
        COST_SIZE,
        lambda figure, model: draw_cost(figure, cost[cost.model == model]),
        outputs.cost_plot,
    )


def plot_per_model(
    models: list[str],
    row_size: tuple[float, float],
    draw: Callable[[object, str], None],
    path,
) -> None:
    """Save one figure with a row per model, titled with its name.

    ``draw(subfigure, model)`` draws one model's panels into its row; ``row_size`` is the
    (width, height) in inches of one row without its title.
    """
    width, height = row_size
    fig = plt.figure(figsize=(width, (height + TITLE_HEIGHT) * len(models)), layout="constrained")
    rows = fig.subfigures(len(models), 1, squeeze=False)[:, 0]
    for row, model in zip(rows, models):
        row.suptitle(model, fontweight="bold")
        draw(row, model)
    save_figure(fig, path)


def cost_table(models: dict[str, ModelFiles]) -> pd.DataFrame:
    """One row per model x heads per layer: the cost measurement with the job's peak memory
    (max_rss_mb) and wall time (job_seconds) from its Snakemake benchmark file."""
    rows = []
    for model, files in models.items():
        for cost_path, benchmark_path in zip(files.cost, files.cost_benchmarks, strict=True):
            row = read_json(cost_path)
            benchmark = _read_tsv(benchmark_path)
            row["max_rss_mb"] = float(benchmark["max_rss"].iloc[-1])
            row["job_seconds"] = float(benchmark["s"].iloc[-1])
            row["model"] = model
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["model", "heads_per_layer"]).reset_index(drop=True)


def inputs_table(infos: dict[str, list[dict]]) -> pd.DataFrame:
    """What each condition of each model read: the info records without their token lists,
    with the number of disabled heads instead of the heads themselves."""
    return pd.DataFrame(
        [
            {k: v for k, v in info.items() if k != "tokens"}
            | {"disabled_heads": len(info["disabled_heads"])}
            for records in infos.values()
            for info in records
        ]
    )


def _heatmap_inputs(files: ModelFiles, infos: list[dict]) -> tuple[dict, dict]:
    """(maps[condition][sentence] arrays, tokens[sentence]) of one model's heatmap sentences."""
    maps, tokens = {}, {}
    for path, info in zip(files.maps, infos, strict=True):
        with np.load(path) as archive:
            maps[info["condition"]] = {int(k.split("_")[1]): archive[k] for k in archive.files}
        tokens = {int(k): v for k, v in info["tokens"].items()}
    return maps, tokens


def _read_per_model(models: dict[str, ModelFiles], paths_of, read) -> pd.DataFrame:
    """Every model's files read and stacked, with the model's name in column ``model``."""
    return pd.concat(
        [
            read(path).assign(model=model)
            for model, files in models.items()
            for path in paths_of(files)
        ],
        ignore_index=True,
    )


def _read_tsv(path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t")
