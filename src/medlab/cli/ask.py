"""``medlab ask``: answer a question from a finished RAG run's corpus, indexes and reader."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medlab.device import select_device
from medlab.rag.ask import (
    ASK_METHODS,
    DEFAULT_ENCODER,
    DEFAULT_LEXICAL_WEIGHT,
    DEFAULT_SENTENCE_FALLBACK,
    READER_NAMES,
    AskInputError,
    AskResult,
    ask,
)

PREVIEW_CHARS = 150

DESCRIPTION = """\
Answer a question from what a finished run of experiment 3 wrote under
<results>/rag/<corpus>/: the passages (passages.jsonl), the cached indexes (index/bm25_*.pkl,
index/dense_<base|finetuned>_*.faiss, with the fine-tuned encoder retriever/model) and the
fine-tuned extractive reader (reader/model). The question is ranked with one retrieval
method, the best --top-k passages are read, and the command prints the answer, the
reader's confidence, the passage and document it came from, then the passages behind it
(rank, retrieval score, document id, start of the text).

The extractive reader reads its span from the retrieved sentence that best matches the
question (the default preset's rag.reader.sentence_guide; --no-sentence-guide reads every
retrieved passage) and answers with the candidate span whose answer has the most probability
mass (rag.reader.aggregate_answers; --no-aggregate-answers takes the single best span);
when that mass is below --sentence-fallback it answers with the whole sentence. A sentence
is matched to the question by its embedding's cosine and by how much of the question's
rare words it holds (--lexical-weight). Passages are cut into the reader's windows as the run
cut them (rag.reader.max_length and stride, kept in reader/model/reader_window.json).
Confidence: the sentence's match score times the answer's probability mass among the spans
within it (unguided: the answer's mass among the candidate spans of every passage; the
sentence reader: the match score). None of them is calibrated here.

A missing file ends the command with exit code 2 and one line naming the file and the
snakemake command that builds it.
"""

EXAMPLE = """\
example:
  medlab ask --corpus covid_qa_slice "What is the incubation period?"
  medlab ask --corpus covid_qa_slice --method bm25 --reader sentence --json "What is MERS?"
"""


def register(subparsers) -> None:
    """Add the ``ask`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "ask",
        help="answer a question from a finished RAG run's passages, indexes and reader",
        description=DESCRIPTION,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("question", help="the question, in quotes")
    parser.add_argument(
        "--corpus",
        help="the corpus name (rag.corpus.name; a directory under <results>/rag; default: the "
        "only corpus there)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="the pipeline's results directory (default: %(default)s)",
    )
    parser.add_argument(
        "--method",
        choices=ASK_METHODS,
        help="retrieval method (default: the best the run has: hybrid_rrf, fusing BM25 with the "
        "fine-tuned dense index where there is one, else bm25)",
    )
    parser.add_argument(
        "--reader",
        choices=READER_NAMES,
        default="extractive",
        help="extractive: the span reader fine-tuned by the run; sentence: the retrieved "
        "sentence that best matches the question (see --lexical-weight; default: %(default)s)",
    )
    parser.add_argument(
        "--top-k",
        type=int,
        default=5,
        help="passages read and listed (default: %(default)s)",
    )
    parser.add_argument(
        "--encoder",
        default=DEFAULT_ENCODER,
        help="the encoder of the base dense index and the sentence reader, as rag.encoder "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-sentence-guide",
        dest="sentence_guide",
        action="store_false",
        help="extractive reader: choose the span among every retrieved passage instead of "
        "inside the sentence the sentence reader picks (rag.reader.sentence_guide: false)",
    )
    parser.add_argument(
        "--no-aggregate-answers",
        dest="aggregate_answers",
        action="store_false",
        help="extractive reader: answer with the single highest-scoring span instead of the "
        "answer the most candidate spans agree on (rag.reader.aggregate_answers: false)",
    )
    parser.add_argument(
        "--sentence-fallback",
        type=_probability,
        default=DEFAULT_SENTENCE_FALLBACK,
        metavar="MASS",
        help="sentence-guided extractive reader: answer with the whole sentence when the "
        "answer's probability mass among the spans within it is below MASS, 0 to always "
        "answer with the span (rag.reader.sentence_fallback; default: %(default)s)",
    )
    parser.add_argument(
        "--lexical-weight",
        type=float,
        default=DEFAULT_LEXICAL_WEIGHT,
        metavar="W",
        help="how the sentence reader and the sentence guide match a sentence to the question: "
        "(cosine + W x the share of the question words' IDF weight the sentence holds) / "
        "(1 + W); 0: the cosine alone (rag.reader.sentence_lexical_weight; default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(handler=run_ask, input_errors=(AskInputError,))


def _probability(text: str) -> float:
    """argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def run_ask(arguments: argparse.Namespace) -> int:
    """Answer the question and print the result as text or JSON."""
    result = ask(
        arguments.results,
        arguments.corpus,
        arguments.question,
        method=arguments.method,
        reader=arguments.reader,
        top_k=arguments.top_k,
        encoder=arguments.encoder,
        sentence_guide=arguments.sentence_guide,
        aggregate_answers=arguments.aggregate_answers,
        sentence_fallback=arguments.sentence_fallback,
        lexical_weight=arguments.lexical_weight,
        device=select_device(1, "auto"),
    )
    if arguments.json:
        print(json.dumps(result_record(result, arguments.reader), ensure_ascii=False, indent=2))
    else:
        print(result_text(result, arguments.reader))
    return 0


def result_record(result: AskResult, reader: str) -> dict:
    """The result as a JSON-ready dict: question, method, reader, answer, passages."""
    source = result.source
    return {
        "question": result.question,
        "method": result.method,
        "reader": reader,
        "answer": {
            "text": result.answer.text,
            "confidence": result.answer.score,
            "passage_id": source.id if source else None,
            "doc_id": source.doc_id if source else None,
            "passage_rank": result.source_rank,
            "passage": source.text if source else None,
        },
        "passages": [
            {
                "rank": rank,
                "score": score,
                "passage_id": result.passages[index].id,
                "doc_id": result.passages[index].doc_id,
                "text": result.passages[index].text,
            }
            for rank, (index, score) in enumerate(result.ranking, start=1)
        ],
    }


def result_text(result: AskResult, reader: str) -> str:
    """The answer, its confidence and source, then one line per ranked passage."""
    source = result.source
    if source is None:
        lines = [f"No answer ({reader} reader, {len(result.ranking)} passages read)."]
    else:
        lines = [
            f"Answer: {result.answer.text}",
            f"Confidence: {result.answer.score:.3f} ({reader} reader)",
            f"From: document {source.doc_id}, passage {source.id} (rank {result.source_rank})",
            f"  {_one_line(source.text)}",
        ]
    lines += ["", f"Top passages ({result.method}):", "rank  score     document  passage"]
    for rank, (index, score) in enumerate(result.ranking, start=1):
        passage = result.passages[index]
        preview = _one_line(passage.text)[:PREVIEW_CHARS]
        lines.append(f"{rank:>4}  {score:<8.4g}  {passage.doc_id:<8}  {preview}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())
