"""Synthetic extractive QA made from the training documents' own passages.

No SQuAD-trained reader or SQuAD data is reachable offline, so the span reader gets its
first supervision from the corpus itself (as Gangi Reddy et al. 2020 did for COVID-19
papers). Every sentence of a training passage offers answer candidates, each turned into
a question by replacing the candidate with a wh-phrase or by asking what follows the
sentence's first verb:

========== ======================================== =========================================
kind       answer                                   question
========== ======================================== =========================================
number     a number with its unit or %              "… was how many days?" / "what percentage"
acronym    the long form before "(ACE2)"            "What is abbreviated as ACE2 …?"
entity     a capitalised / technical term           the sentence with the term as "what"
clause     the rest of the sentence after its verb  "<subject> <verb> what?"
========== ======================================== =========================================

Only passages of the documents named as training documents are read, so no dev or test
document can leak into fine-tuning; :func:`synthesize` checks it again on its output.
Questions carry document offsets, so they train the reader and the retriever exactly like
gold questions (:class:`medlab.rag.corpus.Question`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from medlab.io import write_json, write_tsv
from medlab.rag.corpus import Question, read_questions, write_jsonl
from medlab.rag.passages import Passage, read_passages, split_sentences

KINDS = ("number", "acronym", "entity", "clause")

UNITS = (
    r"%|percent|per cent|days?|weeks?|months?|years?|hours?|minutes?|h|min|mg|g|kg|ml|mL|"
    r"μg|µg|nm|μm|mm|cm|patients|cases|participants|subjects|deaths|samples|times|fold"
)
NUMBER = re.compile(rf"(?<![\w.-])\d+(?:[.,]\d+)?(?:\s?(?:{UNITS})\b|%)?")
ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9-]{1,9})\)")
# a capitalised word not opening the sentence, or a token mixing capitals with digits/hyphens
ENTITY = re.compile(r"(?<=\s)(?:[A-Z][\w-]*[A-Z0-9][\w-]*|[A-Z][a-z]{2,}(?:\s[A-Z][a-z]{2,})*)")
# the first finite verb that opens a predicate worth asking about
VERB = re.compile(
    r"\b(is|are|was|were|has|have|had|includes?|included|showed|shows|revealed|reveals|"
    r"increased|decreased|reduced|caused|causes|contains?|contained|remains?|remained|"
    r"requires?|required|suggests?|suggested|indicates?|indicated|led to|results? in|"
    r"resulted in|depends? on|consists? of|consisted of)\b"
)
TIME_UNITS = {"day", "week", "month", "year", "hour", "minute", "h", "min"}
# paper headers (title, URL, SHA, authors, dates, DOI, licence) run into the first sentence
# after them; questions built on them ask about metadata, not the paper
METADATA = re.compile(r"https?://|www\.|\b(?:SHA|DOI|License|Date|Authors?):")

MIN_SENTENCE_WORDS, MAX_SENTENCE_WORDS = 6, 60
MAX_ANSWER_WORDS = 20
# synthetic questions shown in the report
REPORT_SAMPLE = 10


@dataclass(frozen=True)
class Candidate:
    """One answer candidate: character span in its sentence and the question built on it."""

    kind: str
    start: int
    end: int
    question: str


def _wh_number(answer: str) -> str:
    unit = re.sub(r"^[\d.,\s]+", "", answer).strip().lower()
    if unit in ("%", "percent", "per cent"):
        return "what percentage"
    if unit:
        return f"how many {unit if unit.endswith('s') or unit in TIME_UNITS else unit}"
    return "what number"


def _cloze(sentence: str, start: int, end: int, wh: str) -> str:
    """The sentence with ``sentence[start:end]`` replaced by ``wh``, ending in a question mark."""
    text = f"{sentence[:start]}{wh}{sentence[end:]}".strip()
    text = re.sub(r"\s+", " ", text).rstrip(" .;:,")
    return text[0].upper() + text[1:] + "?"


def _inside_brackets(sentence: str, position: int) -> bool:
    """Whether ``position`` lies inside (...) or [...]: statistics and citations, not answers."""
    before = sentence[:position]
    return before.count("(") > before.count(")") or before.count("[") > before.count("]")


def number_candidates(sentence: str) -> Iterator[Candidate]:
    for match in NUMBER.finditer(sentence):
        around = sentence[max(match.start() - 1, 0) : match.end() + 1]
        # ranges ("4.1-7.0") and bracketed statistics or citations make poor questions
        if _inside_brackets(sentence, match.start()) or re.search(r"\d[-–]|[-–]\d", around):
            continue
        wh = _wh_number(match.group())
        yield Candidate("number", match.start(), match.end(), _cloze(sentence, *match.span(), wh))


def acronym_candidates(sentence: str) -> Iterator[Candidate]:
    """Long forms whose word initials spell the parenthesised acronym after them."""
    for match in ACRONYM.finditer(sentence):
        acronym = match.group(1)
        # hyphenated words give one initial per part ("angiotensin-converting enzyme 2": ACE2)
        letters = [c for c in acronym if c.isupper() or c.isdigit()]
        words = list(re.finditer(r"[A-Za-z0-9]+", sentence[: match.start()]))
        if not letters or len(words) < len(letters):
            continue
        span = words[-len(letters) :]
        initials = [w.group()[0].upper() for w in span]
        if initials != letters:
            continue
        start, end = span[0].start(), span[-1].end()
        rest = sentence[match.end() :].strip(" ,.")
        question = f"What is abbreviated as {acronym}" + (f" ({rest[:60]})" if rest else "") + "?"
        yield Candidate("acronym", start, end, question)


def entity_candidates(sentence: str) -> Iterator[Candidate]:
    for match in ENTITY.finditer(sentence):
        if _inside_brackets(sentence, match.start()):
            continue
        before = sentence[: match.start()].rstrip().split(" ")[-1].lower()
        wh = "where" if before in ("in", "from") else "what"
        start = match.start() - (len(before) + 1 if wh == "where" else 0)
        question = _cloze(sentence, start, match.end(), wh)
        yield Candidate("entity", match.start(), match.end(), question)


def clause_candidates(sentence: str) -> Iterator[Candidate]:
    """What follows the first verb, up to the end of its clause: "<subject> <verb> what?"."""
    match = VERB.search(sentence)
    if not match or match.start() < 3:
        return
    rest = sentence[match.end() :]
    # up to the end of the clause: ; or : or a full stop (not a decimal point)
    clause = re.match(r"\s*(.+?)(?=[;:]|\.(?:\s|$)|$)", rest)
    if not clause:
        return
    start = match.end() + clause.start(1)
    end = match.end() + clause.end(1)
    subject = sentence[: match.end()].strip()
    yield Candidate("clause", start, end, subject[0].upper() + subject[1:] + " what?")


CANDIDATES = {
    "number": number_candidates,
    "acronym": acronym_candidates,
    "entity": entity_candidates,
    "clause": clause_candidates,
}


def sentence_candidates(sentence: str, kinds: Iterable[str] = KINDS) -> list[Candidate]:
    """Every usable candidate of one sentence (answer of 1..MAX_ANSWER_WORDS words); none from
    a sentence outside MIN..MAX_SENTENCE_WORDS words or one holding paper metadata."""
    words = len(sentence.split())
    if not MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS or METADATA.search(sentence):
        return []
    found = []
    for kind in kinds:
        for candidate in CANDIDATES[kind](sentence):
            answer = sentence[candidate.start : candidate.end].strip()
            if (
                answer
                and len(answer.split()) <= MAX_ANSWER_WORDS
                and len(candidate.question.split()) >= 4
            ):
                found.append(candidate)
    return found


def synthesize(
    passages: list[Passage],
    train_doc_ids: Iterable[str],
    per_passage: int,
    max_examples: int | None,
    seed: int,
    kinds: Iterable[str] = KINDS,
) -> tuple[list[Question], Counter]:
    """Synthetic questions from the passages of ``train_doc_ids`` only.

    At most ``per_passage`` questions per passage, drawn round-robin over kinds so one kind
    cannot crowd out the others; duplicates (same question and answer, case-insensitive)
    dropped; then a seeded sample of at most ``max_examples``. Returns the questions
    (answers in document offsets; ids ``syn::<passage id>::<n>::<kind>``) and counts:
    ``kind:<k>`` per kind before the sample, ``duplicates``, ``passages_read``. Raises
    ValueError on an unknown kind.
    """
    kinds = list(kinds)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown synthetic question kind(s) {sorted(unknown)}; expected {KINDS}")
    allowed = set(train_doc_ids)
    rng = random.Random(seed)
    counts: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    questions: list[Question] = []
    for passage in passages:
        if passage.doc_id not in allowed:
            continue
        counts["passages_read"] += 1
        for candidate, sentence_start in _draw(passage, per_passage, kinds, rng):
            start = passage.start + sentence_start + candidate.start
            answer = passage.text[sentence_start + candidate.start : sentence_start + candidate.end]
            key = (candidate.question.lower(), answer.lower())
            if key in seen:
                counts["duplicates"] += 1
                continue
            seen.add(key)
            counts[f"kind:{candidate.kind}"] += 1
            questions.append(
                Question(
                    id=f"syn::{passage.id}::{len(questions)}::{candidate.kind}",
                    question=candidate.question,
                    doc_id=passage.doc_id,
                    answers=[{"text": answer, "answer_start": start}],
                )
            )
    if max_examples is not None and len(questions) > max_examples:
        questions = sorted(rng.sample(questions, max_examples), key=lambda q: q.id)
    leaked = {q.doc_id for q in questions} - allowed
    if leaked:  # cannot happen by construction; a guard against future edits
        raise AssertionError(f"synthetic questions from non-training documents: {sorted(leaked)}")
    return questions, counts


def _whole_sentences(passage: Passage) -> list[tuple[int, int]]:
    """Sentence spans of the passage, without the fragments its window boundaries cut."""
    spans = split_sentences(passage.text)
    if spans and passage.start > 0 and not passage.text[spans[0][0]].isupper():
        spans = spans[1:]
    if spans and passage.text[spans[-1][0] : spans[-1][1]].rstrip()[-1:] not in ".!?":
        spans = spans[:-1]
    return spans


def _draw(
    passage: Passage, per_passage: int, kinds: list[str], rng: random.Random
) -> list[tuple[Candidate, int]]:
    """Up to ``per_passage`` (candidate, sentence offset in passage), round-robin over kinds."""
    by_kind: dict[str, list[tuple[Candidate, int]]] = {kind: [] for kind in kinds}
    for start, end in _whole_sentences(passage):
        for candidate in sentence_candidates(passage.text[start:end], kinds):
            by_kind[candidate.kind].append((candidate, start))
    for pool in by_kind.values():
        rng.shuffle(pool)
    drawn: list[tuple[Candidate, int]] = []
    while len(drawn) < per_passage and any(by_kind.values()):
        for kind in kinds:
            if by_kind[kind] and len(drawn) < per_passage:
                drawn.append(by_kind[kind].pop())
    return drawn


def synthesize_corpus(
    passages_path,
    questions_path,
    synthetic_questions_path,
    stats_path,
    sample_path,
    per_passage: int,
    max_examples: int | None,
    seed: int,
    kinds: Iterable[str] = KINDS,
) -> list[Question]:
    """Synthetic questions for a prepared corpus, written next to its gold questions.

    The training documents are those of the questions in the train split of
    ``questions_path`` (the prepared questions JSONL). Writes ``synthetic_questions_path``
    in the same record format (split ``train``), ``stats_path`` (see :func:`synthetic_stats`)
    and ``sample_path`` (:func:`sample_table` of REPORT_SAMPLE questions, for the report), all
    atomically; returns the questions.

    Raises:
        ValueError: naming ``questions_path`` when it has no training question, and on an
            unknown kind.
    """
    gold, splits = read_questions(questions_path)
    train_doc_ids = sorted({q.doc_id for q, split in zip(gold, splits) if split == "train"})
    if not train_doc_ids:
        raise ValueError(
            f"{questions_path}: no question in the train split ({len(gold)} questions in all), "
            "so there is no training document to make synthetic questions from; raise "
            "rag.split_fractions[0] or rag.corpus.max_documents"
        )
    passages = read_passages(passages_path)
    questions, counts = synthesize(passages, train_doc_ids, per_passage, max_examples, seed, kinds)
    write_jsonl([{**q.__dict__, "split": "train"} for q in questions], synthetic_questions_path)
    write_json(synthetic_stats(questions, counts, train_doc_ids, kinds), stats_path)
    write_tsv(sample_table(sample_questions(questions, REPORT_SAMPLE, seed)), sample_path)
    return questions


def synthetic_stats(
    questions: list[Question], counts: Counter, train_doc_ids: list[str], kinds: Iterable[str]
) -> dict:
    """stats.json of the synthetic stage: questions kept (in all and per kind, after the
    ``max_examples`` sample), made (before it), duplicates dropped, passages read, training
    documents used."""
    kept = Counter(kind_of_question(q) for q in questions)
    return {
        "questions": len(questions),
        "made": sum(v for k, v in counts.items() if k.startswith("kind:")),
        "per_kind": {kind: kept.get(kind, 0) for kind in kinds},
        "duplicates": counts.get("duplicates", 0),
        "passages_read": counts.get("passages_read", 0),
        "train_documents": len(train_doc_ids),
    }


def kind_of_question(question: Question) -> str:
    """The kind of a synthetic question, from its id (see :func:`synthesize`)."""
    return question.id.rsplit("::", 1)[-1]


def sample_questions(questions: list[Question], size: int, seed: int) -> list[Question]:
    """A seeded sample of at most ``size`` questions, in their original order (for the report)."""
    chosen = sorted(random.Random(seed).sample(range(len(questions)), min(size, len(questions))))
    return [questions[index] for index in chosen]


def sample_table(questions: list[Question]) -> pd.DataFrame:
    """One row per question: kind, question, answer, document."""
    return pd.DataFrame(
        [
            {
                "kind": kind_of_question(q),
                "question": q.question,
                "answer": q.answers[0]["text"],
                "document": q.doc_id,
            }
            for q in questions
        ],
        columns=["kind", "question", "answer", "document"],
    )
