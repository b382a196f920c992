"""Combine per-condition tables, importance, pruning and cost into the files the report renders."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from medlab.attention.analysis import (
    condition_summary,
    paired_tests,
    plot_cost,
    plot_distributions,
    plot_heatmaps,
    plot_hidden_change,
    plot_pruning,
)
from medlab.attention.importance import tolerances
from medlab.io import read_json, write_tsv


def _model_of(path: str) -> str:
    # results/attention/<model>/...
    return path.split("/")[2]


def summarize(inputs, outputs, params) -> None:
    """Write tables (conditions, tests, importance, pruning, cost, inputs) and figures.

    Figures show the first configured model; tables hold every model (column ``model``).
    """
    heads = pd.concat(
        [pd.read_parquet(p).assign(model=_model_of(p)) for p in inputs.heads], ignore_index=True
    )
    hidden = pd.concat(
        [pd.read_parquet(p).assign(model=_model_of(p)) for p in inputs.hidden], ignore_index=True
    )
    summaries, tests = [], []
    for model in params.models:
        summaries.append(
            condition_summary(heads[heads.model == model], hidden[hidden.model == model]).assign(
                model=model
            )
        )
        tests.append(
            paired_tests(heads[heads.model == model]).assign(model=model)
            if "original" in params.conditions
            else pd.DataFrame()
        )
    order = {name: index for index, name in enumerate(params.conditions)}
    summary = pd.concat(summaries, ignore_index=True)
    summary = summary.sort_values(
        ["model", "condition"], key=lambda c: c.map(order) if c.name == "condition" else c
    )
    write_tsv(
        summary[["model"] + [c for c in summary.columns if c != "model"]],
        outputs.summary,
        float_format="%.6g",
    )
    write_tsv(pd.concat(tests, ignore_index=True), outputs.tests, float_format="%.6g")
    for key in ("importance", "curves"):
        frame = pd.concat(
            [pd.read_csv(p, sep="\t").assign(model=_model_of(p)) for p in inputs[key]],
            ignore_index=True,
        )
        write_tsv(frame, outputs[key], float_format="%.6g")
    tolerance_tables = [
        tolerances(pd.read_csv(p, sep="\t"), params.threshold).assign(model=_model_of(p))
        for p in inputs.curves
    ]
    write_tsv(pd.concat(tolerance_tables, ignore_index=True), outputs.tolerances)
    cost = _cost_table(inputs.cost, inputs.cost_benchmarks)
    write_tsv(cost, outputs.cost, float_format="%.6g")
    infos = [read_json(p) for p in inputs.info]
    write_tsv(
        pd.DataFrame(
            [
                {k: v for k, v in info.items() if k != "tokens"}
                | {"disabled_heads": len(info["disabled_heads"])}
                for info in infos
            ]
        ),
        outputs.inputs,
    )

    first = params.models[0]
    conditions = list(params.conditions)
    plot_distributions(heads[heads.model == first], conditions, outputs.distributions)
    plot_hidden_change(hidden[hidden.model == first], conditions, outputs.hidden_change)
    maps, tokens = {}, {}
    for path, info in zip(inputs.maps, infos):
        if _model_of(path) != first:
            continue
        with np.load(path) as archive:
            maps[info["condition"]] = {int(k.split("_")[1]): archive[k] for k in archive.files}
        tokens = {int(k): v for k, v in info["tokens"].items()}
    plot_heatmaps(maps, tokens, conditions, params.heatmap_layer, outputs.heatmaps)
    curves = pd.read_csv(inputs.curves[0], sep="\t")
    plot_pruning(curves, params.threshold, outputs.pruning_plot)
    plot_cost(cost[cost.model == first], outputs.cost_plot)


def _cost_table(cost_files: list[str], benchmark_files: list[str]) -> pd.DataFrame:
    rows = []
    for cost_path, benchmark_path in zip(cost_files, benchmark_files):
        row = json.loads(open(cost_path).read())
        benchmark = pd.read_csv(benchmark_path, sep="\t")
        row["max_rss_mb"] = float(benchmark["max_rss"].iloc[-1])
        row["job_seconds"] = float(benchmark["s"].iloc[-1])
        row["model"] = _model_of(cost_path)
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["model", "heads_per_layer"]).reset_index(drop=True)
