"""Shared fixtures: repository paths, a copy of the workflow in a temporary directory,
and a helper to run Snakemake on it."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = [
    "Snakefile",
    "config.yaml",
    "rules",
    "workflow_scripts",
    "schemas",
    "presets",
    "profiles",
    "resources",
    "envs",
]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def data_mirror() -> Path:
    """The local mirror of the public datasets ($MEDLAB_DATA_MIRROR, else ../shared/data)."""
    mirror = Path(os.environ.get("MEDLAB_DATA_MIRROR", SHARED_DATA))
    if not (mirror / "BBBP.csv").is_file():
        pytest.fail(
            f"dataset mirror not found at {mirror}: set MEDLAB_DATA_MIRROR to a directory holding BBBP.csv"
        )
    return mirror.resolve()


def copy_workflow(destination: Path) -> Path:
    """Copy the workflow files (not results) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(
                source, destination / part, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / part)
    return destination


@pytest.fixture
def workflow(tmp_path) -> Path:
    return copy_workflow(tmp_path / "workflow")


def snakemake(
    directory: Path,
    *args: str,
    env: dict | None = None,
    timeout: float = 900,
    cluster: bool = False,
) -> subprocess.CompletedProcess:
    """Run the Snakemake of this interpreter's environment in ``directory``; capture output.

    Without ``cluster`` the run sees no SLURM client (see :func:`_no_slurm_client`).
    """
    command = [str(Path(sys.executable).with_name("snakemake")), *args]
    environment = {**os.environ, **(env or {})}
    if not cluster:
        environment["PATH"] = f"{_no_slurm_client()}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run(
        command,
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


@functools.cache
def _no_slurm_client() -> Path:
    """A directory whose ``scontrol`` fails at once, to put first on PATH.

    Snakemake's SLURM executor plugin runs ``scontrol show config`` at every start; where
    SLURM is installed but its controller is not running (CI outside the SLURM tests),
    scontrol waits about 9 s before failing, which would add those seconds to every
    Snakemake run of the suite. The plugin reads a failure as "setting unknown".
    """
    directory = Path(tempfile.mkdtemp(prefix="medlab-no-slurm-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    scontrol = directory / "scontrol"
    scontrol.write_text('#!/bin/sh\necho "scontrol: no SLURM in this test run" >&2\nexit 1\n')
    scontrol.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, data_mirror):
    """presets/tiny.yaml run once end to end in a workflow copy shared by the session.

    Returns (workflow directory, environment). Tests using it must not change its outputs.
    """
    workflow = copy_workflow(tmp_path_factory.mktemp("tiny") / "workflow")
    env = {"MEDLAB_DATA_MIRROR": str(data_mirror)}
    result = snakemake(
        workflow, "--cores", "2", "report", "--configfile", "presets/tiny.yaml", env=env
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return workflow, env
