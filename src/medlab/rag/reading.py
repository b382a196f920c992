"""Reading: one reader's answers for every question, retrieval method and cutoff."""

from __future__ import annotations

import logging

import pandas as pd

from medlab.rag.corpus import Question
from medlab.rag.passages import Passage, gold_passages
from medlab.rag.rankings import QUERY_VARIANTS, CutoffPolicy, query_variant, ranking_lists

log = logging.getLogger(__name__)


def read_answers(
    reader,
    questions: list[Question],
    splits: list[str],
    passages: list[Passage],
    rankings: pd.DataFrame,
    methods: list[str],
    policies: dict[str, CutoffPolicy],
    focus: tuple[str, str],
) -> pd.DataFrame:
    """Answers of one reader for every (question, method, cutoff) plus the gold-passage oracle.

    dev and test questions are read with the original query (dev fits the confidence
    calibration); test questions are also read with each perturbed query at ``focus``
    (method, cutoff). A question with no retrieved passage gets an empty answer, counted.
    ``reader`` has ``read(question, passage indices, passage texts) -> Answer``.
    """
    texts = [p.text for p in passages]
    lists = ranking_lists(rankings)
    rows = []

    def add(question, split, variant, method, cutoff, ranking):
        used = [index for index, _ in ranking]
        answer = reader.read(query_variant(question.question, variant), used, texts)
        rows.append(
            {
                "question_id": question.id,
                "split": split,
                "variant": variant,
                "method": method,
                "cutoff": cutoff,
                "k_used": len(used),
                "passages": " ".join(map(str, used)),
                "answer": answer.text,
                "confidence": answer.score,
                "source_passage": answer.passage,
            }
        )

    focus_method, focus_cutoff = focus
    for question, split in zip(questions, splits):
        gold = gold_passages(question, passages)[:1]
        add(question, split, "original", "gold_passage", "gold", [(index, 1.0) for index in gold])
        for method in methods:
            for variant in QUERY_VARIANTS:
                if variant != "original" and (split != "test" or method != focus_method):
                    continue
                ranking = lists.get((question.id, variant, method), [])
                for cutoff, policy in policies.items():
                    if variant == "original" or cutoff == focus_cutoff:
                        add(question, split, variant, method, cutoff, policy(ranking))
    frame = pd.DataFrame(rows)
    _warn_about_empty_readings(frame)
    return frame


def _warn_about_empty_readings(frame: pd.DataFrame) -> None:
    empty = int(((frame["k_used"] == 0) & (frame["method"] != "gold_passage")).sum())
    if empty:
        log.warning("%d reading(s) had zero retrieved passages and returned an empty answer", empty)
    no_gold = int(((frame["k_used"] == 0) & (frame["method"] == "gold_passage")).sum())
    if no_gold:
        log.warning(
            "%d question(s) have no passage holding a whole gold answer (it straddles passages): "
            "their gold-passage reading is empty",
            no_gold,
        )
