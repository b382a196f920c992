# Config helpers and semantic config checks shared by all rule files; each experiment's
# rule file holds its own input functions and output lists. The schema (validated in the
# Snakefile) checks types and ranges; the checks here need several keys at once and name
# the offending key before any job runs.
import os
import re

from medlab.config import check_config, gnn_variant_spec
from medlab.rag.layout import rag_base_retrievers
from medlab.provenance import code_fingerprint

check_config(config)

EXPERIMENTS = ["gnn", "attention", "rag", "multilabel"]


wildcard_constraints:
    seed=r"\d+",


def is_enabled(experiment):
    """One switch per experiment: config['experiments'][<name>]."""
    return bool(config["experiments"].get(experiment, False))


def get_dataset_file(dataset):
    """Local path of a dataset's raw file, downloaded (url datasets) or exported from a package."""
    if dataset in config["datasets"]:
        return f"results/data/{dataset}/{config['datasets'][dataset]['filename']}"
    return f"results/data/{dataset}/{get_packaged_filename(dataset)}"


def get_packaged_filename(dataset):
    return os.path.basename(config["packaged_datasets"][dataset]["path"])


def get_provenance_files():
    """Provenance records of every dataset an enabled experiment reads."""
    return [f"{get_dataset_file(name)}.provenance.json" for name in get_used_datasets()]


def get_used_datasets():
    used = set()
    if is_enabled("gnn"):
        used.update(config["gnn"]["datasets"])
        external = config["gnn"]["external"]
        if external["enabled"] and external["trained_on"] in config["gnn"]["datasets"]:
            used.add(external["dataset"])
    if is_enabled("rag") and config["rag"]["corpus"]["format"] == "squad" and config["rag"]["corpus"]["dataset"]:
        used.add(config["rag"]["corpus"]["dataset"])
    if is_enabled("multilabel") and config["multilabel"]["dataset"] == "hoc":
        used.add("hoc")
    return sorted(used)


def script_code(name):
    """Fingerprint of the code workflow_scripts/<name>.py runs, library modules included.

    Passed as the ``code`` param of every script rule, so a logic edit in the library
    reruns the rules whose scripts import it (Snakemake tracks only the script file itself);
    comment and docstring edits rerun nothing.
    """
    return code_fingerprint(os.path.join(workflow.basedir, "workflow_scripts", f"{name}.py"))


def get_constraint(names):
    """A wildcard constraint matching exactly the given names (never the empty string)."""
    escaped = [re.escape(name) for name in names]
    return "|".join(escaped) if escaped else "(?!)"


def format_paths(pattern, wildcard_sets):
    """``pattern`` (a rule's output, log or benchmark pattern) filled in for each dict of
    wildcard values."""
    return [pattern.format(**wildcards) for wildcards in wildcard_sets]


# ---- benchmark files for the report's timing table ----------------------------------------

# rule name -> (experiment, the rule, function returning its jobs' wildcard values)
BENCHMARKED_RULES = {}


def declare_benchmarks(experiment, rule, job_wildcards):
    """Put a rule's jobs in the report's timing table, read from the rule's own benchmark files.

    ``rule`` is ``rules.<name>`` (declared after the rule); its ``benchmark:`` pattern is
    filled in with each dict ``job_wildcards()`` returns, one per job this configuration runs.
    ``job_wildcards`` is called only when ``experiment`` is enabled, as the report rule is parsed.
    A rule file declares each benchmarked rule right after it, for example
        declare_benchmarks("gnn", rules.gnn_train, get_gnn_runs)
    """
    BENCHMARKED_RULES[rule.rule.name] = (experiment, rule, job_wildcards)


def get_benchmark_files():
    """Benchmark files of the declared rules' jobs, by rule name (enabled experiments only)."""
    # experiments in the report's order; rules within one in the order they were declared
    by_experiment = sorted(BENCHMARKED_RULES.items(), key=lambda item: EXPERIMENTS.index(item[1][0]))
    return {
        name: format_paths(rule.benchmark, job_wildcards())
        for name, (experiment, rule, job_wildcards) in by_experiment
        if is_enabled(experiment)
    }

