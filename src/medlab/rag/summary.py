"""Rankings + answers of every reader -> the summary tables and figures the report renders."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from medlab.metrics import reliability_bins
from medlab.plotting import plt, save_figure
from medlab.rag.corpus import read_questions
from medlab.rag.evaluate import (
    perturbation_table,
    platt_calibrate,
    reader_table,
    retrieval_table,
    score_answers,
    stability_table,
    worst_cases,
)
from medlab.rag.passages import read_passages
from medlab.rag.rankings import cutoffs

log = logging.getLogger(__name__)


@dataclass
class RagSummary:
    """The summary tables of experiment 3 (test questions unless a column says otherwise)."""

    retrieval: pd.DataFrame  # method x variant x cutoff: recall, MRR@10, nDCG@10, ...
    scored: pd.DataFrame  # every answer with its scores (dev and test)
    readers: pd.DataFrame  # reader x method x cutoff: EM, F1, calibration
    stability: pd.DataFrame  # answers at the smallest vs the largest top_k
    perturbation: pd.DataFrame  # answers under perturbed queries
    worst: pd.DataFrame  # the most confidently wrong answers at the focus method
    focus: tuple[str, str]  # (method, cutoff) of the perturbations, worst cases, reliability

    @property
    def per_question(self) -> pd.DataFrame:
        return self.scored.drop(columns=["passages"])


def summarize(
    questions_path,
    passages_path,
    rankings_path,
    answer_paths: list,
    top_k: list[int],
    adaptive: dict,
    focus_method: str,
    correct_f1: float,
    worst_count: int,
) -> RagSummary:
    """Every summary table from the pipeline's questions, passages, rankings and answers
    (one Parquet file per reader)."""
    questions, splits = read_questions(questions_path, splits={"dev", "test"})
    passages = read_passages(passages_path)
    texts, doc_ids = [p.text for p in passages], [p.doc_id for p in passages]
    golds = {q.id: [a["text"] for a in q.answers] for q in questions}
    test_docs = {q.id: q.doc_id for q, s in zip(questions, splits) if s == "test"}
    rankings = pd.read_parquet(rankings_path)
    retrieval = retrieval_table(
        rankings[rankings["question_id"].isin(test_docs)],
        test_docs,
        golds,
        doc_ids,
        texts,
        cutoffs(top_k, adaptive),
    )
    answers = pd.concat([pd.read_parquet(p) for p in answer_paths], ignore_index=True)
    scored = score_answers(answers, golds, texts, correct_f1)
    small, large = f"top{min(top_k)}", f"top{max(top_k)}"
    question_text = {q.id: q.question for q in questions}
    return RagSummary(
        retrieval=retrieval,
        scored=scored,
        readers=reader_table(scored),
        stability=stability_table(scored, small, large),
        perturbation=perturbation_table(scored),
        worst=worst_cases(scored, question_text, golds, focus_method, large, worst_count),
        focus=(focus_method, large),
    )


def plot_retrieval(retrieval: pd.DataFrame, path) -> None:
    """recall per method (bars) for each cutoff, original queries."""
    original = retrieval[retrieval["variant"] == "original"]
    table = original.pivot(index="method", columns="cutoff", values="recall")[
        list(dict.fromkeys(original["cutoff"]))
    ]
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    width = 0.8 / max(len(table.columns), 1)
    for j, cutoff in enumerate(table.columns):
        ax.bar(np.arange(len(table)) + j * width, table[cutoff], width, label=cutoff)
    ax.set_xticks(
        np.arange(len(table)) + width * (len(table.columns) - 1) / 2, table.index, rotation=20
    )
    ax.set_ylabel("recall (gold document retrieved)")
    ax.set_ylim(0, 1.05)
    # below the axes: bars often reach 1.0, where a legend inside would cover them
    ax.legend(
        title="passages kept",
        ncols=len(table.columns),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
    )
    save_figure(fig, path)


def plot_reliability(scored: pd.DataFrame, method: str, cutoff: str, path, bins: int = 5) -> None:
    """Reliability diagram per reader at (method, cutoff), answered test questions: raw
    confidence and dev-fitted Platt."""
    original = scored[
        (scored["variant"] == "original")
        & (scored["method"] == method)
        & (scored["cutoff"] == cutoff)
        & ~scored["no_answer"]  # an abstention has no confidence in an answer
    ]
    readers = list(dict.fromkeys(original["reader"]))
    fig, axes = plt.subplots(
        1, max(len(readers), 1), figsize=(3.4 * max(len(readers), 1), 3.2), squeeze=False
    )
    for ax, reader in zip(axes[0], readers):
        test = original[(original["reader"] == reader) & (original["split"] == "test")]
        dev = original[(original["reader"] == reader) & (original["split"] == "dev")]
        calibrated, _ = platt_calibrate(
            dev["confidence"].to_numpy(), dev["correct"].to_numpy(), test["confidence"].to_numpy()
        )
        curves = [("raw", test["confidence"].to_numpy())] + (
            [("Platt (dev)", calibrated)] if calibrated is not None else []
        )
        for label, confidence in curves:
            table = reliability_bins(test["correct"].to_numpy(), confidence, bins)
            ax.plot(table["confidence"], table["accuracy"], marker="o", label=label)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
        ax.set(
            title=f"{reader} reader",
            xlabel="confidence",
            ylabel="fraction correct (F1 ≥ threshold)",
            xlim=(0, 1),
            ylim=(0, 1.05),
        )
        ax.legend()
    save_figure(fig, path)
