"""Passages with offsets, document-level splits, the prepared corpus files."""

import json

import pytest

from medlab.rag.corpus import load_corpus
from medlab.rag.passages import (
    prepare_corpus,
    split_passages,
    split_questions_by_document,
    write_prepared_corpus,
)
from rag.rag_samples import write_jsonl


def test_passages_keep_offsets_and_overlap():
    text = " ".join(f"w{i}" for i in range(25))
    passages = split_passages("d", text, size=10, overlap=3)
    assert [p.text.split()[0] for p in passages] == ["w0", "w7", "w14", "w21"]
    assert all(text[p.start : p.end] == p.text for p in passages)
    assert passages[-1].text.split()[-1] == "w24"
    with pytest.raises(ValueError, match="overlap"):
        split_passages("d", text, size=5, overlap=5)


def test_question_split_is_by_document():
    split = split_questions_by_document([f"d{i}" for i in range(10)], (0.6, 0.2, 0.2), seed=1)
    assert sorted(split["train"] + split["dev"] + split["test"]) == [f"d{i}" for i in range(10)]
    assert not set(split["train"]) & set(split["test"]) and len(split["test"]) == 2


def test_prepare_corpus_from_either_format_by_config_alone(tmp_path):
    documents = {
        f"doc{i}": f"Document {i} says the answer is value{i}. Filler text follows here."
        for i in range(6)
    }
    write_jsonl(tmp_path / "docs.jsonl", [{"id": k, "text": v} for k, v in documents.items()])
    write_jsonl(
        tmp_path / "qs.jsonl",
        [
            {
                "id": f"q{i}",
                "question": f"What is in document {i}?",
                "doc_id": f"doc{i}",
                "answers": [{"text": f"value{i}", "answer_start": 99}],
            }
            for i in range(6)
        ],
    )
    squad = {
        "data": [
            {
                "title": k,
                "paragraphs": [
                    {
                        "document_id": k,
                        "context": v,
                        "qas": [
                            {
                                "id": f"s{k}",
                                "question": "Which value?",
                                "answers": [
                                    {
                                        "text": k.replace("doc", "value"),
                                        "answer_start": v.find("value"),
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
            for k, v in documents.items()
        ]
    }
    (tmp_path / "squad.json").write_text(json.dumps(squad))
    for name, source_format, paths in (
        (
            "jsonl",
            "jsonl",
            {"documents": tmp_path / "docs.jsonl", "questions": tmp_path / "qs.jsonl"},
        ),
        ("squad", "squad", {"file": tmp_path / "squad.json"}),
    ):
        out = {
            k: tmp_path / name / f"{k}.{ext}"
            for k, ext in (
                ("documents", "jsonl"),
                ("questions", "jsonl"),
                ("passages", "jsonl"),
                ("issues", "tsv"),
                ("stats", "json"),
            )
        }
        prepared = prepare_corpus(load_corpus(source_format, paths), 5, 1, (0.5, 0.2, 0.3), 0, None)
        write_prepared_corpus(prepared, *out.values())
        questions = [json.loads(line) for line in out["questions"].read_text().splitlines()]
        split_of = {
            json.loads(line)["id"]: json.loads(line)["split"]
            for line in out["documents"].read_text().splitlines()
        }
        assert len(questions) == 6 and all(q["split"] == split_of[q["doc_id"]] for q in questions)
        assert {q["split"] for q in questions} == {"train", "dev", "test"}
        passages = [json.loads(line) for line in out["passages"].read_text().splitlines()]
        assert all(documents[p["doc_id"]][p["start"] : p["end"]] == p["text"] for p in passages)
    assert "answer_start re-located\t6" in (tmp_path / "jsonl" / "issues.tsv").read_text()
