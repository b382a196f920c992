"""The default RAG corpus (a COVID-QA slice in resources/rag/covid_qa/): well-formed, the
slice its script regenerates, the one config.yaml names, and hard enough for retrieval."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import yaml

from medlab.rag.corpus import load_jsonl
from medlab.rag.passages import split_passages
from medlab.rag.rankings import documents_from_passages, retrieval_metrics
from medlab.rag.retrieval import build_bm25_index

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "resources/rag/covid_qa"
MIRROR = Path(os.environ.get("MEDLAB_DATA_MIRROR", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def corpus():
    return load_jsonl(SLICE / "documents.jsonl", SLICE / "questions.jsonl")


def test_every_record_is_usable_and_every_answer_is_in_its_document(corpus):
    # 34 source answers start with a space that their answer_start skips: kept verbatim,
    # the loader re-locates them (counted in issues.tsv)
    assert dict(corpus.issues) == {"answer_start re-located": 34}
    assert (len(corpus.documents), len(corpus.questions)) == (20, 221)
    for question in corpus.questions:
        text = corpus.documents[question.doc_id]
        for answer in question.answers:
            start = answer["answer_start"]
            assert text[start : start + len(answer["text"])] == answer["text"], question.id


def test_licence_and_attribution_ship_with_the_slice():
    assert "Apache License" in (SLICE / "LICENSE").read_text()
    readme = (SLICE / "README.md").read_text()
    assert "Möller" in readme and "200423_covidQA.json" in readme
    assert "python resources/rag/covid_qa/make_slice.py --papers 20 --seed 0" in readme


def test_the_script_regenerates_the_slice(tmp_path, monkeypatch):
    source = MIRROR / "200423_covidQA.json"
    if not source.is_file():
        pytest.skip(f"{source} not in the data mirror (set MEDLAB_DATA_MIRROR)")
    spec = importlib.util.spec_from_file_location("make_slice", SLICE / "make_slice.py")
    make_slice = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_slice)
    monkeypatch.setattr(make_slice, "HERE", tmp_path)
    assert make_slice.main(["--source", str(source), "--papers", "20", "--seed", "0"]) == 0
    for name in ("documents.jsonl", "questions.jsonl"):
        assert (tmp_path / name).read_bytes() == (SLICE / name).read_bytes(), name


def test_the_default_config_reads_the_slice_and_the_tiny_preset_the_authored_corpus():
    default = yaml.safe_load((ROOT / "config.yaml").read_text())["rag"]["corpus"]
    assert default["documents"] == "resources/rag/covid_qa/documents.jsonl"
    assert default["questions"] == "resources/rag/covid_qa/questions.jsonl"
    tiny = yaml.safe_load((ROOT / "presets/tiny.yaml").read_text())["rag"]["corpus"]
    assert tiny["name"] != default["name"]
    assert tiny["documents"] == "resources/rag/documents.jsonl"


def test_bm25_does_not_find_every_gold_document_first(corpus):
    """On the authored corpus every retriever ranks the gold document first for (nearly)
    every question; the slice's long papers on one topic leave room between retrievers."""
    passages = [
        p
        for doc_id, text in corpus.documents.items()
        for p in split_passages(doc_id, text, 100, 25)
    ]
    index = build_bm25_index([p.text for p in passages], "bm25s")
    rankings = index.search([q.question for q in corpus.questions], 50)
    doc_ids = [p.doc_id for p in passages]
    runs = {q.id: documents_from_passages(r, doc_ids) for q, r in zip(corpus.questions, rankings)}
    gold = {q.id: q.doc_id for q in corpus.questions}
    mrr = retrieval_metrics(gold, runs, ("mrr@10",))["mrr@10"]
    assert 0.3 < mrr < 0.95
