"""Synthetic QA from training passages: spans, question forms, caps, and no leak of
dev/test documents."""

import json

import pytest

from medlab.rag.passages import split_passages, split_questions_by_document
from medlab.rag.synthetic import KINDS, sentence_candidates, synthesize

DOCUMENTS = {
    "covid": (
        "The median incubation period was 5.2 days (95% CI 4.1-7.0) in Wuhan, China. "
        "The virus binds angiotensin-converting enzyme 2 (ACE2) on the surface of lung cells. "
        "About 80% of infections were mild. Remdesivir shortened the time to recovery."
    ),
    "flu": (
        "Influenza vaccines are updated every year because the virus drifts antigenically. "
        "In the 2019 season the vaccine effectiveness was 45% against hospitalisation."
    ),
    "masks": (
        "Surgical masks reduced the spread of respiratory droplets in laboratory studies. "
        "The World Health Organization recommended masks in crowded indoor spaces."
    ),
}


def passages():
    return [p for doc, text in DOCUMENTS.items() for p in split_passages(doc, text, 40, 10)]


def test_paper_headers_give_no_questions():
    """A COVID-QA paper's header runs into its first sentence; it must not become a question."""
    header = (
        "Species-specific clinical characteristics of human coronavirus infection\n\n"
        "https://www.ncbi.nlm.nih.gov/pmc/articles/PMC5820427/\n\nSHA: edfe02a4\n\n"
        "Authors: Kim, Anna\nDate: 2018-02-02\nDOI: 10.1111/irv.12538\nLicense: cc-by\n\n"
        "Abstract: Human coronavirus (HCoV) is a known cause of influenza-like illness (ILI)."
    )
    assert sentence_candidates(header) == []
    assert sentence_candidates(header.split("Abstract: ")[1])  # the sentence alone is usable


def test_candidate_forms():
    numbers = [
        c
        for c in sentence_candidates(DOCUMENTS["covid"].split(". ")[0] + ".")
        if c.kind == "number"
    ]
    assert [c.question for c in numbers] == [
        "The median incubation period was how many days (95% CI 4.1-7.0) in Wuhan, China?"
    ]
    acronym = [
        c
        for c in sentence_candidates(DOCUMENTS["covid"].split(". ")[1] + ".")
        if c.kind == "acronym"
    ]
    sentence = DOCUMENTS["covid"].split(". ")[1]
    assert sentence[acronym[0].start : acronym[0].end] == "angiotensin-converting enzyme 2"
    assert acronym[0].question.startswith("What is abbreviated as ACE2")


def test_answers_are_document_spans_and_questions_hide_them():
    questions, counts = synthesize(passages(), DOCUMENTS, per_passage=10, max_examples=None, seed=0)
    assert questions and counts["passages_read"] == len(passages())
    for question in questions:
        answer = question.answers[0]
        text = DOCUMENTS[question.doc_id]
        assert (
            text[answer["answer_start"] : answer["answer_start"] + len(answer["text"])]
            == answer["text"]
        )
        assert question.question.endswith("?")
    assert {k.split(":")[1] for k in counts if k.startswith("kind:")} <= set(KINDS)


def test_no_dev_or_test_document_leaks():
    split = split_questions_by_document(list(DOCUMENTS), (0.34, 0.33, 0.33), seed=0)
    questions, _ = synthesize(passages(), split["train"], per_passage=10, max_examples=None, seed=0)
    assert questions
    held_out = set(split["dev"]) | set(split["test"])
    assert not {q.doc_id for q in questions} & held_out


def test_seeded_capped_and_deduplicated():
    first, _ = synthesize(passages(), DOCUMENTS, per_passage=2, max_examples=4, seed=3)
    again, _ = synthesize(passages(), DOCUMENTS, per_passage=2, max_examples=4, seed=3)
    assert [q.question for q in first] == [q.question for q in again]
    assert len(first) == 4
    per_passage, _ = synthesize(passages(), DOCUMENTS, per_passage=1, max_examples=None, seed=0)
    assert len(per_passage) <= len(passages())
    doubled = passages() + passages()
    unique, counts = synthesize(doubled, DOCUMENTS, per_passage=10, max_examples=None, seed=0)
    keys = {(q.question.lower(), q.answers[0]["text"].lower()) for q in unique}
    assert len(keys) == len(unique) and counts["duplicates"] > 0


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="riddle"):
        synthesize(
            passages(), DOCUMENTS, per_passage=1, max_examples=None, seed=0, kinds=["riddle"]
        )


def test_default_corpus_yields_questions_of_every_kind(root):
    docs = [
        json.loads(line)
        for line in (root / "resources/rag/documents.jsonl").read_text().splitlines()
        if line.strip()
    ]
    corpus = [p for d in docs for p in split_passages(d["id"], d["text"], 80, 20)]
    _, counts = synthesize(
        corpus, [d["id"] for d in docs], per_passage=8, max_examples=None, seed=0
    )
    assert all(counts[f"kind:{kind}"] > 0 for kind in ("number", "entity", "clause"))
