"""A training job killed mid-way resumes from its checkpoint and ends with the same
metrics as an uninterrupted run (same seed, CPU)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_workflow, snakemake

PRESET = """
experiments: {attention: false}
gnn:
  max_molecules: 400
  run_variants: [gat_edge]
  defaults: {epochs: 8, hidden: 32, layers: 2, patience: 100, dropout: 0.2}
  checkpoint_every: 1
"""
TARGET = "results/gnn/b3db/random/gat_edge/seed0/metrics.json"


@pytest.mark.slow
def test_killed_training_resumes_to_identical_metrics(tmp_path, data_mirror):
    env = {"MEDLAB_DATA_MIRROR": str(data_mirror)}
    reference = copy_workflow(tmp_path / "reference")
    (reference / "resume.yaml").write_text(PRESET)
    result = snakemake(reference, "--cores", "1", TARGET, "--configfile", "resume.yaml", env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    killed = copy_workflow(tmp_path / "killed")
    (killed / "resume.yaml").write_text(PRESET)
    run_dir = killed / "results/gnn/b3db/random/gat_edge/seed0"
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "--cores",
        "1",
        TARGET,
        "--configfile",
        "resume.yaml",
    ]
    process = subprocess.Popen(
        command,
        cwd=killed,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    checkpoint = run_dir / "checkpoint.pt"
    while time.monotonic() < deadline and process.poll() is None:
        log = killed / "logs/gnn/b3db/random/gat_edge/seed0/train.log"
        if checkpoint.exists() and log.exists() and "epoch 3:" in log.read_text():
            break
        time.sleep(0.2)
    assert process.poll() is None, "the run finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, as a node failure or scancel would
    process.wait()
    assert checkpoint.exists() and not (run_dir / "history.tsv").exists()

    # what a user does after a killed run: release the lock, rerun incomplete jobs
    assert (
        snakemake(killed, "--unlock", TARGET, "--configfile", "resume.yaml", env=env).returncode
        == 0
    )
    rerun = snakemake(
        killed, "--cores", "1", TARGET, "--configfile", "resume.yaml", "--rerun-incomplete", env=env
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    train_log = (killed / "logs/gnn/b3db/random/gat_edge/seed0/train.log").read_text()
    assert "resumed from checkpoint" in train_log
    resumed_metrics, reference_metrics = (
        json.loads(p.read_text()) for p in (run_dir / "metrics.json", reference / TARGET)
    )
    (
        resumed_metrics.pop("train_seconds"),
        reference_metrics.pop("train_seconds"),
    )  # wall time differs, nothing else may
    assert resumed_metrics == reference_metrics
    assert not checkpoint.exists()
