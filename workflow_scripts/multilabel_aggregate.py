"""Adapter: grid table, heatmaps, loss curves and comparisons of the multi-label experiment."""

from medlab.logs import configure_logging
from medlab.multilabel.aggregate import CellFiles, SummaryPaths, aggregate
from medlab.multilabel.ensemble import BASELINE_NAME

configure_logging(snakemake.log[0])
files = snakemake.input
aggregate(
    # the rule lists each cell's files in params.cells order
    [
        CellFiles(cell, metrics, summary, steps, per_class)
        for cell, metrics, summary, steps, per_class in zip(
            snakemake.params.cells,
            files.metrics,
            files.summaries,
            files.steps,
            files.per_class,
            strict=True,
        )
    ],
    SummaryPaths(**dict(snakemake.output.items())),
    ensemble=CellFiles(
        {
            "dataset": snakemake.params.cells[0]["dataset"],
            "ensemble": "+".join(snakemake.params.ensemble),
        },
        files.ensemble_metrics[0],
        files.ensemble_summary[0],
        None,
        files.ensemble_per_class[0],
    )
    if snakemake.params.ensemble
    else None,
    baseline=CellFiles(
        {"dataset": snakemake.params.cells[0]["dataset"], "baseline": BASELINE_NAME},
        files.baseline_metrics[0],
        files.baseline_summary[0],
        None,
        files.baseline_per_class[0],
    )
    if files.baseline_metrics
    else None,
)
