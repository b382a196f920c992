"""Library edits rerun exactly the rules whose scripts run the edited code (dry runs).

A finished-looking run of the tiny preset is made without running any job: every output
is created empty, then ``--touch --forceall`` records Snakemake's metadata (params
included) for each job, as a real run would.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, copy_workflow, snakemake

TINY = ["report", "--configfile", "presets/tiny.yaml"]


def create_outputs(workflow: Path, dry_run: str) -> None:
    """Empty files for every output a dry run lists; directories for outputs without a suffix
    (the tokenized dataset, the fine-tuned models)."""
    for line in re.findall(r"^    output: (.*)$", dry_run, flags=re.MULTILINE):
        for name in line.split(", "):
            path = workflow / name
            if path.suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            else:
                path.mkdir(parents=True, exist_ok=True)


def dry_run(workflow: Path, env: dict) -> str:
    result = snakemake(workflow, "-n", "--cores", "1", *TINY, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def planned(output: str, reason: str = "") -> Counter:
    """Rule name -> jobs planned (whose reason contains ``reason``)."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(?:    .*\n)*?    reason: (.*)$", output, re.M)
    return Counter(rule for rule, why in jobs if reason in why)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(workflow copy with its own medlab package, environment) in a finished-looking state."""
    workflow = copy_workflow(tmp_path_factory.mktemp("reruns") / "workflow")
    shutil.copytree(
        ROOT / "src/medlab",
        workflow / "src/medlab",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {"PYTHONPATH": str(workflow / "src")}
    create_outputs(workflow, dry_run(workflow, env))
    result = snakemake(workflow, "--touch", "--forceall", "--cores", "1", *TINY, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned(dry_run(workflow, env)) == Counter()
    return workflow, env


def test_comment_and_docstring_edits_rerun_nothing(finished):
    workflow, env = finished
    train = workflow / "src/medlab/gnn/train.py"
    original = train.read_text()
    try:
        train.write_text(
            '"""Reworded module docstring."""\n# a comment\n' + original.split('"""', 2)[2]
        )
        assert planned(dry_run(workflow, env)) == Counter()
    finally:
        train.write_text(original)


def test_logic_edit_in_gnn_training_reruns_training_and_what_follows(finished):
    workflow, env = finished
    train = workflow / "src/medlab/gnn/train.py"
    original = train.read_text()
    try:
        train.write_text(original + "\n\nLOGIC_CHANGE = 1\n")
        output = dry_run(workflow, env)
    finally:
        train.write_text(original)
    assert planned(output, reason="Params have changed") == Counter({"gnn_train": 3})
    assert planned(output) == Counter(
        {"gnn_train": 3, "gnn_evaluate": 3, "gnn_aggregate": 1, "report": 1}
    )
