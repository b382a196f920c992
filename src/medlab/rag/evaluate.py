"""Evaluation against gold answers: retrieval (ranx and passage-level hits), answers,
confidence calibration, stability across top_k, query perturbations, worst cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from medlab.metrics import PlattScaler, UndefinedMetricError, expected_calibration_error
from medlab.rag.answers import (
    answer_length,
    contains_answer,
    exact_match,
    normalize_answer,
    token_f1,
)
from medlab.rag.rankings import (
    CutoffPolicy,
    documents_from_passages,
    ranking_lists,
    retrieval_metrics,
)

# what the worst-cases table shows for an abstention
NO_ANSWER_TEXT = "no answer"

# ---- answers ----------------------------------------------------------------------


def answer_in_passages(golds: list[str], passage_texts: list[str]) -> float:
    """1.0 when a gold answer occurs (normalised) in one of the passages: the reader's ceiling."""
    joined = f" {' '.join(normalize_answer(t) for t in passage_texts)} "
    return float(any(f" {normalize_answer(g)} " in joined for g in golds))


def answer_reciprocal_rank(golds: list[str], ranked_texts: list[str]) -> float:
    """1 / rank of the first passage holding a gold answer (``answer_in_passages``), 0 when
    none of ``ranked_texts`` does. Written here rather than through ranx: relevance is judged
    per retrieved passage by answer containment, so there is no fixed qrels set to hand it."""
    for rank, text in enumerate(ranked_texts, start=1):
        if answer_in_passages(golds, [text]):
            return 1.0 / rank
    return 0.0


def score_answers(
    answers: pd.DataFrame, golds: dict[str, list[str]], passage_texts: list[str], correct_f1: float
) -> pd.DataFrame:
    """Adds exact_match, f1, contains_answer, answer_tokens, answer_in_passages, correct
    (f1 >= correct_f1) and no_answer.

    no_answer: the reader gave no span (source_passage -1): the extractive reader abstained
    ("no answer" beat every span; its confidence is then the abstention's probability) or
    there was no passage to read. The reader table counts these apart from wrong answers.
    """
    scored = answers.copy()
    gold = scored["question_id"].map(golds)
    scored["exact_match"] = [exact_match(a, g) for a, g in zip(scored["answer"], gold)]
    scored["f1"] = [token_f1(a, g) for a, g in zip(scored["answer"], gold)]
    scored["contains_answer"] = [contains_answer(a, g) for a, g in zip(scored["answer"], gold)]
    scored["answer_tokens"] = scored["answer"].map(answer_length)
    scored["answer_in_passages"] = [
        answer_in_passages(g, [passage_texts[int(i)] for i in str(p).split()])
        for p, g in zip(scored["passages"].fillna(""), gold)
    ]
    scored["correct"] = (scored["f1"] >= correct_f1).astype(int)
    scored["no_answer"] = scored["source_passage"] < 0
    return scored


def platt_calibrate(
    dev_scores: np.ndarray, dev_correct: np.ndarray, test_scores: np.ndarray
) -> tuple[np.ndarray | None, str]:
    """Test confidences mapped to P(correct) by Platt scaling fitted on dev; (None, reason)
    when dev answers hold a single class. Scores (n,), correct 0/1 (n,)."""
    try:
        return PlattScaler().fit(dev_scores, dev_correct).predict(test_scores), ""
    except UndefinedMetricError:
        verdict = "correct" if len(dev_correct) and dev_correct.mean() == 1 else "wrong"
        return None, (
            f"dev answers are all {verdict} (n={len(dev_scores)}): nothing to calibrate against"
        )


def confidence_auroc(correct: np.ndarray, confidence: np.ndarray) -> tuple[float, str]:
    """AUROC of confidence for separating correct from wrong answers; NaN with the reason when undefined."""
    if len(set(correct.tolist())) < 2:
        return float(
            "nan"
        ), f"all {len(correct)} answers {'correct' if correct.mean() == 1 else 'wrong'}"
    return float(roc_auc_score(correct, confidence)), ""


def reader_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Test metrics per reader × method × cutoff (original queries), with calibration fitted on dev.

    no_answer_rate: share of test questions without an answer (see :func:`score_answers`).
    The answer metrics (exact_match, f1, contains_answer, answer_tokens) and the confidence
    metrics cover the answered questions only, so an abstention is neither a wrong answer
    nor a confidence; answer_in_passages (a property of the retrieval) covers all of them.
    """
    original = scored[scored["variant"] == "original"]
    rows = []
    for (reader, method, cutoff), test in original[original["split"] == "test"].groupby(
        ["reader", "method", "cutoff"], sort=False
    ):
        dev = original[
            (original["split"] == "dev")
            & (original["reader"] == reader)
            & (original["method"] == method)
            & (original["cutoff"] == cutoff)
        ]
        answered = test[~test["no_answer"]]
        rows.append(
            {
                "reader": reader,
                "method": method,
                "cutoff": cutoff,
                "n": len(test),
                "answered": len(answered),
                "no_answer_rate": float(test["no_answer"].mean()),
                "exact_match": answered["exact_match"].mean(),
                "f1": answered["f1"].mean(),
                "contains_answer": answered["contains_answer"].mean(),
                "answer_in_passages": test["answer_in_passages"].mean(),
                "answer_tokens": answered["answer_tokens"].mean(),
                **_confidence_metrics(dev[~dev["no_answer"]], answered),
            }
        )
    return pd.DataFrame(rows)


def _confidence_metrics(dev: pd.DataFrame, test: pd.DataFrame) -> dict:
    """mean_confidence, ECE raw and Platt-calibrated on dev, AUROC (with notes) of ``test``."""
    if test.empty:
        note = "no answered test question"
        return {
            "mean_confidence": float("nan"),
            "ece_raw": float("nan"),
            "ece_calibrated": float("nan"),
            "confidence_auroc": float("nan"),
            "ece_calibrated_note": note,
            "confidence_auroc_note": note,
        }
    correct, confidence = test["correct"].to_numpy(), test["confidence"].to_numpy()
    calibrated, calibration_note = platt_calibrate(
        dev["confidence"].to_numpy(), dev["correct"].to_numpy(), confidence
    )
    auroc, auroc_note = confidence_auroc(correct, confidence)
    return {
        "mean_confidence": confidence.mean(),
        "ece_raw": expected_calibration_error(correct, confidence),
        "ece_calibrated": expected_calibration_error(correct, calibrated)
        if calibrated is not None
        else float("nan"),
        "confidence_auroc": auroc,
        "ece_calibrated_note": calibration_note,
        "confidence_auroc_note": auroc_note,
    }


def stability_table(scored: pd.DataFrame, small: str, large: str) -> pd.DataFrame:
    """How answers change between two cutoffs (e.g. top5 vs top10), per reader and method (test, original)."""
    test = scored[(scored["split"] == "test") & (scored["variant"] == "original")]
    rows = []
    for (reader, method), part in test.groupby(["reader", "method"], sort=False):
        a = part[part["cutoff"] == small].set_index("question_id")
        b = part[part["cutoff"] == large].set_index("question_id").reindex(a.index)
        if a.empty or b["answer"].isna().all():
            continue
        same = [
            normalize_answer(x) == normalize_answer(y) for x, y in zip(a["answer"], b["answer"])
        ]
        rows.append(
            {
                "reader": reader,
                "method": method,
                "cutoffs": f"{small} vs {large}",
                "n": len(a),
                "same_answer": float(np.mean(same)),
                "answer_f1_between": float(
                    np.mean([token_f1(x, [y]) for x, y in zip(a["answer"], b["answer"])])
                ),
                "mean_abs_confidence_change": float(
                    np.mean(np.abs(a["confidence"] - b["confidence"]))
                ),
                f"f1_{small}": a["f1"].mean(),
                f"f1_{large}": b["f1"].mean(),
            }
        )
    return pd.DataFrame(rows)


def perturbation_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Per reader and query perturbation (test): answer changes, confidence change, F1 change vs the original query."""
    test = scored[scored["split"] == "test"]
    rows = []
    for (reader, method, cutoff), part in test[test["variant"] != "original"].groupby(
        ["reader", "method", "cutoff"], sort=False
    ):
        base = test[
            (test["reader"] == reader)
            & (test["method"] == method)
            & (test["cutoff"] == cutoff)
            & (test["variant"] == "original")
        ].set_index("question_id")
        for variant, perturbed in part.groupby("variant", sort=False):
            perturbed = perturbed.set_index("question_id")
            original = base.reindex(perturbed.index)
            rows.append(
                {
                    "reader": reader,
                    "method": method,
                    "cutoff": cutoff,
                    "perturbation": variant,
                    "n": len(perturbed),
                    "answer_changed": float(
                        np.mean(
                            [
                                normalize_answer(x) != normalize_answer(y)
                                for x, y in zip(original["answer"], perturbed["answer"])
                            ]
                        )
                    ),
                    "top_passage_changed": float(
                        np.mean(
                            [
                                str(x).split()[:1] != str(y).split()[:1]
                                for x, y in zip(original["passages"], perturbed["passages"])
                            ]
                        )
                    ),
                    "mean_abs_confidence_change": float(
                        np.mean(np.abs(original["confidence"] - perturbed["confidence"]))
                    ),
                    "f1_original": original["f1"].mean(),
                    "f1_perturbed": perturbed["f1"].mean(),
                }
            )
    return pd.DataFrame(rows)


def worst_cases(
    scored: pd.DataFrame,
    questions: dict[str, str],
    golds: dict[str, list[str]],
    method: str,
    cutoff: str,
    count: int,
) -> pd.DataFrame:
    """The most confidently wrong test answers at (method, cutoff): lowest F1 first, then
    highest confidence. An abstention reads "no answer", without a confidence (listed after
    the wrong answers of the same F1)."""
    part = scored[
        (scored["split"] == "test")
        & (scored["variant"] == "original")
        & (scored["method"] == method)
        & (scored["cutoff"] == cutoff)
    ].copy()
    part["question"] = part["question_id"].map(questions)
    part["gold"] = part["question_id"].map(lambda q: " | ".join(golds[q]))
    part["answer"] = part["answer"].where(~part["no_answer"], NO_ANSWER_TEXT)
    part["confidence"] = part["confidence"].where(~part["no_answer"])
    part = part.sort_values(["f1", "confidence"], ascending=[True, False], kind="stable")
    columns = [
        "reader",
        "question_id",
        "question",
        "gold",
        "answer",
        "confidence",
        "f1",
        "answer_in_passages",
    ]
    return part.groupby("reader", sort=False).head(count)[columns].reset_index(drop=True)


def retrieval_table(
    rankings: pd.DataFrame,
    question_doc: dict[str, str],
    golds: dict[str, list[str]],
    passage_doc_ids: list[str],
    passage_texts: list[str],
    policies: dict[str, CutoffPolicy],
) -> pd.DataFrame:
    """Per method × query variant × cutoff over the questions of ``question_doc`` (id -> gold document).

    recall = gold document among the documents of the kept passages (computed here because
    ranx's recall@k counts k documents, while a cutoff keeps k passages); MRR@10 and nDCG@10
    from ranx on the documents of the top-10 passages; answer_in_passages; passages kept;
    answer_mrr@10 = MRR@10 of the first passage holding a gold answer (the passage a reader
    needs: on a corpus of long papers on one topic, finding the paper is the easy half).
    """
    lists = ranking_lists(rankings)
    keys = sorted({(m, v) for _, v, m in lists})
    wanted = list(question_doc)
    rows = []
    for method, variant in keys:
        full = {q: lists.get((q, variant, method), []) for q in wanted}
        depth10 = {q: documents_from_passages(r[:10], passage_doc_ids) for q, r in full.items()}
        ranked = retrieval_metrics(
            {q: question_doc[q] for q in wanted}, depth10, metrics=("mrr@10", "ndcg@10")
        )
        answer_mrr = np.mean(
            [
                answer_reciprocal_rank(golds[q], [passage_texts[i] for i, _ in full[q][:10]])
                for q in wanted
            ]
        )
        for cutoff, policy in policies.items():
            kept = {q: policy(r) for q, r in full.items()}
            hit = [
                float(question_doc[q] in {passage_doc_ids[i] for i, _ in kept[q]}) for q in wanted
            ]
            in_passages = [
                answer_in_passages(golds[q], [passage_texts[i] for i, _ in kept[q]]) for q in wanted
            ]
            rows.append(
                {
                    "method": method,
                    "variant": variant,
                    "cutoff": cutoff,
                    "n": len(wanted),
                    "recall": float(np.mean(hit)),
                    "answer_in_passages": float(np.mean(in_passages)),
                    "mean_passages": float(np.mean([len(k) for k in kept.values()])),
                    "mrr@10": ranked["mrr@10"],
                    "ndcg@10": ranked["ndcg@10"],
                    "answer_mrr@10": float(answer_mrr),
                }
            )
    return pd.DataFrame(rows)
