"""The Snakemake workflow itself: dry runs of every preset, lint, config errors, downloads,
and an end-to-end run of presets/tiny.yaml."""

import json
import math
import re
from collections import Counter

import pandas as pd
import pytest
from conftest import snakemake

from medlab.config import load_config
from medlab.rag.layout import report_inputs
from medlab.report.sections import rag_section

PRESETS = [None, "presets/tiny.yaml", "presets/benchmark.yaml", "presets/paper.yaml"]


@pytest.mark.parametrize("preset", PRESETS, ids=["default", "tiny", "benchmark", "paper"])
def test_dry_run_of_every_preset(workflow, preset):
    args = ["-n", "report"] + (["--configfile", preset] if preset else [])
    result = snakemake(workflow, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gnn_train" in result.stdout


def test_paper_preset_requests_resources_for_heavy_rag_rules(workflow):
    """Re-ranking and the hub reader get the RAG block's GPU, memory and runtime on a cluster."""
    result = snakemake(workflow, "-n", "report", "--configfile", "presets/paper.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.findall(
        r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", result.stdout, re.MULTILINE
    )
    requested = {}
    for rule, resources in jobs:
        values = dict(re.findall(r"(\w+)=(\d+)", resources))
        requested.setdefault(rule, []).append(values)
    for rule in ("rag_retrieve", "rag_read"):
        assert rule in requested
        for values in requested[rule]:
            assert int(values["mem_mb"]) == 16000 and int(values["runtime"]) == 120, (rule, values)
    assert [int(v["gpu"]) for v in requested["rag_retrieve"]] == [1]
    # the preset's attention.models replaces config.yaml's map: no MiniLM attention jobs
    assert "model=bert_base" in result.stdout and "model=minilm" not in result.stdout
    assert sorted(int(v["gpu"]) for v in requested["rag_read"]) == [0, 1]


def test_lint_has_no_findings(workflow):
    result = snakemake(workflow, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "preset_text, key",
    [
        ("gnn:\n  no_such_option: 1\n", "no_such_option"),
        ("gnn:\n  defaults:\n    lr: fast\n", "lr"),
        ("gnn:\n  defaults:\n    dropout: 3.0\n", "dropout"),
        ("gnn:\n  run_variants: [gat_edge, ghost]\n", "gnn.run_variants[1]"),
    ],
)
def test_config_error_fails_before_any_job(workflow, preset_text, key):
    (workflow / "bad.yaml").write_text(preset_text)
    result = snakemake(workflow, "--cores", "1", "report", "--configfile", "bad.yaml")
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (workflow / "results").exists()


def test_download_rule_uses_the_mirror(workflow, data_mirror):
    result = snakemake(
        workflow,
        "--cores",
        "1",
        "results/data/bbbp/BBBP.csv",
        env={"MEDLAB_DATA_MIRROR": str(data_mirror)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = pd.read_csv(workflow / "results/data/bbbp/BBBP.csv")
    assert len(data) == 2050 and list(data.columns) == ["num", "name", "p_np", "smiles"]
    assert "mirror:" in (workflow / "results/data/bbbp/BBBP.csv.provenance.json").read_text()


def test_download_checksum_mismatch_fails_clearly_and_leaves_no_file(workflow, data_mirror):
    (workflow / "bad.yaml").write_text("datasets:\n  bbbp:\n    sha256: " + "ab" * 32 + "\n")
    result = snakemake(
        workflow,
        "--cores",
        "1",
        "results/data/bbbp/BBBP.csv",
        "--configfile",
        "bad.yaml",
        env={"MEDLAB_DATA_MIRROR": str(data_mirror)},
    )
    assert result.returncode != 0
    log = (workflow / "logs/data/bbbp/BBBP.csv.log").read_text()
    assert "checksum mismatch" in log and "datasets.bbbp.sha256" in log
    folder = workflow / "results/data/bbbp"
    assert not folder.exists() or list(folder.iterdir()) == []


def planned_jobs(workflow, env, *extra) -> Counter:
    """Rule name -> number of jobs a dry run of the report plans."""
    result = snakemake(
        workflow, "-n", "report", "--configfile", "presets/tiny.yaml", *extra, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return Counter(re.findall(r"^(?:local)?rule (\w+):", result.stdout, flags=re.MULTILINE))


@pytest.mark.slow
def test_tiny_preset_end_to_end(tiny_run):
    workflow, _ = tiny_run
    page = (workflow / "results/report/index.html").read_text()
    for heading in ("Experiment 1", "Experiment 2", "Experiment 3", "Experiment 4"):
        assert heading in page
    assert "data:image/png;base64," in page
    runs = pd.read_csv(workflow / "results/gnn/summary/runs.tsv", sep="\t")
    assert len(runs) == 3
    assert all(math.isfinite(v) for v in runs["test_roc_auc"])
    assert not list(workflow.glob("results/gnn/**/checkpoint.pt"))  # removed once a run completes


@pytest.mark.slow
def test_rerun_without_change_schedules_nothing(tiny_run):
    assert planned_jobs(*tiny_run) == Counter()


@pytest.mark.slow
@pytest.mark.parametrize(
    "edit, expected",
    [
        (
            "gnn:\n  defaults:\n    lr: 0.002\n",
            {"gnn_train": 3, "gnn_evaluate": 3, "gnn_aggregate": 1, "report": 1},
        ),
        (
            "gnn:\n  variants:\n    gcn: {hidden: 16}\n",
            {"gnn_train": 1, "gnn_evaluate": 1, "gnn_aggregate": 1, "report": 1},
        ),
        (
            "gnn:\n  seeds: [0, 1]\n",
            {"gnn_split": 1, "gnn_train": 3, "gnn_evaluate": 3, "gnn_aggregate": 1, "report": 1},
        ),
        ("report:\n  title: another title\n", {"report": 1}),
        (
            "attention:\n  pruning:\n    quality_threshold: 0.9\n",
            {"attention_analyze": 1, "report": 1},
        ),
        (
            "attention:\n  cost:\n    heads_per_layer: [1, 6, 12]\n",
            {"attention_cost": 1, "attention_analyze": 1, "report": 1},
        ),
        (
            "multilabel:\n  grid:\n    batch_size: [16, 8]\n",
            {
                "multilabel_train": 2,
                "multilabel_evaluate": 2,
                "multilabel_aggregate": 1,
                "report": 1,
            },
        ),
        (
            "multilabel:\n  training:\n    epochs: 2\n",
            {
                "multilabel_train": 2,
                "multilabel_evaluate": 2,
                "multilabel_aggregate": 1,
                "report": 1,
            },
        ),
        ("rag:\n  top_k: [3, 5]\n", {"rag_read": 2, "rag_evaluate": 1, "report": 1}),
        (
            "rag:\n  hybrid:\n    rrf_constant: 10\n",
            {"rag_retrieve": 1, "rag_read": 2, "rag_evaluate": 1, "report": 1},
        ),
        (
            "rag:\n  reader:\n    ablation: {enabled: true, curve: [4]}\n",
            {"rag_train_reader_variant": 3, "rag_reader_ablation": 1, "report": 1},
        ),
    ],
    ids=[
        "gnn-lr",
        "one-variant",
        "new-seed",
        "report-title",
        "attention-threshold",
        "attention-new-cost-point",
        "multilabel-new-grid-cells",
        "multilabel-epochs",
        "rag-top-k",
        "rag-fusion",
        "rag-ablation-on",
    ],
)
def test_config_edit_reruns_only_what_depends_on_it(tiny_run, edit, expected):
    workflow, env = tiny_run
    (workflow / "edit.yaml").write_text(edit)
    assert planned_jobs(workflow, env, "edit.yaml") == Counter(expected)


@pytest.mark.slow
def test_reader_ablation_beside_the_tiny_run(tiny_run):
    """The ablation's rules on the tiny run: three more readers, each with only its stages,
    and the table beside the configured reader, which is not trained again. Adds files
    under results/rag/health_ai/ablation/ only; the tiny run's own outputs stay as they were."""
    workflow, env = tiny_run
    (workflow / "ablation.yaml").write_text(
        "rag:\n  reader:\n    ablation: {enabled: true, curve: [4]}\n"
    )
    root = workflow / "results/rag/health_ai"
    result = snakemake(
        workflow,
        "--cores",
        "2",
        str(root.relative_to(workflow) / "ablation/summary.tsv"),
        "--configfile",
        "presets/tiny.yaml",
        "ablation.yaml",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    # a run logs its jobs on stderr (a dry run on stdout)
    ran = Counter(re.findall(r"^(?:local)?rule (\w+):", result.stderr, flags=re.MULTILINE))
    assert ran == Counter({"rag_train_reader_variant": 3, "rag_reader_ablation": 1})
    table = pd.read_csv(root / "ablation/summary.tsv", sep="\t")
    assert table["variant"].tolist() == ["gold_only", "synthetic_only", "synthetic_4", "configured"]
    stages = {
        variant: pd.read_csv(root / f"ablation/{variant}/epochs.tsv", sep="\t")["stage"].tolist()
        for variant in ("gold_only", "synthetic_only", "synthetic_4")
    }
    assert stages == {
        "gold_only": ["gold"],
        "synthetic_only": ["synthetic"],  # no gold epoch
        "synthetic_4": ["synthetic", "gold"],
    }
    synthetic = len((root / "synthetic/questions.jsonl").read_text().splitlines())
    assert table.set_index("variant")["synthetic_questions"].to_dict() == {
        "gold_only": 0,
        "synthetic_only": synthetic,
        "synthetic_4": min(4, synthetic),
        "configured": synthetic,
    }
    configured = pd.read_csv(root / "reader/epochs.tsv", sep="\t")
    assert table["dev_f1"].iloc[-1] == configured["dev_f1"].max()
    assert (root / "ablation/learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(root.glob("ablation/*/checkpoint.pt"))  # removed once each reader is scored
    # the RAG section as the report rule would build it with the ablation on
    config = load_config(workflow, workflow / "presets/tiny.yaml", workflow / "ablation.yaml")
    files = {
        key.removeprefix("rag_"): workflow / path
        for key, path in report_inputs(config["rag"]).items()
    }
    section = rag_section(files)
    titles = [block["title"] for block in section["blocks"]]
    assert "Reader ablation: what the synthetic questions add" in titles
    assert "Reader ablation: learning curve" in titles
    assert section["findings"][-1].startswith("Reader ablation, test F1 with the gold passage")


HOC_SENTENCES = """
experiments: {gnn: false, attention: false, rag: false, multilabel: true}
multilabel:
  dataset: hoc
  unit: sentence
  max_length: 12
  max_documents: 400
  grid: {batch_size: [128], lr: [3.0e-4], loss: [weighted_bce], seed: [0]}
  training: {epochs: 1}
"""


@pytest.mark.slow
def test_hoc_sentence_units_end_to_end(workflow, data_mirror):
    """Sentences of a 400-abstract sample of the real Hallmarks of Cancer archive train one
    cell; evaluation is per abstract."""
    (workflow / "hoc_sentences.yaml").write_text(HOC_SENTENCES)
    env = {"MEDLAB_DATA_MIRROR": str(data_mirror)}
    result = snakemake(
        workflow,
        "--cores",
        "2",
        "results/multilabel/summary/grid.tsv",
        "--configfile",
        "hoc_sentences.yaml",
        env=env,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    root = workflow / "results/multilabel/hoc"
    table, sentences = (
        pd.read_csv(root / name, sep="\t", dtype=str, keep_default_na=False)
        for name in ("table.tsv", "sentences.tsv")
    )
    assert len(table) == 400  # multilabel.max_documents
    assert set(sentences["document"]) == set(table["id"]) and len(sentences) > 5 * len(table)
    predictions = pd.read_csv(
        root / "runs/bs128_lr0.0003_weighted_bce_seed0/predictions.tsv", sep="\t", dtype={"id": str}
    )
    split = json.loads((root / "split.json").read_text())
    assert (
        predictions["id"].tolist() == table["id"].iloc[split["val"] + split["test"]].tolist()
    )  # one row per abstract
    grid = pd.read_csv(workflow / "results/multilabel/summary/grid.tsv", sep="\t")
    assert grid["training_units"].iloc[0] > 5 * 0.8 * len(table)
    assert 0.5 < grid["macro_roc_auc@at_0.5"].iloc[0] <= 1.0
