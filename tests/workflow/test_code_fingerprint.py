"""Code-aware reruns: the fingerprint of the library code each workflow script runs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from medlab.provenance import code_fingerprint, imported_modules

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path) -> Path:
    """A copy of the medlab package and the workflow scripts, free to edit."""
    shutil.copytree(
        ROOT / "src/medlab", tmp_path / "medlab", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(ROOT / "workflow_scripts", tmp_path / "workflow_scripts")
    return tmp_path


def fingerprints(copy: Path) -> dict[str, str]:
    """Script name -> fingerprint, for every workflow script of the copy."""
    return {
        script.stem: code_fingerprint(script, package_root=copy / "medlab")
        for script in sorted((copy / "workflow_scripts").glob("*.py"))
    }


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_fingerprint_is_short_stable_hex(copy):
    script = copy / "workflow_scripts/gnn_train.py"
    first = code_fingerprint(script, package_root=copy / "medlab")
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert code_fingerprint(script, package_root=copy / "medlab") == first


def test_imports_are_followed_through_the_package(copy):
    modules = imported_modules(copy / "workflow_scripts/gnn_train.py", copy / "medlab")
    # gnn_train imports medlab.gnn.runner, which imports medlab.gnn.train, which imports medlab.losses
    assert {"medlab.gnn.runner", "medlab.gnn.train", "medlab.losses", "medlab.gnn"} <= modules
    assert not any(name.startswith("medlab.attention") for name in modules)


def test_function_level_import_is_followed(copy):
    (copy / "medlab/extra.py").write_text("VALUE = 1\n")
    edit(
        copy / "medlab/gnn/evaluate.py",
        "\n\ndef ",
        "\n\ndef _uses_extra():\n    from medlab import extra\n\n    return extra.VALUE\n\n\ndef ",
    )
    before = fingerprints(copy)["gnn_evaluate"]
    assert "medlab.extra" in imported_modules(
        copy / "workflow_scripts/gnn_evaluate.py", copy / "medlab"
    )
    (copy / "medlab/extra.py").write_text("VALUE = 2\n")
    assert fingerprints(copy)["gnn_evaluate"] != before


def test_comment_and_docstring_edits_change_no_fingerprint(copy):
    before = fingerprints(copy)
    train = copy / "medlab/gnn/train.py"
    text = train.read_text()
    edited = re.sub(r'^"""', '"""A rewritten module docstring.\n\n', text, count=1)
    edited = edited.replace("\ndef ", "\n# a new comment above a function\ndef ", 1)
    edited = re.sub(r'(\ndef [^\n]+:\n    """)', r"\1Reworded: ", edited, count=1)
    assert edited != text
    train.write_text(edited + "\n\n# trailing comment\n")
    assert fingerprints(copy) == before


def test_logic_edit_in_gnn_training_changes_only_the_scripts_that_run_it(copy):
    before = fingerprints(copy)
    train = copy / "medlab/gnn/train.py"
    train.write_text(train.read_text() + "\n\nLOGIC_CHANGE = 1\n")
    after = fingerprints(copy)
    changed = {name for name in before if before[name] != after[name]}
    assert "gnn_train" in changed
    assert not any(name.startswith(("attention_", "multilabel_")) for name in changed)
    assert {"gnn_split", "gnn_featurize", "gnn_evaluate"}.isdisjoint(changed)


def test_missing_script_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such_script.py"):
        code_fingerprint(tmp_path / "no_such_script.py")


@pytest.mark.parametrize("module", ["medlab/gnn/spec.py", "medlab/config.py"])
def test_config_and_gnn_spec_edits_leave_other_experiments_alone(copy, module):
    """The config checks import the GNN's training spec; no attention, RAG or multi-label
    script imports either, so editing them reruns none of those jobs."""
    before = fingerprints(copy)
    path = copy / module
    path.write_text(path.read_text() + "\n\nLOGIC_CHANGE = 1\n")
    after = fingerprints(copy)
    changed = {name for name in before if before[name] != after[name]}
    assert not any(name.startswith(("attention_", "rag_", "multilabel_")) for name in changed)


@pytest.mark.parametrize("script", ["rag_synthesize", "rag_train_retriever", "rag_retrieve"])
def test_reading_code_is_outside_the_fingerprints_of_synthesis_and_retrieval(script):
    """An edit to how the extractive reader decodes or is trained re-reads (and re-trains the
    reader), but never re-makes the synthetic questions or re-trains the retriever, and so
    never re-indexes or re-ranks."""
    modules = imported_modules(ROOT / "workflow_scripts" / f"{script}.py")
    assert "medlab.rag.extractive" not in modules
    assert "medlab.rag.training" not in modules
