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


def test_question_split_balances_questions_not_documents():
    """Two documents hold most questions (as in the COVID-QA slice): the fractions are met in
    questions, each document lands in one split, and the split is the same every time."""
    counts = {"big1": 60, "big2": 57, **{f"d{i}": 1 + i % 5 for i in range(18)}}
    split = split_questions_by_document(list(counts), (0.5, 0.2, 0.3), 0, counts)
    assert sorted(sum(split.values(), [])) == sorted(counts)
    assert split == split_questions_by_document(list(counts), (0.5, 0.2, 0.3), 0, counts)
    total = sum(counts.values())
    shares = {name: sum(counts[d] for d in ids) / total for name, ids in split.items()}
    for name, fraction in zip(("train", "dev", "test"), (0.5, 0.2, 0.3)):
        assert abs(shares[name] - fraction) < 0.05, shares
    by_count = split_questions_by_document(list(counts), (0.5, 0.2, 0.3), 0)
    assert by_count != split  # without counts: fractions of documents


def test_question_split_places_documents_without_questions_by_document_share():
    counts = {"a": 5, "b": 3, "c": 2, **{f"empty{i}": 0 for i in range(10)}}
    split = split_questions_by_document(list(counts), (0.6, 0.2, 0.2), 1, counts)
    assert sorted(sum(split.values(), [])) == sorted(counts)
    # largest first, by question share: a (5 of 10 questions) to train, the largest share;
    # then b and c to dev and test, each the split furthest below its share at that point
    assert ("a" in split["train"], "b" in split["dev"], "c" in split["test"]) == (True,) * 3
    for name, fraction in zip(("train", "dev", "test"), (0.6, 0.2, 0.2)):
        assert abs(len(split[name]) - fraction * len(counts)) <= 1, split


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
