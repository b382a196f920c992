"""Corpus loading: both formats, bad records skipped and counted, clear errors."""

import json

import pytest

from medlab.rag.corpus import load_jsonl, load_squad, read_jsonl
from medlab.rag.passages import prepare_corpus, write_prepared_corpus
from rag.rag_samples import DOCS, write_jsonl


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


# ---- bad records: skipped and counted, never fatal -----------------------------------

GOOD_QUESTION = {
    "id": "good",
    "question": "What does insulin regulate?",
    "doc_id": "d2",
    "answers": [{"text": "blood glucose", "answer_start": 18}],
}


def _load_with(tmp_path, documents=(), questions=()):
    """The DOCS corpus plus one good question, with extra document / question lines."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "\n".join([json.dumps({"id": k, "text": v}) for k, v in DOCS.items()] + list(documents))
        + "\n"
    )
    qs = tmp_path / "questions.jsonl"
    qs.write_text("\n".join([json.dumps(GOOD_QUESTION)] + list(questions)) + "\n")
    return load_jsonl(docs, qs)


def test_a_json_line_that_is_not_an_object_is_skipped_and_counted(tmp_path):
    corpus = _load_with(tmp_path, documents=["[1, 2, 3]"], questions=['"just a string"'])
    assert set(corpus.documents) == set(DOCS) and [q.id for q in corpus.questions] == ["good"]
    assert corpus.issues["JSON line not an object (skipped)"] == 2


def test_answers_that_are_not_a_list_drop_the_question(tmp_path):
    question = {**GOOD_QUESTION, "id": "q2", "answers": "blood glucose"}
    corpus = _load_with(tmp_path, questions=[json.dumps(question)])
    assert [q.id for q in corpus.questions] == ["good"]
    assert corpus.issues["answers not a list (question dropped)"] == 1
    assert corpus.issues["question without a usable answer (dropped)"] == 1


def test_answer_entries_that_are_not_objects_are_dropped(tmp_path):
    mixed = {
        **GOOD_QUESTION,
        "id": "q2",
        "answers": ["blood glucose", 7, *GOOD_QUESTION["answers"]],
    }
    only_bad = {**GOOD_QUESTION, "id": "q3", "answers": ["blood glucose"]}
    corpus = _load_with(tmp_path, questions=[json.dumps(mixed), json.dumps(only_bad)])
    assert [q.id for q in corpus.questions] == ["good", "q2"]
    assert corpus.questions[1].answers == GOOD_QUESTION["answers"]
    assert corpus.issues["answer not an object (dropped)"] == 3
    assert corpus.issues["question without a usable answer (dropped)"] == 1


def test_a_document_text_that_is_null_or_not_a_string_is_skipped(tmp_path):
    corpus = _load_with(
        tmp_path,
        documents=[json.dumps({"id": "d8", "text": None}), json.dumps({"id": "d9", "text": 42})],
    )
    assert set(corpus.documents) == set(DOCS) and "None" not in corpus.documents.values()
    assert corpus.issues["document text missing or not a string"] == 2


def test_a_question_that_is_null_or_not_a_string_is_skipped(tmp_path):
    null = {**GOOD_QUESTION, "id": "q2", "question": None}
    number = {**GOOD_QUESTION, "id": "q3", "question": 12}
    corpus = _load_with(tmp_path, questions=[json.dumps(null), json.dumps(number)])
    assert [q.question for q in corpus.questions] == [GOOD_QUESTION["question"]]
    assert corpus.issues["question text missing or not a string"] == 2


def test_skipped_records_reach_issues_tsv(tmp_path):
    corpus = _load_with(tmp_path, documents=["[1, 2, 3]"])
    prepared = prepare_corpus(corpus, 20, 5, (0.4, 0.3, 0.3), 0, None)
    out = [tmp_path / name for name in ("d.jsonl", "q.jsonl", "p.jsonl", "issues.tsv", "s.json")]
    write_prepared_corpus(prepared, *out)
    assert "JSON line not an object (skipped)\t1" in (tmp_path / "issues.tsv").read_text()


# ---- files that cannot be used: an error naming the file -------------------------------


def test_an_empty_documents_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "docs.jsonl").write_text("")
    write_jsonl(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    with pytest.raises(ValueError, match=r"docs\.jsonl: no usable document"):
        load_jsonl(tmp_path / "docs.jsonl", tmp_path / "questions.jsonl")


def test_unreadable_squad_json_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "squad.json").write_text('{"data": [{"title": "cut short"')
    with pytest.raises(ValueError, match=r"squad\.json: not readable as JSON.*SQuAD-format"):
        load_squad(tmp_path / "squad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"list\.json: the JSON is a list.*SQuAD format"):
        load_squad(tmp_path / "list.json")


def test_a_file_that_is_not_utf8_is_an_error_naming_the_file(tmp_path):
    records = [{"id": k, "text": v} for k, v in DOCS.items()]
    text = "\n".join(json.dumps(r) for r in records) + "\n"
    (tmp_path / "docs.jsonl").write_bytes(text.encode("utf-16"))
    write_jsonl(tmp_path / "questions.jsonl", [GOOD_QUESTION])
    with pytest.raises(ValueError, match=r"docs\.jsonl: the file is UTF-16 text, not UTF-8"):
        load_jsonl(tmp_path / "docs.jsonl", tmp_path / "questions.jsonl")
    (tmp_path / "squad.json").write_bytes(json.dumps({"data": []}).encode("utf-16-le"))
    with pytest.raises(ValueError, match=r"squad\.json: the file holds NUL bytes.*UTF-8"):
        load_squad(tmp_path / "squad.json")


def test_a_pipeline_file_that_is_not_utf8_is_an_error_naming_it(tmp_path):
    (tmp_path / "passages.jsonl").write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(ValueError, match=r"passages\.jsonl: not UTF-8.*rerun"):
        read_jsonl(tmp_path / "passages.jsonl")
