"""Adapter: summary files of the enabled experiments -> results/report/index.html."""

from medlab.io import read_json
from medlab.logs import configure_logging
from medlab.report.render import render_report
from medlab.report.runinfo import run_header
from medlab.report.sections import attention_section, gnn_section, multilabel_section, rag_section
from medlab.report.usage import gnn_usage, multilabel_usage, rag_usage, usage_table


def inputs_of(experiment):
    """The report's input files of one experiment, keyed without the experiment prefix."""
    prefix = f"{experiment}_"
    return {
        key[len(prefix) :]: path for key, path in snakemake.input.items() if key.startswith(prefix)
    }


configure_logging(snakemake.log[0])
enabled = [name for name, on in snakemake.params.experiments.items() if on]
disabled = [name for name, on in snakemake.params.experiments.items() if not on]
header = run_header(
    preset=snakemake.params.preset,
    provenance=[read_json(path) for path in snakemake.input.provenance],
    benchmarks=snakemake.params.benchmarks,
    models=snakemake.params.models,
)

sections = []
if "gnn" in enabled:
    sections.append(gnn_section(inputs_of("gnn"), snakemake.params.gnn_comparisons))
if "attention" in enabled:
    sections.append(attention_section(inputs_of("attention")))
if "rag" in enabled:
    sections.append(rag_section(inputs_of("rag")))
if "multilabel" in enabled:
    sections.append(
        multilabel_section(inputs_of("multilabel"), unit=snakemake.params.multilabel_unit)
    )
usage = []
if "gnn" in enabled:
    usage += gnn_usage(snakemake.input.gnn_datasets, snakemake.input.gnn_dropped)
if "rag" in enabled:
    usage += rag_usage(
        snakemake.params.rag_corpus, snakemake.input.rag_stats, snakemake.input.rag_issues
    )
if "multilabel" in enabled:
    usage += multilabel_usage(
        snakemake.params.multilabel_dataset,
        snakemake.input.multilabel_cardinality,
        snakemake.input.multilabel_dropped,
    )
header["usage"] = usage_table(usage)
render_report(snakemake.output.html, snakemake.params.title, header, sections, disabled)
