"""The paper preset end to end on offline stand-ins of its hub models.

presets/paper.yaml is run as written, with one overlay that only points its four hub
models at small local stand-ins (tests/standins.py) and shrinks the data and epochs, so
every rule the preset's DAG holds — RoBERTa tokenization with byte-level BPE, a QA head
that can abstain, cross-encoder re-ranking on raw logits, bert-base-style attention
analysis, BBBP and B3DB on both splits — runs to completion.
"""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import copy_workflow, snakemake
from standins import build_standins

pytestmark = pytest.mark.slow


def overlay(models: dict) -> dict:
    """Scale-down of presets/paper.yaml: local models, small data, one epoch."""
    return {
        "report": {"title": "medlab — paper preset on stand-ins"},
        "gnn": {
            "max_molecules": 150,
            "seeds": [0],
            "run_variants": ["gat_edge", "gin"],
            "defaults": {"epochs": 1, "patience": 1},
            "threads": 1,
        },
        "attention": {
            "models": {"bert_base": str(models["bert-base-uncased"])},
            "max_sentences": 8,
            "heatmap_sentences": [0, 1],
            "pruning": {"fractions": [0.0, 0.5, 1.0]},
            "cost": {"heads_per_layer": [1, 4], "batch_size": 4, "repeats": 1},
        },
        "rag": {
            "corpus": {"max_documents": 4},
            "reranker": str(models["cross-encoder/ms-marco-MiniLM-L-6-v2"]),
            "reader": {
                "model": str(models["deepset/roberta-base-squad2"]),
                "max_length": 128,
                "stride": 32,
            },
            "retriever_training": {"epochs": 1},
            "threads": 1,
        },
        "multilabel": {
            "model": {"name": "roberta_base", "path": str(models["roberta-base"])},
            "max_length": 32,
            "grid": {"batch_size": [32], "lr": [5.0e-5], "loss": ["bce", "focal"], "seed": [0]},
            "training": {"epochs": 1},
            "threads": 1,
        },
    }


def test_paper_preset_runs_end_to_end_on_standins(tmp_path, data_mirror):
    models = build_standins(tmp_path / "models")
    workflow = copy_workflow(tmp_path / "workflow")
    (workflow / "standins.yaml").write_text(yaml.safe_dump(overlay(models)))
    env = {"MEDLAB_DATA_MIRROR": str(data_mirror), "HF_HUB_OFFLINE": "1"}
    args = ["report", "--configfile", "presets/paper.yaml", "standins.yaml"]

    dry = snakemake(workflow, "-n", "--cores", "2", *args, env=env)
    assert dry.returncode == 0, dry.stderr[-3000:]
    planned = set(re.findall(r"^rule (\w+):", dry.stdout, flags=re.MULTILINE))
    for rule in ("rag_retrieve", "rag_read", "multilabel_train", "attention_cost", "gnn_train"):
        assert rule in planned

    result = snakemake(workflow, "--cores", "2", *args, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-5000:]
    assert "Nothing to be done" in snakemake(workflow, "-n", "--cores", "2", *args, env=env).stdout

    html = (workflow / "results/report/index.html").read_text()
    assert "paper preset on stand-ins" in html
    # the re-ranked and hub-reader methods reach the report
    assert "hybrid_rerank" in html
