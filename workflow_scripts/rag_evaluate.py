"""Adapter: retrieval and reader metrics, calibration, stability, perturbations, worst cases."""

from medlab.logs import configure_logging
from medlab.rag.summary import summarize

configure_logging(snakemake.log[0])
summarize(
    snakemake.input,
    snakemake.params.top_k,
    snakemake.params.adaptive,
    snakemake.params.focus_method,
    snakemake.params.evaluation["correct_f1"],
    snakemake.params.evaluation["worst_cases"],
    snakemake.output,
)
