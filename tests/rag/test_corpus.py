"""Corpus loading: both formats, bad records skipped and counted, clear errors."""

import json

from rag_samples import DOCS, write_jsonl

from medlab.rag.corpus import load_jsonl, load_squad


def test_jsonl_loader_counts_bad_records(tmp_path):
    write_jsonl(
        tmp_path / "docs.jsonl",
        [{"id": k, "text": v} for k, v in DOCS.items()]
        + [{"id": "d4", "text": "  "}, {"id": "d1", "text": "dup"}],
    )
    questions = [
        {
            "id": "q1",
            "question": "What does insulin regulate?",
            "doc_id": "d2",
            "answers": [{"text": "blood glucose", "answer_start": 18}],
        },
        {
            "id": "q2",
            "question": "What do vaccines train?",
            "doc_id": "d3",
            "answers": [{"text": "the immune system", "answer_start": 0}],
        },
        {
            "id": "q3",
            "question": "Bogus?",
            "doc_id": "d1",
            "answers": [{"text": "not there", "answer_start": 3}],
        },
        {
            "id": "q1",
            "question": "Duplicate?",
            "doc_id": "d1",
            "answers": [{"text": "Aspirin", "answer_start": 0}],
        },
        {
            "id": "q5",
            "question": "Unknown doc?",
            "doc_id": "zz",
            "answers": [{"text": "x", "answer_start": 0}],
        },
    ]
    write_jsonl(tmp_path / "questions.jsonl", questions)
    (tmp_path / "questions.jsonl").write_bytes(
        (tmp_path / "questions.jsonl").read_bytes() + b'{"id": "q6", "question": "caf\xe9?"}\n'
    )
    corpus = load_jsonl(tmp_path / "docs.jsonl", tmp_path / "questions.jsonl")
    assert set(corpus.documents) == {"d1", "d2", "d3"}
    assert [q.id for q in corpus.questions] == ["q1", "q2"]
    assert corpus.questions[1].answers[0]["answer_start"] == DOCS["d3"].find("the immune system")
    issues = corpus.issues
    assert (
        issues["empty document"] == 1
        and issues["duplicate document id"] == 1
        and issues["duplicate question id"] == 1
    )
    assert (
        issues["answer_start re-located"] == 1 and issues["answer not in document (dropped)"] == 1
    )
    assert (
        issues["question about an unknown document (dropped)"] == 2
        and issues["file with undecodable bytes (replaced)"] == 1
    )


def test_squad_loader(tmp_path):
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "document_id": 7,
                        "context": DOCS["d1"],
                        "qas": [
                            {
                                "id": "a",
                                "question": "What does aspirin reduce?",
                                "answers": [{"text": "fever and inflammation", "answer_start": 16}],
                            },
                            {"id": "b", "question": "?", "is_impossible": True, "answers": []},
                        ],
                    },
                    {"context": "", "qas": []},
                ],
            }
        ]
    }
    (tmp_path / "squad.json").write_text(json.dumps(data))
    corpus = load_squad(tmp_path / "squad.json")
    assert list(corpus.documents) == ["7"] and corpus.questions[0].doc_id == "7"
    assert (
        corpus.issues["empty document"] == 1
        and corpus.issues["unanswerable question (skipped)"] == 1
    )
