"""Loading QA corpora into documents and questions, validated and counted.

Two formats: SQuAD-style JSON (``data[].paragraphs[].context/qas``; each paragraph is a
document, as in COVID-QA where one paragraph holds one paper) and a plain pair of JSONL
files (documents: id, text; questions: id, question, answers [{text, answer_start}],
doc_id). Bad records are skipped and counted, never fatal: empty documents, duplicate
ids, answers whose ``answer_start`` does not match the text (re-located when the answer
occurs in the document, dropped otherwise), undecodable bytes (replaced).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class Question:
    id: str
    question: str
    doc_id: str
    answers: list[dict]  # {"text": str, "answer_start": int}


@dataclass
class Corpus:
    documents: dict[str, str]
    questions: list[Question]
    issues: Counter = field(default_factory=Counter)


def _read_text(path) -> tuple[str, bool]:
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def _checked_answers(
    question_id: str, answers: list[dict], text: str, issues: Counter
) -> list[dict]:
    """Answers whose span matches ``text``; a wrong ``answer_start`` is re-located if possible."""
    checked = []
    for answer in answers:
        value, start = str(answer.get("text", "")), answer.get("answer_start")
        if not value.strip():
            issues["empty answer"] += 1
            continue
        if isinstance(start, int) and text[start : start + len(value)] == value:
            checked.append({"text": value, "answer_start": start})
            continue
        found = text.find(value)
        if found >= 0:
            issues["answer_start re-located"] += 1
            checked.append({"text": value, "answer_start": found})
        else:
            issues["answer not in document (dropped)"] += 1
            log.warning("question %s: answer %r not found in its document", question_id, value[:60])
    return checked


def _add_question(
    corpus: Corpus, seen: set, qid: str, question: str, doc_id: str, answers: list[dict]
) -> None:
    if qid in seen:
        corpus.issues["duplicate question id"] += 1
        return
    seen.add(qid)
    if not question.strip():
        corpus.issues["empty question"] += 1
        return
    checked = _checked_answers(qid, answers, corpus.documents[doc_id], corpus.issues)
    if not checked:
        corpus.issues["question without a usable answer (dropped)"] += 1
        return
    corpus.questions.append(Question(qid, question.strip(), doc_id, checked))


def load_squad(path) -> Corpus:
    """A SQuAD-format file; document ids are the paragraph's ``document_id`` or title + index."""
    text, replaced = _read_text(path)
    data = json.loads(text)
    corpus = Corpus({}, [])
    if replaced:
        corpus.issues["file with undecodable bytes (replaced)"] += 1
    seen: set = set()
    for article_index, article in enumerate(data.get("data", [])):
        for paragraph_index, paragraph in enumerate(article.get("paragraphs", [])):
            doc_id = str(
                paragraph.get(
                    "document_id", f"{article.get('title', article_index)}#{paragraph_index}"
                )
            )
            context = paragraph.get("context", "")
            if not context.strip():
                corpus.issues["empty document"] += 1
                continue
            if doc_id in corpus.documents:
                corpus.issues["duplicate document id"] += 1
                continue
            corpus.documents[doc_id] = context
            for qa in paragraph.get("qas", []):
                if qa.get("is_impossible"):
                    corpus.issues["unanswerable question (skipped)"] += 1
                    continue
                _add_question(
                    corpus,
                    seen,
                    str(qa.get("id")),
                    str(qa.get("question", "")),
                    doc_id,
                    qa.get("answers", []),
                )
    _check_not_empty(corpus, path)
    return corpus


def _json_records(path, issues: Counter):
    """Records of a JSONL file; undecodable bytes and unreadable lines are counted in ``issues``."""
    text, replaced = _read_text(path)
    issues["file with undecodable bytes (replaced)"] += int(replaced)
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            issues["unreadable JSON line"] += 1
            log.warning("%s line %d: not JSON", path, line_number)


def load_jsonl(documents_path, questions_path) -> Corpus:
    """Documents JSONL (id, text) and questions JSONL (id, question, answers, doc_id)."""
    corpus = Corpus({}, [])
    for record in _json_records(documents_path, corpus.issues):
        doc_id, text = str(record.get("id", "")), str(record.get("text", ""))
        if not text.strip():
            corpus.issues["empty document"] += 1
        elif doc_id in corpus.documents:
            corpus.issues["duplicate document id"] += 1
        else:
            corpus.documents[doc_id] = text
    seen: set = set()
    for record in _json_records(questions_path, corpus.issues):
        doc_id = str(record.get("doc_id", ""))
        if doc_id not in corpus.documents:
            corpus.issues["question about an unknown document (dropped)"] += 1
            continue
        _add_question(
            corpus,
            seen,
            str(record.get("id")),
            str(record.get("question", "")),
            doc_id,
            record.get("answers", []),
        )
    corpus.issues = +corpus.issues  # drop zero counts
    _check_not_empty(corpus, questions_path)
    return corpus


def _check_not_empty(corpus: Corpus, path) -> None:
    if not corpus.documents or not corpus.questions:
        raise ValueError(
            f"{path}: {len(corpus.documents)} documents and {len(corpus.questions)} usable questions; need both "
            f"(issues: {dict(corpus.issues)})"
        )


def write_jsonl(records, path) -> None:
    """One JSON object per line, written atomically."""
    from medlab.io import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def read_jsonl(path) -> list[dict]:
    """Records of a JSONL file the pipeline wrote (strict: any bad line is an error naming it)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path} line {line_number}: not JSON ({error})") from error
    return records


def questions_from_records(records: list[dict]) -> list[Question]:
    return [Question(r["id"], r["question"], r["doc_id"], r["answers"]) for r in records]
