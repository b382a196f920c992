"""Evaluation tables: calibration, stability, perturbations, retrieval per cutoff."""

import numpy as np
import pandas as pd
import pytest

from medlab.rag.evaluate import (
    NO_ANSWER_TEXT,
    answer_reciprocal_rank,
    confidence_auroc,
    perturbation_table,
    platt_calibrate,
    reader_table,
    retrieval_table,
    score_answers,
    stability_table,
    worst_cases,
)
from medlab.rag.rankings import cutoffs, rankings_frame


def test_calibration_and_auroc_explain_when_undefined():
    calibrated, reason = platt_calibrate(np.array([0.2, 0.4]), np.array([0, 0]), np.array([0.3]))
    assert calibrated is None and "all wrong" in reason
    calibrated, reason = platt_calibrate(
        np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]), np.array([0.15, 0.85])
    )
    assert calibrated[0] < 0.5 < calibrated[1] and reason == ""
    value, reason = confidence_auroc(np.array([1, 1]), np.array([0.3, 0.9]))
    assert np.isnan(value) and "all 2 answers correct" in reason
    assert confidence_auroc(np.array([0, 1]), np.array([0.3, 0.9]))[0] == 1.0


def _scored(rows):
    base = {
        "reader": "r",
        "method": "m",
        "variant": "original",
        "passages": "0",
        "exact_match": 0.0,
        "contains_answer": 0.0,
        "answer_in_passages": 1.0,
        "answer_tokens": 1,
        "no_answer": False,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_reader_stability_and_perturbation_tables():
    scored = _scored(
        [
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top5",
                "answer": "x",
                "confidence": 0.9,
                "f1": 1.0,
                "correct": 1,
            },
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top10",
                "answer": "x",
                "confidence": 0.7,
                "f1": 1.0,
                "correct": 1,
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top5",
                "answer": "y",
                "confidence": 0.2,
                "f1": 0.0,
                "correct": 0,
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top10",
                "answer": "z",
                "confidence": 0.4,
                "f1": 0.0,
                "correct": 0,
            },
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top10",
                "answer": "w",
                "confidence": 0.1,
                "f1": 0.0,
                "correct": 0,
                "variant": "lowercased",
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top10",
                "answer": "z",
                "confidence": 0.4,
                "f1": 0.0,
                "correct": 0,
                "variant": "lowercased",
            },
            {
                "question_id": "c",
                "split": "dev",
                "cutoff": "top5",
                "answer": "y",
                "confidence": 0.2,
                "f1": 0.0,
                "correct": 0,
            },
        ]
    )
    stability = stability_table(scored, "top5", "top10").iloc[0]
    assert stability["same_answer"] == 0.5 and stability[
        "mean_abs_confidence_change"
    ] == pytest.approx(0.2)
    perturbation = perturbation_table(scored).iloc[0]
    assert perturbation["answer_changed"] == 0.5 and perturbation["f1_perturbed"] == 0.0
    readers = reader_table(scored).set_index("cutoff")
    assert readers.loc["top5", "confidence_auroc"] == 1.0
    assert "dev answers are all wrong" in readers.loc["top5", "ece_calibrated_note"]


def test_retrieval_table_counts_passages_not_documents():
    passages = ["alpha", "beta", "gamma"]
    rankings = rankings_frame(["q1", "q2"], "original", {"bm25": [[(1, 2.0), (0, 1.0)], []]})
    table = retrieval_table(
        rankings,
        {"q1": "d0", "q2": "d1"},
        {"q1": ["alpha"], "q2": ["beta"]},
        ["d0", "d1", "d2"],
        passages,
        cutoffs([1, 2], {"enabled": False}),
    ).set_index("cutoff")
    assert table.loc["top1", "recall"] == 0.0 and table.loc["top2", "recall"] == 0.5
    assert table.loc["top2", "answer_in_passages"] == 0.5 and table.loc[
        "top1", "mrr@10"
    ] == pytest.approx(0.25)
    # q1's answer is in its second passage, q2 retrieved nothing: (1/2 + 0) / 2
    assert table.loc["top1", "answer_mrr@10"] == pytest.approx(0.25)


def test_answer_reciprocal_rank_finds_the_first_passage_holding_an_answer():
    ranked = ["no mention here", "the fever lasted", "fever again"]
    assert answer_reciprocal_rank(["Fever"], ranked) == pytest.approx(0.5)
    assert answer_reciprocal_rank(["cough"], ranked) == 0.0
    assert answer_reciprocal_rank(["lasted", "mention"], ranked) == 1.0


def test_an_abstention_is_a_no_answer_not_a_confident_wrong_answer():
    answers = pd.DataFrame(
        {
            "reader": "extractive",
            "question_id": ["a", "b", "c", "d", "e"],
            "split": ["test", "test", "test", "dev", "dev"],
            "variant": "original",
            "method": "bm25",
            "cutoff": "top2",
            "passages": "0 1",
            "answer": ["fever", "wrong words", "", "fever", "nothing"],
            # c abstained with a "no answer" probability of 0.99
            "confidence": [0.6, 0.4, 0.99, 0.7, 0.2],
            "source_passage": [0, 1, -1, 0, 1],
        }
    )
    golds = {q: ["fever"] for q in "abcde"}
    scored = score_answers(answers, golds, ["fever and pain", "other text"], correct_f1=0.5)
    assert scored["no_answer"].tolist() == [False, False, True, False, False]
    row = reader_table(scored).iloc[0]
    assert row["n"] == 3 and row["answered"] == 2
    assert row["no_answer_rate"] == pytest.approx(1 / 3)
    assert row["exact_match"] == 0.5 and row["f1"] == 0.5  # over the two answered questions
    assert row["mean_confidence"] == pytest.approx(0.5)  # 0.99 is not a confidence in an answer
    assert row["confidence_auroc"] == 1.0
    worst = worst_cases(scored, {q: q for q in golds}, golds, "bm25", "top2", count=5)
    assert worst["answer"].tolist() == ["wrong words", NO_ANSWER_TEXT, "fever"]
    assert np.isnan(worst.loc[1, "confidence"])
