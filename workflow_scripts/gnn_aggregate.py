"""Adapter: per-run results -> summary tables and figures for the report."""

from medlab.gnn.aggregate import DatasetFiles, ExternalRunFiles, RunFiles, SummaryPaths, aggregate
from medlab.logs import configure_logging

configure_logging(snakemake.log[0])
files = snakemake.input
aggregate(
    # the rule lists each run's files in params.runs order, each dataset's in params.datasets order
    runs=[
        RunFiles(run, metrics, history, predictions)
        for run, metrics, history, predictions in zip(
            snakemake.params.runs, files.metrics, files.histories, files.predictions, strict=True
        )
    ],
    datasets=[
        DatasetFiles(name, featurize, dropped)
        for name, featurize, dropped in zip(
            snakemake.params.datasets, files.featurize, files.dropped, strict=True
        )
    ],
    variants=snakemake.params.variants,
    comparisons=snakemake.params.comparisons,
    outputs=SummaryPaths(**dict(snakemake.output.items())),
    external_runs=[
        ExternalRunFiles(run, metrics)
        for run, metrics in zip(snakemake.params.external_runs, files.external, strict=True)
    ],
    # one removed-rows file when the external evaluation runs, none otherwise
    external_removed=files.external_removed[0] if files.external_removed else None,
)
