"""Write the default RAG corpus: a seeded sample of COVID-QA papers as documents.jsonl and
questions.jsonl (the project's JSONL corpus format) next to this script.

    python resources/rag/covid_qa/make_slice.py [--source PATH] [--papers N] [--seed S]

The source is 200423_covidQA.json (deepset, Apache-2.0), taken from --source, else from
$MEDLAB_DATA_MIRROR, else ../shared/data. Its SHA-256 is checked, so the same arguments
always write the same files. Papers are the first N of a numpy default_rng(seed) permutation
of the papers sorted by document id; every answerable question of a drawn paper is kept, with its
gold answers as in the source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE_NAME = "200423_covidQA.json"
SOURCE_SHA256 = "ab310b4e39f726e087c8fa3d1787c73771dacddc584977204ebe3cc889ee1264"
DEFAULT_PAPERS = 20
DEFAULT_SEED = 0


def default_source() -> Path:
    mirror = os.environ.get("MEDLAB_DATA_MIRROR")
    root = Path(mirror) if mirror else HERE.parents[3] / "shared" / "data"
    return root / SOURCE_NAME


def read_papers(source: Path) -> dict[str, dict]:
    """document id -> the paper's one SQuAD paragraph (context, qas).

    Raises:
        SystemExit: naming the file when it is missing or not the published version.
    """
    if not source.is_file():
        raise SystemExit(
            f"{source}: not found; pass --source or set MEDLAB_DATA_MIRROR to the folder "
            f"holding {SOURCE_NAME}"
        )
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise SystemExit(
            f"{source}: SHA-256 {digest} is not the published {SOURCE_NAME} ({SOURCE_SHA256})"
        )
    data = json.loads(source.read_text(encoding="utf-8"))["data"]
    return {
        str(paragraph["document_id"]): paragraph
        for article in data
        for paragraph in article["paragraphs"]
    }


def slice_records(papers: dict[str, dict], count: int, seed: int) -> tuple[list, list]:
    """(documents, questions) records of ``count`` papers drawn with ``seed``."""
    ids = sorted(papers, key=int)
    # a prefix of one seeded permutation: a larger count keeps every paper of a smaller one
    order = np.random.default_rng(seed).permutation(ids)
    chosen = sorted(order[:count], key=int)
    documents, questions = [], []
    for doc_id in chosen:
        paper = papers[doc_id]
        documents.append({"id": doc_id, "text": paper["context"]})
        for qa in paper["qas"]:
            if qa.get("is_impossible"):
                continue
            answers = [
                {"text": a["text"], "answer_start": a["answer_start"]} for a in qa["answers"]
            ]
            questions.append(
                {
                    "id": str(qa["id"]),
                    "question": qa["question"],
                    "doc_id": doc_id,
                    "answers": answers,
                }
            )
    return documents, questions


def write_jsonl(records: list[dict], path: Path) -> None:
    """One JSON object per line, replacing ``path`` only once the whole file is written."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records),
        encoding="utf-8",
    )
    tmp.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source", type=Path, default=None, help=f"{SOURCE_NAME} (default: the mirror)"
    )
    parser.add_argument("--papers", type=int, default=DEFAULT_PAPERS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    arguments = parser.parse_args(argv)
    documents, questions = slice_records(
        read_papers(arguments.source or default_source()), arguments.papers, arguments.seed
    )
    write_jsonl(documents, HERE / "documents.jsonl")
    write_jsonl(questions, HERE / "questions.jsonl")
    print(f"{len(documents)} papers, {len(questions)} questions written to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
