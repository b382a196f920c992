"""The workflow on a real (single-node) SLURM through profiles/slurm.

Needs root and Debian's slurmctld, slurmd, slurm-client and munge (.ci/run installs
them). Elsewhere the tests are skipped with the reason, unless MEDLAB_REQUIRE_SLURM=1
(set in CI) turns the skip into a failure.
"""

import os
import re
from collections import Counter

import pytest
import slurm_cluster
from conftest import copy_workflow, snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

# each job costs a status poll; 5 s instead of the plugin's 40 s keeps the test short
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "5"]
TINY_JOBS = Counter(
    {
        "data_export_packaged": 1,
        "gnn_featurize": 1,
        "gnn_split": 1,
        "gnn_train": 3,
        "gnn_evaluate": 3,
        "gnn_aggregate": 1,
        "attention_importance": 1,
        "attention_pruning": 1,
        "attention_extract": 4,
        "attention_cost": 2,
        "attention_analyze": 1,
        "rag_corpus": 1,
        "rag_synthesize": 1,
        "rag_index_bm25": 1,
        "rag_index_dense": 2,
        "rag_train_retriever": 1,
        "rag_train_reader": 1,
        "rag_retrieve": 1,
        "rag_read": 2,
        "rag_evaluate": 1,
        "multilabel_data": 1,
        "multilabel_tokenize": 1,
        "multilabel_train": 2,
        "multilabel_baseline": 1,
        "multilabel_evaluate": 3,
        "multilabel_aggregate": 1,
        "report": 1,
    }
)

GPU_RULES = {"gnn_train", "rag_train_reader", "rag_train_retriever"}


def _expects_gpu(job: dict) -> bool:
    """Training rules, and reading with the extractive reader (a transformer per window)."""
    rule = _rule_of(job)
    return rule in GPU_RULES or (rule == "rag_read" and "extractive" in job.get("Comment", ""))


@pytest.fixture(scope="module")
def slurm():
    reason = None
    if os.geteuid() != 0:
        reason = "a local SLURM needs root"
    elif slurm_cluster.missing_tools():
        reason = f"SLURM tools missing: {slurm_cluster.missing_tools()} (apt-get install slurmctld slurmd slurm-client munge)"
    if reason:
        if os.environ.get("MEDLAB_REQUIRE_SLURM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    slurm_cluster.start()
    try:
        yield
    finally:
        slurm_cluster.stop()


def _rule_of(job: dict) -> str:
    return re.match(r"rule_(.+?)(?:_wildcards_.*)?$", job.get("Comment", "")).group(1)


def test_tiny_preset_runs_every_job_through_slurm_with_gpu_requests(slurm, tmp_path, data_mirror):
    workflow = copy_workflow(tmp_path / "workflow")
    gpu = "  resources:\n    gpu: 1\n    mem_mb: 2000\n    runtime: 20\n"
    (workflow / "gpu.yaml").write_text(f"gnn:\n{gpu}rag:\n{gpu}")
    known = {job["JobId"] for job in slurm_cluster.jobs()}
    result = snakemake(
        workflow,
        "--profile",
        "profiles/slurm",
        *FAST_POLLING,
        "report",
        "--configfile",
        "presets/tiny.yaml",
        "gpu.yaml",
        env={"MEDLAB_DATA_MIRROR": str(data_mirror)},
        timeout=1200,
        cluster=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    submitted = [job for job in slurm_cluster.jobs() if job["JobId"] not in known]
    assert Counter(_rule_of(job) for job in submitted) == TINY_JOBS
    assert {job["JobState"] for job in submitted} == {"COMPLETED"}
    for job in submitted:
        requested_gpu = "gpu:1" in job.get("TresPerJob", "") + job.get("TresPerNode", "")
        assert requested_gpu == _expects_gpu(job), job
    # the fake GPU has no CUDA behind it: training fell back to the CPU
    train_log = next((workflow / "logs/gnn").rglob("train.log")).read_text()
    assert "using CPU" in train_log
    assert (workflow / "results/report/index.html").exists()


def test_failed_slurm_job_fails_the_run_and_shows_its_log(slurm, tmp_path, data_mirror):
    workflow = copy_workflow(tmp_path / "workflow")
    (workflow / "bad.yaml").write_text("datasets:\n  bbbp:\n    sha256: " + "ab" * 32 + "\n")
    result = snakemake(
        workflow,
        "--profile",
        "profiles/slurm",
        *FAST_POLLING,
        "results/data/bbbp/BBBP.csv",
        "--configfile",
        "bad.yaml",
        env={"MEDLAB_DATA_MIRROR": str(data_mirror)},
        timeout=600,
        cluster=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "logs/data/bbbp/BBBP.csv.log" in output
    assert "checksum mismatch" in (workflow / "logs/data/bbbp/BBBP.csv.log").read_text()
    assert not (workflow / "results/data/bbbp/BBBP.csv").exists()
