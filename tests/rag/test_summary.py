"""The RAG summary on a hand-made corpus: three questions, one retriever, one reader."""

import pandas as pd
import pytest

from medlab.rag.corpus import write_jsonl
from medlab.rag.evaluate import NO_ANSWER_TEXT
from medlab.rag.rankings import rankings_frame
from medlab.rag.summary import plot_reliability, plot_retrieval, summarize
from rag.rag_samples import DOCS, sample_passages

# passage index = document order of DOCS: 0 -> d1, 1 -> d2, 2 -> d3
QUESTIONS = [
    ("q1", "dev", "d1", "What does aspirin inhibit?", "cyclooxygenase enzymes"),
    ("q2", "test", "d2", "What does insulin regulate?", "blood glucose"),
    ("q3", "test", "d3", "What do vaccines recognise?", "pathogens"),
]


def _answer(question_id, split, cutoff, passages, answer, confidence, source, variant="original"):
    return {
        "reader": "sentence",
        "question_id": question_id,
        "split": split,
        "variant": variant,
        "method": "bm25",
        "cutoff": cutoff,
        "k_used": len(passages.split()),
        "passages": passages,
        "answer": answer,
        "confidence": confidence,
        "source_passage": source,
    }


ANSWERS = [
    _answer("q1", "dev", "top1", "2", "cyclooxygenase enzymes", 0.9, 2),
    _answer("q1", "dev", "top2", "2 0", "cyclooxygenase enzymes", 0.8, 0),
    _answer("q2", "test", "top1", "1", "blood glucose", 0.9, 1),
    _answer("q2", "test", "top2", "1 0", "blood glucose", 0.8, 1),
    _answer("q3", "test", "top1", "0", "fever", 0.7, 0),  # wrong
    _answer("q3", "test", "top2", "0 2", "", 0.2, -1),  # the reader abstained
    _answer("q2", "test", "top2", "1 0", "blood glucose", 0.8, 1, variant="lowercased"),
    _answer("q3", "test", "top2", "0 2", "pathogens", 0.6, 2, variant="lowercased"),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("rag")
    questions = [
        {
            "id": i,
            "question": q,
            "doc_id": d,
            "split": s,
            "answers": [{"text": a, "answer_start": DOCS[d].index(a)}],
        }
        for i, s, d, q, a in QUESTIONS
    ]
    write_jsonl(questions, root / "questions.jsonl")
    write_jsonl([p.__dict__ for p in sample_passages()], root / "passages.jsonl")
    # passage rankings: q2 finds its document first, q3 only second, dev q1 not at all
    ranked = {"bm25": [[(2, 3.0)], [(1, 2.0), (0, 1.0)], [(0, 2.5), (2, 2.0)]]}
    rankings_frame(["q1", "q2", "q3"], "original", ranked).to_parquet(root / "rankings.parquet")
    pd.DataFrame(ANSWERS).to_parquet(root / "sentence.parquet")
    return root


@pytest.fixture(scope="module")
def summary(corpus):
    return summarize(
        corpus / "questions.jsonl",
        corpus / "passages.jsonl",
        corpus / "rankings.parquet",
        [corpus / "sentence.parquet"],
        top_k=[1, 2],
        adaptive={"enabled": False},
        focus_method="bm25",
        correct_f1=0.5,
        worst_count=1,
    )


def test_retrieval_recall_counts_test_questions_per_cutoff(summary):
    recall = summary.retrieval.set_index("cutoff")["recall"].to_dict()
    assert recall == {"top1": 0.5, "top2": 1.0}  # dev q1, never found, is not counted
    assert set(summary.retrieval["n"]) == {2}


def test_reader_table_counts_abstentions_apart_from_wrong_answers(summary):
    readers = summary.readers.set_index("cutoff")
    assert readers.loc["top1", ["n", "answered", "exact_match"]].tolist() == [2, 2, 0.5]
    assert readers.loc["top2", ["n", "answered", "exact_match"]].tolist() == [2, 1, 1.0]
    assert readers.loc["top2", "no_answer_rate"] == 0.5


def test_stability_perturbation_and_worst_cases(summary):
    (stability,) = summary.stability.to_dict("records")
    assert stability["cutoffs"] == "top1 vs top2" and stability["same_answer"] == 0.5
    (perturbation,) = summary.perturbation.to_dict("records")
    assert perturbation["perturbation"] == "lowercased" and perturbation["answer_changed"] == 0.5
    assert summary.focus == ("bm25", "top2")
    assert summary.worst[["question_id", "answer"]].values.tolist() == [["q3", NO_ANSWER_TEXT]]


def test_per_question_table_holds_dev_and_test_without_passages(summary):
    per_question = summary.per_question
    assert "passages" not in per_question and len(per_question) == len(ANSWERS)
    assert set(per_question["split"]) == {"dev", "test"}


def test_figures_are_written(summary, tmp_path):
    plot_retrieval(summary.retrieval, tmp_path / "retrieval.png")
    plot_reliability(summary.scored, "bm25", "top2", tmp_path / "reliability.png")
    for name in ("retrieval.png", "reliability.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
