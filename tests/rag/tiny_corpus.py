"""The project's RAG corpus (resources/rag/) cut to a few documents, prepared as the
corpus rule prepares it: the small real corpus of the synthetic-stage tests."""

from pathlib import Path

from medlab.rag.corpus import load_corpus
from medlab.rag.passages import PreparedCorpus, prepare_corpus, write_prepared_corpus

ROOT = Path(__file__).resolve().parents[2]


def tiny_corpus(max_documents: int = 6) -> PreparedCorpus:
    """resources/rag/ sampled to ``max_documents`` documents, 80-token passages, split 50/20/30."""
    corpus = load_corpus(
        "jsonl",
        {
            "documents": ROOT / "resources" / "rag" / "documents.jsonl",
            "questions": ROOT / "resources" / "rag" / "questions.jsonl",
        },
    )
    return prepare_corpus(corpus, 80, 20, [0.5, 0.2, 0.3], 0, max_documents)


def write_tiny_corpus(directory: Path, max_documents: int = 6) -> PreparedCorpus:
    """The tiny corpus's files (documents, questions, passages, issues, stats) in ``directory``."""
    prepared = tiny_corpus(max_documents)
    write_prepared_corpus(
        prepared,
        *(
            directory / name
            for name in (
                "documents.jsonl",
                "questions.jsonl",
                "passages.jsonl",
                "issues.tsv",
                "stats.json",
            )
        ),
    )
    return prepared
