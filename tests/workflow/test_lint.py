"""Lint as part of the test suite: ruff's checks and its formatting over the whole repository
(rules in pyproject.toml), with the same ruff the pre-commit hooks pin."""

from __future__ import annotations

import subprocess
import sys

import yaml
from conftest import ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess:
    """Run this environment's ruff in the repository root (no cache written into the tree)."""
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ruff_check_finds_nothing():
    result = _ruff("check", ".")
    assert result.returncode == 0, (
        f"ruff check . (fix: ruff check --fix .)\n{result.stdout}{result.stderr}"
    )


def test_ruff_format_changes_nothing():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, (
        f"ruff format --check . (fix: ruff format .)\n{result.stdout}{result.stderr}"
    )


def test_pre_commit_hooks_pin_the_installed_ruff():
    installed = subprocess.run(
        [sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (ruff_repo,) = [r for r in config["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    assert ruff_repo["rev"] == f"v{installed}", (
        f".pre-commit-config.yaml pins ruff {ruff_repo['rev']}, this environment has {installed}: "
        "set the rev and pyproject's ruff pin to the same version"
    )
    assert {hook["id"] for hook in ruff_repo["hooks"]} == {"ruff", "ruff-format"}
    assert f'"ruff=={installed}"' in (ROOT / "pyproject.toml").read_text()
