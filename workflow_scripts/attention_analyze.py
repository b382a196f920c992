"""Adapter: statistics, tables and figures of the attention experiment."""

from medlab.attention.summary import ModelFiles, SummaryPaths, summarize
from medlab.logs import configure_logging


def by_model(paths, models):
    """Split a list of files into one list per model: the rule lists them model by model,
    the same number for each model."""
    size, rest = divmod(len(paths), len(models))
    if rest:
        raise ValueError(f"{len(paths)} files do not split evenly over the models {models}")
    return [list(paths[index * size : (index + 1) * size]) for index in range(len(models))]


configure_logging(snakemake.log[0])
models = snakemake.params.models
files = snakemake.input
grouped = {
    key: by_model(files[key], models)
    for key in ("heads", "hidden", "maps", "info", "cost", "cost_benchmarks")
}
summarize(
    models={
        model: ModelFiles(
            **{key: lists[index] for key, lists in grouped.items()},
            importance=files.importance[index],
            curves=files.curves[index],
        )
        for index, model in enumerate(models)
    },
    conditions=snakemake.params.conditions,
    heatmap_layer=snakemake.params.heatmap_layer,
    threshold=snakemake.params.threshold,
    outputs=SummaryPaths(**dict(snakemake.output.items())),
)
