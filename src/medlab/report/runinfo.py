"""The report's run header: preset, commit, date, versions, device, time per rule, provenance."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import subprocess
from pathlib import Path

import pandas as pd

PACKAGES = [
    "medlab",
    "snakemake",
    "torch",
    "torch-geometric",
    "rdkit",
    "transformers",
    "datasets",
    "sentence-transformers",
    "rank-bm25",
    "faiss-cpu",
    "scikit-learn",
    "pandas",
    "jinja2",
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
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def rule_times(benchmarks: dict[str, list[str]]) -> pd.DataFrame:
    """Wall time per rule from Snakemake ``benchmark:`` files of this run's jobs.

    ``benchmarks`` maps a rule to its jobs' benchmark files; missing files (a job that
    has none yet) are skipped. Returns columns rule, jobs, total_s, max_s, max_rss_mb.
    """
    rows = []
    for rule, paths in benchmarks.items():
        for path in paths:
            if Path(path).is_file():
                frame = pd.read_csv(path, sep="\t")
                if len(frame):
                    rows.append(
                        {
                            "rule": rule,
                            "seconds": float(frame["s"].iloc[-1]),
                            "max_rss": float(frame["max_rss"].iloc[-1]),
                        }
                    )
    if not rows:
        return pd.DataFrame(columns=["rule", "jobs", "total_s", "max_s", "max_rss_mb"])
    frame = pd.DataFrame(rows)
    return (
        frame.groupby("rule", sort=False)
        .agg(
            jobs=("seconds", "count"),
            total_s=("seconds", "sum"),
            max_s=("seconds", "max"),
            max_rss_mb=("max_rss", "max"),
        )
        .reset_index()
    )


def run_header(
    preset: str, provenance: list[dict], benchmarks: dict[str, list[str]], workflow_dir="."
) -> dict:
    from medlab.device import describe_device

    return {
        "preset": preset,
        "commit": git_commit(workflow_dir),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": package_versions(),
        "device": describe_device(),
        "rule_times": rule_times(benchmarks),
        "provenance": provenance,
    }
