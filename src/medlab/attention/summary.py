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


@dataclass(frozen=True)
class ModelTables:
    """Every model's inputs read into tidy tables (column ``model``), and its info records."""

    heads: pd.DataFrame
    hidden: pd.DataFrame
    curves: pd.DataFrame
    cost: pd.DataFrame
    infos: dict[str, list[dict]]

    @classmethod
    def read(cls, models: dict[str, ModelFiles]) -> ModelTables:
        return cls(
            heads=_read_per_model(models, lambda files: files.heads, pd.read_parquet),
            hidden=_read_per_model(models, lambda files: files.hidden, pd.read_parquet),
            curves=_read_per_model(models, lambda files: [files.curves], _read_tsv),
            cost=cost_table(models),
            infos={model: [read_json(p) for p in files.info] for model, files in models.items()},
        )

    def of(self, name: str, model: str) -> pd.DataFrame:
        """The rows of table ``name`` (heads, hidden, curves, cost) that belong to ``model``."""
        table = getattr(self, name)
        return table[table.model == model]


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
    tables = ModelTables.read(models)
    _write_tables(models, tables, conditions, threshold, outputs)
    _draw_figures(models, tables, conditions, heatmap_layer, threshold, outputs)


def _write_tables(models, tables: ModelTables, conditions, threshold, outputs) -> None:
    order = {name: index for index, name in enumerate(conditions)}
    summary = pd.concat(
        [
            condition_summary(tables.of("heads", model), tables.of("hidden", model)).assign(
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
        paired_tests(tables.of("heads", model)).assign(model=model)
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
    write_tsv(tables.curves, outputs.curves, float_format="%.6g")
    tolerance_tables = [
        tolerances(_read_tsv(files.curves), threshold).assign(model=model)
        for model, files in models.items()
    ]
    write_tsv(pd.concat(tolerance_tables, ignore_index=True), outputs.tolerances)
    write_tsv(tables.cost, outputs.cost, float_format="%.6g")
    write_tsv(inputs_table(tables.infos), outputs.inputs)


def _draw_figures(models, tables: ModelTables, conditions, heatmap_layer, threshold, outputs):
    """One figure per kind, one row per model."""
    names = list(models)
    plot_per_model(
        names,
        DISTRIBUTIONS_SIZE,
        lambda figure, model: draw_distributions(figure, tables.of("heads", model), conditions),
        outputs.distributions,
    )
    plot_per_model(
        names,
        HIDDEN_CHANGE_SIZE,
        lambda figure, model: draw_hidden_change(figure, tables.of("hidden", model), conditions),
        outputs.hidden_change,
    )
    heatmaps = {model: _heatmap_inputs(models[model], tables.infos[model]) for model in names}
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
        lambda figure, model: draw_pruning(figure, tables.of("curves", model), threshold),
        outputs.pruning_plot,
    )
    plot_per_model(
        names,
        COST_SIZE,
        lambda figure, model: draw_cost(figure, tables.of("cost", model)),
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
