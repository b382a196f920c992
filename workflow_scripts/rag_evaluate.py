"""Adapter: retrieval and reader metrics, calibration, stability, perturbations, worst cases."""

from medlab.io import write_tsv
from medlab.logs import configure_logging
from medlab.rag.summary import plot_reliability, plot_retrieval, summarize

configure_logging(snakemake.log[0])
params, output = snakemake.params, snakemake.output
summary = summarize(
    snakemake.input.questions,
    snakemake.input.passages,
    snakemake.input.rankings,
    snakemake.input.answers,
    params.top_k,
    params.adaptive,
    params.focus_method,
    params.evaluation["correct_f1"],
    params.evaluation["worst_cases"],
)
write_tsv(summary.retrieval, output.retrieval)
write_tsv(summary.per_question, output.per_question)
write_tsv(summary.readers, output.readers)
write_tsv(summary.stability, output.stability)
write_tsv(summary.perturbation, output.perturbation)
write_tsv(summary.worst, output.worst)
plot_retrieval(summary.retrieval, output.retrieval_plot)
plot_reliability(summary.scored, *summary.focus, output.reliability_plot)
