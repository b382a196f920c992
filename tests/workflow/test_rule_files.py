"""Rule files: every script rule passes its code fingerprint, every benchmarked rule reaches
the report's timing table through its own benchmark pattern."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# rules/rag.smk gets its code params when the RAG rules move into it
RULE_FILES_WITH_CODE_PARAMS = ["data", "gnn", "attention", "rag", "multilabel", "report"]


def rule_bodies(rule_file: Path) -> dict[str, str]:
    """Rule name -> the text of its definition."""
    parts = re.split(r"^rule ", rule_file.read_text(), flags=re.MULTILINE)[1:]
    return {part.split(":", 1)[0]: part for part in parts}


@pytest.mark.parametrize("rule_file", RULE_FILES_WITH_CODE_PARAMS)
def test_every_script_rule_passes_its_code_fingerprint(rule_file):
    """Each rule that runs a script has ``code=script_code("<that script>")`` in its params."""
    rules = rule_bodies(ROOT / f"rules/{rule_file}.smk")
    assert rules
    for name, body in rules.items():
        script = re.search(r'script:\s*\n\s*"\.\./workflow_scripts/(\w+)\.py"', body)
        if script is not None:
            assert f'code=script_code("{script.group(1)}")' in body, name


def test_every_benchmarked_rule_is_declared_for_the_timing_table():
    rule_files = sorted((ROOT / "rules").glob("*.smk"))
    text = "\n".join(path.read_text() for path in rule_files)
    declared = set(re.findall(r"declare_benchmarks\(\s*\"\w+\",\s*rules\.(\w+),", text))
    benchmarked = {
        name
        for path in rule_files
        for name, body in rule_bodies(path).items()
        if re.search(r"^    benchmark:", body, flags=re.MULTILINE)
    }
    assert benchmarked and benchmarked == declared
