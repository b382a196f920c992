"""The report's run header: preset, commit, date, versions, device, time per rule, provenance."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import subprocess
from pathlib import Path

import pandas as pd

PACKAGES = [
    "medlab", "snakemake", "torch", "torch-geometric", "rdkit", "transformers", "datasets",
    "sentence-transformers", "rank-bm25", "faiss-cpu", "scikit-learn", "pandas", "jinja2",
]


def package_versions(packages=PACKAGES) -> dict[str, str]:
    versions = {}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(directory: str | Path = ".") -> str:
    """Short commit hash, with '+dirty' when tracked files differ; 'unknown' outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=directory, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory, capture_output=True, text=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def rule_times(benchmark_dir: str | Path, experiments: list[str]) -> pd.DataFrame:
    """Wall time per rule from Snakemake ``benchmark:`` files under ``benchmarks/<experiment>/``.

    Returns columns experiment, step, jobs, total_s, max_s (step = benchmark file stem,
    e.g. train, featurize).
    """
    rows = []
    for experiment in experiments:
        for path in sorted(Path(benchmark_dir, experiment).rglob("*.tsv")):
            frame = pd.read_csv(path, sep="\t")
            if "s" in frame.columns and len(frame):
                rows.append({"experiment": experiment, "step": path.stem, "seconds": float(frame["s"].iloc[-1])})
    if not rows:
        return pd.DataFrame(columns=["experiment", "step", "jobs", "total_s", "max_s"])
    frame = pd.DataFrame(rows)
    table = frame.groupby(["experiment", "step"])["seconds"].agg(jobs="count", total_s="sum", max_s="max").reset_index()
    return table


def run_header(preset: str, provenance: list[dict], benchmark_dir, experiments: list[str], workflow_dir=".") -> dict:
    from medlab.device import describe_device

    return {
        "preset": preset,
        "commit": git_commit(workflow_dir),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": package_versions(),
        "device": describe_device(),
        "rule_times": rule_times(benchmark_dir, experiments),
        "provenance": provenance,
    }
