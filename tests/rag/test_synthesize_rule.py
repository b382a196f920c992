"""The synthetic stage as the rule runs it: files written from a prepared corpus, its
settings and inputs chosen from the config, and its place in the report's inputs."""

import copy
import json

import pandas as pd
import pytest
import yaml

from medlab.rag import layout
from medlab.rag.corpus import read_jsonl, read_questions
from medlab.rag.synthetic import KINDS, kind_of_question, sample_questions, synthesize_corpus
from rag.tiny_corpus import write_tiny_corpus


@pytest.fixture(scope="module")
def rag(root):
    return yaml.safe_load((root / "config.yaml").read_text())["rag"]


def run_synthesize(directory, max_examples=None, kinds=KINDS):
    return synthesize_corpus(
        directory / "passages.jsonl",
        directory / "questions.jsonl",
        directory / "synthetic" / "questions.jsonl",
        directory / "synthetic" / "stats.json",
        directory / "synthetic" / "sample.tsv",
        per_passage=3,
        max_examples=max_examples,
        seed=0,
        kinds=kinds,
    )


def test_questions_come_from_training_documents_in_the_gold_format(tmp_path):
    prepared = write_tiny_corpus(tmp_path)
    questions = run_synthesize(tmp_path)
    records = read_jsonl(tmp_path / "synthetic" / "questions.jsonl")
    gold_records = read_jsonl(tmp_path / "questions.jsonl")
    assert questions and len(records) == len(questions)
    assert {tuple(sorted(r)) for r in records} == {tuple(sorted(gold_records[0]))}
    assert {r["split"] for r in records} == {"train"}
    train_documents = set(prepared.splits["train"])
    assert {q.doc_id for q in questions} <= train_documents
    for question in questions:
        answer = question.answers[0]
        text = prepared.documents[question.doc_id]
        start = answer["answer_start"]
        assert text[start : start + len(answer["text"])] == answer["text"]
    # the file reads back as questions, like the gold questions.jsonl
    assert read_questions(tmp_path / "synthetic" / "questions.jsonl")[0] == questions


def test_stats_count_kinds_duplicates_passages_and_documents(tmp_path):
    prepared = write_tiny_corpus(tmp_path)
    questions = run_synthesize(tmp_path, max_examples=5)
    stats = json.loads((tmp_path / "synthetic" / "stats.json").read_text())
    assert stats["questions"] == len(questions) == 5
    assert stats["made"] >= stats["questions"]
    assert set(stats["per_kind"]) == set(KINDS)
    assert sum(stats["per_kind"].values()) == stats["questions"]
    assert stats["per_kind"] == {
        kind: sum(kind_of_question(q) == kind for q in questions) for kind in KINDS
    }
    assert stats["train_documents"] == len(prepared.splits["train"])
    train_passages = [p for p in prepared.passages if p.doc_id in prepared.splits["train"]]
    assert stats["passages_read"] == len(train_passages)
    assert stats["duplicates"] >= 0


def test_same_seed_same_questions_and_kinds_filter(tmp_path):
    write_tiny_corpus(tmp_path)
    first = run_synthesize(tmp_path)
    assert run_synthesize(tmp_path) == first
    clauses = run_synthesize(tmp_path, kinds=["clause"])
    assert clauses and {kind_of_question(q) for q in clauses} == {"clause"}


def test_no_training_question_is_a_clear_error(tmp_path):
    write_tiny_corpus(tmp_path)
    questions = tmp_path / "questions.jsonl"
    kept = [r for r in read_jsonl(questions) if r["split"] != "train"]
    questions.write_text("".join(json.dumps(r) + "\n" for r in kept))
    with pytest.raises(ValueError, match=r"questions\.jsonl: no question in the train split"):
        run_synthesize(tmp_path)
    assert not (tmp_path / "synthetic" / "questions.jsonl").exists()


def test_report_sample_is_seeded_and_ordered(tmp_path):
    write_tiny_corpus(tmp_path)
    questions = run_synthesize(tmp_path)
    table = pd.read_csv(tmp_path / "synthetic" / "sample.tsv", sep="\t")
    assert list(table.columns) == ["kind", "question", "answer", "document"]
    assert table["question"].tolist() == [q.question for q in sample_questions(questions, 10, 0)]
    sample = sample_questions(questions, 4, seed=0)
    assert sample == sample_questions(questions, 4, seed=0)
    assert len(sample) == 4 and sample == [q for q in questions if q in sample]
    assert sample_questions(questions[:2], 10, seed=0) == questions[:2]


def test_synthetic_inputs_follow_the_switches(rag):
    enabled = copy.deepcopy(rag)
    enabled["reader"]["synthetic"]["enabled"] = True
    enabled["retriever_training"]["synthetic"] = False
    synthetic = {"synthetic": "results/rag/c/synthetic/questions.jsonl"}
    assert layout.synthetic_input(enabled, "c", layout.reader_uses_synthetic) == synthetic
    assert layout.synthetic_input(enabled, "c", layout.retriever_uses_synthetic) == {}
    assert layout.synthetic_epochs(enabled) == enabled["reader"]["synthetic"]["epochs"]
    assert "rag_synthetic_stats" in layout.report_inputs(enabled)

    disabled = copy.deepcopy(enabled)
    disabled["reader"]["synthetic"]["enabled"] = False
    assert layout.synthetic_input(disabled, "c", layout.reader_uses_synthetic) == {}
    assert layout.synthetic_epochs(disabled) == 0
    assert "rag_synthetic_stats" not in layout.report_inputs(disabled)

    # without fine-tuning the reader never trains, so nothing synthetic is made for it
    not_tuned = copy.deepcopy(enabled)
    not_tuned["reader"]["fine_tune"] = False
    assert layout.synthetic_epochs(not_tuned) == 0

    assert layout.synthetic_negatives(not_tuned) is None
    assert layout.synthetic_negatives(disabled) is None

    retriever_only = copy.deepcopy(disabled)
    retriever_only["retriever_training"]["synthetic"] = True
    assert layout.synthetic_input(retriever_only, "c", layout.retriever_uses_synthetic) == synthetic
    assert "rag_synthetic_sample" in layout.report_inputs(retriever_only)


def test_settings_of_the_rule_and_of_reading_are_separate(rag):
    settings = layout.synthetic_settings(rag)
    assert set(settings) == {"per_passage", "max_examples", "kinds"}
    assert "synthetic" not in layout.reader_options(rag)


def test_synthetic_negatives_default_to_the_gold_count_and_never_remake_questions(rag):
    config = copy.deepcopy(rag)
    config["reader"]["synthetic"]["enabled"] = True
    config["reader"]["fine_tune"] = True
    config["reader"]["training"]["negatives_per_question"] = 2
    config["reader"]["synthetic"]["negatives_per_question"] = None
    assert layout.synthetic_negatives(config) == 2
    settings = layout.synthetic_settings(config)
    config["reader"]["synthetic"]["negatives_per_question"] = 0
    assert layout.synthetic_negatives(config) == 0
    # the synthesizing rule's params: unchanged, so the questions are not made again
    assert layout.synthetic_settings(config) == settings
    assert "negatives_per_question" not in settings
