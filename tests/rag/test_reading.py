"""Reading every question with every method and cutoff."""

from medlab.rag.answers import NO_ANSWER
from medlab.rag.corpus import Question
from medlab.rag.rankings import cutoffs, rankings_frame
from medlab.rag.reading import read_answers
from rag.rag_samples import sample_passages


def test_zero_retrieved_passages_give_an_empty_answer_not_a_crash(caplog):
    class EchoReader:
        def read(self, question, passages, texts):
            return NO_ANSWER

    passages = sample_passages()
    questions = [Question("q1", "Insulin?", "d2", [{"text": "Insulin", "answer_start": 0}])]
    rankings = rankings_frame(["q1"], "original", {"bm25": [[]]})
    answers = read_answers(
        EchoReader(),
        questions,
        ["test"],
        passages,
        rankings,
        ["bm25"],
        cutoffs([2], {"enabled": False}),
        ("bm25", "top2"),
    )
    row = answers[answers["method"] == "bm25"].iloc[0]
    assert row["k_used"] == 0 and row["answer"] == "" and "zero retrieved passages" in caplog.text
