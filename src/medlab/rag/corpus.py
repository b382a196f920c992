"""Loading QA corpora into documents and questions, validated and counted.

Two formats: SQuAD-style JSON (``data[].paragraphs[].context/qas``; each paragraph is a
document, as in COVID-QA where one paragraph holds one paper) and a plain pair of JSONL
files (documents: id, text; questions: id, question, answers [{text, answer_start}],
doc_id). Bad records are skipped and counted, never fatal: empty or missing texts,
duplicate ids, lines that are not JSON objects, answers that are not a list of objects,
answers whose ``answer_start`` does not match the text (re-located when the answer occurs
in the document, dropped otherwise), stray undecodable bytes (replaced). A file that is
not UTF-8 text at all, an unreadable SQuAD file, or a corpus left without documents or
questions is an error naming the file.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medlab.io import atomic_path

log = logging.getLogger(__name__)

# byte-order marks of encodings that are not UTF-8: such a file decodes to garbage
_FOREIGN_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


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
    """The file's text and whether stray undecodable bytes were replaced.

    Raises:
        ValueError: naming the file when it is not UTF-8 text at all (a UTF-16/32 byte-order
            mark, or NUL bytes), which replacing bytes would turn into garbage.
    """
    raw = Path(path).read_bytes()
    for bom, encoding in _FOREIGN_BOMS.items():
        if raw.startswith(bom):
            raise ValueError(f"{path}: the file is {encoding} text, not UTF-8; re-save it as UTF-8")
    if b"\x00" in raw:
        raise ValueError(
            f"{path}: the file holds NUL bytes, so it is not UTF-8 text (a binary file, or "
            "UTF-16 without a byte-order mark?); check the path and re-save it as UTF-8"
        )
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", errors="replace"), True


def _string_field(record: dict, key: str) -> str | None:
    """``record[key]`` when it is a string; None when missing, null or another type."""
    value = record.get(key)
    return value if isinstance(value, str) else None


def _checked_answers(question_id: str, answers, text: str, issues: Counter) -> list[dict]:
    """Answers whose span matches ``text``; a wrong ``answer_start`` is re-located if possible.

    ``answers`` comes straight from the file: anything but a list of objects is counted.
    """
    if not isinstance(answers, list):
        issues["answers not a list (question dropped)"] += 1
        return []
    checked = []
    for answer in answers:
        if not isinstance(answer, dict):
            issues["answer not an object (dropped)"] += 1
            continue
        value, start = _string_field(answer, "text"), answer.get("answer_start")
        if value is None or not value.strip():
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


def _add_document(corpus: Corpus, doc_id: str, text) -> bool:
    """Adds a document unless its text is missing, empty or a duplicate id (counted)."""
    if not isinstance(text, str):
        corpus.issues["document text missing or not a string"] += 1
    elif not text.strip():
        corpus.issues["empty document"] += 1
    elif doc_id in corpus.documents:
        corpus.issues["duplicate document id"] += 1
    else:
        corpus.documents[doc_id] = text
        return True
    return False


def _add_question(corpus: Corpus, seen: set, record: dict, doc_id: str) -> None:
    """Adds ``record`` (id, question, answers) about ``doc_id``, or counts why it is skipped."""
    qid, question = str(record.get("id")), record.get("question")
    if qid in seen:
        corpus.issues["duplicate question id"] += 1
        return
    seen.add(qid)
    if not isinstance(question, str):
        corpus.issues["question text missing or not a string"] += 1
        return
    if not question.strip():
        corpus.issues["empty question"] += 1
        return
    checked = _checked_answers(
        qid, record.get("answers", []), corpus.documents[doc_id], corpus.issues
    )
    if not checked:
        corpus.issues["question without a usable answer (dropped)"] += 1
        return
    corpus.questions.append(Question(qid, question.strip(), doc_id, checked))


def _objects(items, issues: Counter, what: str) -> list[dict]:
    """The dict entries of a JSON list; other entries (and a non-list) are counted as ``what``."""
    if not isinstance(items, list):
        issues[f"{what} not a list (skipped)"] += 1
        return []
    kept = [item for item in items if isinstance(item, dict)]
    issues[f"{what} entry not an object (skipped)"] += len(items) - len(kept)
    return kept


def load_squad(path) -> Corpus:
    """A SQuAD-format file; document ids are the paragraph's ``document_id`` or title + index.

    Raises:
        ValueError: naming the file when it is not JSON, not a JSON object, not UTF-8 text,
            or holds no usable document or question.
    """
    text, replaced = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path}: not readable as JSON ({error}); check that the file is a complete "
            "SQuAD-format JSON (a download cut short, or a JSONL file given as rag.corpus.file?)"
        ) from error
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: the JSON is a {type(data).__name__}, not an object with a 'data' list; "
            "check that the file is in SQuAD format"
        )
    corpus = Corpus({}, [])
    if replaced:
        corpus.issues["file with undecodable bytes (replaced)"] += 1
    seen: set = set()
    for article_index, article in enumerate(_objects(data.get("data", []), corpus.issues, "data")):
        paragraphs = _objects(article.get("paragraphs", []), corpus.issues, "paragraphs")
        for paragraph_index, paragraph in enumerate(paragraphs):
            doc_id = str(
                paragraph.get(
                    "document_id", f"{article.get('title', article_index)}#{paragraph_index}"
                )
            )
            if not _add_document(corpus, doc_id, paragraph.get("context", "")):
                continue
            for qa in _objects(paragraph.get("qas", []), corpus.issues, "qas"):
                if qa.get("is_impossible"):
                    corpus.issues["unanswerable question (skipped)"] += 1
                    continue
                _add_question(corpus, seen, qa, doc_id)
    corpus.issues = +corpus.issues  # drop zero counts
    _check_not_empty(corpus, documents_path=path, questions_path=path)
    return corpus


def _json_records(path, issues: Counter):
    """JSON objects of a JSONL file; undecodable bytes, unreadable lines and lines that are
    not objects are counted in ``issues``."""
    text, replaced = _read_text(path)
    issues["file with undecodable bytes (replaced)"] += int(replaced)
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            issues["unreadable JSON line"] += 1
            log.warning("%s line %d: not JSON", path, line_number)
            continue
        if not isinstance(record, dict):
            issues["JSON line not an object (skipped)"] += 1
            log.warning(
                "%s line %d: a JSON %s, not an object", path, line_number, type(record).__name__
            )
            continue
        yield record


def load_jsonl(documents_path, questions_path) -> Corpus:
    """Documents JSONL (id, text) and questions JSONL (id, question, answers, doc_id).

    Raises:
        ValueError: naming the documents file when no usable document is left, the
            questions file when no usable question is left, or a file that is not UTF-8.
    """
    corpus = Corpus({}, [])
    for record in _json_records(documents_path, corpus.issues):
        _add_document(corpus, str(record.get("id", "")), record.get("text", ""))
    seen: set = set()
    for record in _json_records(questions_path, corpus.issues):
        doc_id = str(record.get("doc_id", ""))
        if doc_id not in corpus.documents:
            corpus.issues["question about an unknown document (dropped)"] += 1
            continue
        _add_question(corpus, seen, record, doc_id)
    corpus.issues = +corpus.issues  # drop zero counts
    _check_not_empty(corpus, documents_path, questions_path)
    return corpus


def _check_not_empty(corpus: Corpus, documents_path, questions_path) -> None:
    """Raises ValueError naming the file that left the corpus without documents or questions."""
    if not corpus.documents:
        raise ValueError(
            f"{documents_path}: no usable document (issues: {dict(corpus.issues)}); check "
            "that the file holds documents with a non-empty text"
        )
    if not corpus.questions:
        raise ValueError(
            f"{questions_path}: {len(corpus.documents)} documents but no usable question "
            f"(issues: {dict(corpus.issues)}); check the questions' doc_id and answers"
        )


# rag.corpus.format -> loader of the corpus from its files (the rule's input names)
CORPUS_FORMATS: dict[str, Callable[[dict], Corpus]] = {
    "jsonl": lambda paths: load_jsonl(paths["documents"], paths["questions"]),
    "squad": lambda paths: load_squad(paths["file"]),
}


def load_corpus(source_format: str, paths: dict) -> Corpus:
    """The corpus of ``rag.corpus.format``: ``paths`` holds ``file`` (squad) or
    ``documents`` and ``questions`` (jsonl).

    Raises:
        ValueError: for an unknown format.
    """
    if source_format not in CORPUS_FORMATS:
        raise ValueError(
            f"rag.corpus.format: unknown format {source_format!r}; "
            f"expected one of {sorted(CORPUS_FORMATS)}"
        )
    return CORPUS_FORMATS[source_format](paths)


def write_jsonl(records, path) -> None:
    """One JSON object per line, written atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def read_jsonl(path) -> list[dict]:
    """Records of a JSONL file the pipeline wrote (strict: any bad line is an error naming it)."""
    records = []
    try:
        with open(path, encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise ValueError(f"{path} line {line_number}: not JSON ({error})") from error
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 ({error}); the pipeline writes UTF-8, so the file was changed "
            "or damaged: delete it and rerun the rule that writes it"
        ) from error
    return records


def questions_from_records(records: list[dict]) -> list[Question]:
    return [Question(r["id"], r["question"], r["doc_id"], r["answers"]) for r in records]


def read_questions(path, splits=None) -> tuple[list[Question], list[str]]:
    """Questions of the pipeline's questions JSONL (in ``splits`` when given) and their splits."""
    records = [r for r in read_jsonl(path) if splits is None or r["split"] in splits]
    return questions_from_records(records), [r["split"] for r in records]
