"""RAG library: corpus loading with bad records, passages, retrievers, fusion, metrics."""

import json

import pytest

from medlab.rag.corpus import load_jsonl, load_squad
from medlab.rag.evaluate import documents_from_passages, retrieval_metrics
from medlab.rag.passages import split_passages, split_questions_by_document
from medlab.rag.retrieval import BM25S, RankBM25, adaptive_cutoff, reciprocal_rank_fusion, weighted_score_fusion

DOCS = {
    "d1": "Aspirin reduces fever and inflammation. It inhibits cyclooxygenase enzymes.",
    "d2": "Insulin regulates blood glucose. Type 1 diabetes requires insulin injections.",
    "d3": "Vaccines train the immune system to recognise pathogens such as viruses.",
}


def _write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


def test_jsonl_loader_counts_bad_records(tmp_path):
    _write_jsonl(tmp_path / "docs.jsonl", [{"id": k, "text": v} for k, v in DOCS.items()] + [{"id": "d4", "text": "  "}, {"id": "d1", "text": "dup"}])
    questions = [
        {"id": "q1", "question": "What does insulin regulate?", "doc_id": "d2", "answers": [{"text": "blood glucose", "answer_start": 18}]},
        {"id": "q2", "question": "What do vaccines train?", "doc_id": "d3", "answers": [{"text": "the immune system", "answer_start": 0}]},
        {"id": "q3", "question": "Bogus?", "doc_id": "d1", "answers": [{"text": "not there", "answer_start": 3}]},
        {"id": "q1", "question": "Duplicate?", "doc_id": "d1", "answers": [{"text": "Aspirin", "answer_start": 0}]},
        {"id": "q5", "question": "Unknown doc?", "doc_id": "zz", "answers": [{"text": "x", "answer_start": 0}]},
    ]
    _write_jsonl(tmp_path / "questions.jsonl", questions)
    (tmp_path / "questions.jsonl").write_bytes((tmp_path / "questions.jsonl").read_bytes() + b'{"id": "q6", "question": "caf\xe9?"}\n')
    corpus = load_jsonl(tmp_path / "docs.jsonl", tmp_path / "questions.jsonl")
    assert set(corpus.documents) == {"d1", "d2", "d3"}
    assert [q.id for q in corpus.questions] == ["q1", "q2"]
    assert corpus.questions[1].answers[0]["answer_start"] == DOCS["d3"].find("the immune system")
    issues = corpus.issues
    assert issues["empty document"] == 1 and issues["duplicate document id"] == 1 and issues["duplicate question id"] == 1
    assert issues["answer_start re-located"] == 1 and issues["answer not in document (dropped)"] == 1
    assert issues["question about an unknown document (dropped)"] == 2 and issues["file with undecodable bytes (replaced)"] == 1


def test_squad_loader(tmp_path):
    data = {"data": [{"title": "t", "paragraphs": [
        {"document_id": 7, "context": DOCS["d1"], "qas": [
            {"id": "a", "question": "What does aspirin reduce?", "answers": [{"text": "fever and inflammation", "answer_start": 16}]},
            {"id": "b", "question": "?", "is_impossible": True, "answers": []}]},
        {"context": "", "qas": []}]}]}
    (tmp_path / "squad.json").write_text(json.dumps(data))
    corpus = load_squad(tmp_path / "squad.json")
    assert list(corpus.documents) == ["7"] and corpus.questions[0].doc_id == "7"
    assert corpus.issues["empty document"] == 1 and corpus.issues["unanswerable question (skipped)"] == 1


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


@pytest.mark.parametrize("retriever", [RankBM25, BM25S])
def test_bm25_finds_the_matching_document(retriever):
    index = retriever(list(DOCS.values()))
    results = index.search(["insulin injections for diabetes", "immune system vaccines"], k=2)
    assert results[0][0][0] == 1 and results[1][0][0] == 2


def test_fusion_and_adaptive_cutoff():
    a, b = [(0, 10.0), (1, 5.0), (2, 1.0)], [(2, 0.9), (0, 0.8), (3, 0.1)]
    assert [i for i, _ in reciprocal_rank_fusion([a, b], k=3)] == [0, 2, 1]
    assert weighted_score_fusion([a, b], [0.5, 0.5], k=1)[0][0] == 0
    ranking = [(0, 1.0), (1, 0.95), (2, 0.5), (3, 0.45)]
    assert [i for i, _ in adaptive_cutoff(ranking, min_k=1, max_k=4, drop=0.3)] == [0, 1]


def test_retrieval_metrics_against_gold_documents():
    docs = ["d1", "d1", "d2", "d3"]
    runs = {"q1": documents_from_passages([(1, 3.0), (0, 2.0), (2, 1.0)], docs), "q2": documents_from_passages([(3, 1.0), (2, 0.5)], docs), "q3": {}}
    metrics = retrieval_metrics({"q1": "d1", "q2": "d2", "q3": "d3"}, runs, ("recall@1", "mrr@10"))
    assert metrics["recall@1"] == pytest.approx(1 / 3) and metrics["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
