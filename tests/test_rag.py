"""RAG library: corpus loading with bad records, passages, retrievers, fusion, metrics."""

import json

import pytest

from medlab.rag.corpus import load_jsonl, load_squad
from medlab.rag.evaluate import documents_from_passages, retrieval_metrics
from medlab.rag.passages import split_passages, split_questions_by_document
from medlab.rag.retrieval import (
    BM25S,
    RankBM25,
    adaptive_cutoff,
    reciprocal_rank_fusion,
    weighted_score_fusion,
)

DOCS = {
    "d1": "Aspirin reduces fever and inflammation. It inhibits cyclooxygenase enzymes.",
    "d2": "Insulin regulates blood glucose. Type 1 diabetes requires insulin injections.",
    "d3": "Vaccines train the immune system to recognise pathogens such as viruses.",
}


def _write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


def test_jsonl_loader_counts_bad_records(tmp_path):
    _write_jsonl(
        tmp_path / "docs.jsonl",
        [{"id": k, "text": v} for k, v in DOCS.items()]
        + [{"id": "d4", "text": "  "}, {"id": "d1", "text": "dup"}],
    )
    questions = [
        {
            "id": "q1",
            "question": "What does insulin regulate?",
            "doc_id": "d2",
            "answers": [{"text": "blood glucose", "answer_start": 18}],
        },
        {
            "id": "q2",
            "question": "What do vaccines train?",
            "doc_id": "d3",
            "answers": [{"text": "the immune system", "answer_start": 0}],
        },
        {
            "id": "q3",
            "question": "Bogus?",
            "doc_id": "d1",
            "answers": [{"text": "not there", "answer_start": 3}],
        },
        {
            "id": "q1",
            "question": "Duplicate?",
            "doc_id": "d1",
            "answers": [{"text": "Aspirin", "answer_start": 0}],
        },
        {
            "id": "q5",
            "question": "Unknown doc?",
            "doc_id": "zz",
            "answers": [{"text": "x", "answer_start": 0}],
        },
    ]
    _write_jsonl(tmp_path / "questions.jsonl", questions)
    (tmp_path / "questions.jsonl").write_bytes(
        (tmp_path / "questions.jsonl").read_bytes() + b'{"id": "q6", "question": "caf\xe9?"}\n'
    )
    corpus = load_jsonl(tmp_path / "docs.jsonl", tmp_path / "questions.jsonl")
    assert set(corpus.documents) == {"d1", "d2", "d3"}
    assert [q.id for q in corpus.questions] == ["q1", "q2"]
    assert corpus.questions[1].answers[0]["answer_start"] == DOCS["d3"].find("the immune system")
    issues = corpus.issues
    assert (
        issues["empty document"] == 1
        and issues["duplicate document id"] == 1
        and issues["duplicate question id"] == 1
    )
    assert (
        issues["answer_start re-located"] == 1 and issues["answer not in document (dropped)"] == 1
    )
    assert (
        issues["question about an unknown document (dropped)"] == 2
        and issues["file with undecodable bytes (replaced)"] == 1
    )


def test_squad_loader(tmp_path):
    data = {
        "data": [
            {
                "title": "t",
                "paragraphs": [
                    {
                        "document_id": 7,
                        "context": DOCS["d1"],
                        "qas": [
                            {
                                "id": "a",
                                "question": "What does aspirin reduce?",
                                "answers": [{"text": "fever and inflammation", "answer_start": 16}],
                            },
                            {"id": "b", "question": "?", "is_impossible": True, "answers": []},
                        ],
                    },
                    {"context": "", "qas": []},
                ],
            }
        ]
    }
    (tmp_path / "squad.json").write_text(json.dumps(data))
    corpus = load_squad(tmp_path / "squad.json")
    assert list(corpus.documents) == ["7"] and corpus.questions[0].doc_id == "7"
    assert (
        corpus.issues["empty document"] == 1
        and corpus.issues["unanswerable question (skipped)"] == 1
    )


def test_passages_keep_offsets_and_overlap():
    text = " ".join(f"w{i}" for i in range(25))
    passages = split_passages("d", text, size=10, overlap=3)
    assert [p.text.split()[0] for p in passages] == ["w0", "w7", "w14", "w21"]
    assert all(text[p.start : p.end] == p.text for p in passages)
    assert passages[-1].text.split()[-1] == "w24"
    with pytest.raises(ValueError, match="overlap"):
        split_passages("d", text, size=5, overlap=5)


def test_question_split_is_by_document():
    split = split_questions_by_document([f"d{i}" for i in range(10)], (0.6, 0.2, 0.2), seed=1)
    assert sorted(split["train"] + split["dev"] + split["test"]) == [f"d{i}" for i in range(10)]
    assert not set(split["train"]) & set(split["test"]) and len(split["test"]) == 2


@pytest.mark.parametrize("retriever", [RankBM25, BM25S])
def test_bm25_finds_the_matching_document(retriever):
    index = retriever(list(DOCS.values()))
    results = index.search(["insulin injections for diabetes", "immune system vaccines"], k=2)
    assert results[0][0][0] == 1 and results[1][0][0] == 2


def test_fusion_and_adaptive_cutoff():
    a, b = [(0, 10.0), (1, 5.0), (2, 1.0)], [(2, 0.9), (0, 0.8), (3, 0.1)]
    assert [i for i, _ in reciprocal_rank_fusion([a, b], k=3)] == [0, 2, 1]
    assert weighted_score_fusion([a, b], [0.5, 0.5], k=1)[0][0] == 0
    ranking = [(0, 1.0), (1, 0.95), (2, 0.5), (3, 0.45)]
    assert [i for i, _ in adaptive_cutoff(ranking, min_k=1, max_k=4, drop=0.3)] == [0, 1]


def test_retrieval_metrics_against_gold_documents():
    docs = ["d1", "d1", "d2", "d3"]
    runs = {
        "q1": documents_from_passages([(1, 3.0), (0, 2.0), (2, 1.0)], docs),
        "q2": documents_from_passages([(3, 1.0), (2, 0.5)], docs),
        "q3": {},
    }
    metrics = retrieval_metrics({"q1": "d1", "q2": "d2", "q3": "d3"}, runs, ("recall@1", "mrr@10"))
    assert metrics["recall@1"] == pytest.approx(1 / 3) and metrics["mrr@10"] == pytest.approx(
        (1 + 0.5 + 0) / 3
    )


# ---- answers, readers, fine-tuning data, evaluation ---------------------------------

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from medlab.rag.answers import (  # noqa: E402
    answer_length,
    contains_answer,
    exact_match,
    normalize_answer,
    token_f1,
)
from medlab.rag.corpus import Question  # noqa: E402
from medlab.rag.evaluate import (  # noqa: E402
    confidence_auroc,
    perturbation_table,
    platt_calibrate,
    reader_table,
    retrieval_table,
    stability_table,
)
from medlab.rag.passages import Passage  # noqa: E402
from medlab.rag.readers import NO_ANSWER, ExtractiveReader, SentenceReader, split_sentences  # noqa: E402
from medlab.rag.stages import cutoffs, query_variant, rankings_frame, read_answers  # noqa: E402
from medlab.rag.training import (  # noqa: E402
    encode_reader_examples,
    gold_passages,
    reader_examples,
    retriever_pairs,
)


def test_squad_answer_metrics():
    assert normalize_answer("The  Immune-System!") == "immunesystem"
    assert exact_match("the immune system", ["Immune system"]) == 1.0
    assert token_f1("immune system cells", ["the immune system"]) == pytest.approx(0.8)
    assert token_f1("", ["x"]) == 0.0
    assert contains_answer("it is blood glucose levels", ["blood glucose"]) == 1.0
    assert contains_answer("AI", ["artificial intelligence"]) == 0.0
    assert answer_length("three bedside criteria") == 3


def test_query_perturbations():
    assert query_variant("What is BM25?", "toggled_question_mark") == "What is BM25"
    assert query_variant("What is BM25", "toggled_question_mark") == "What is BM25?"
    assert query_variant("What is BM25?", "lowercased") == "what is bm25?"


def _passages():
    return [Passage(f"{d}::0", d, 0, len(t), t) for d, t in DOCS.items()]


def test_span_decoding_respects_context_and_length():
    reader = ExtractiveReader.__new__(ExtractiveReader)
    reader.max_answer_tokens, reader.candidates_per_window, reader.allow_no_answer = 2, 5, False
    offsets = [(0, 0), (0, 4), (0, 0), (0, 5), (6, 9), (10, 14), (15, 20)]
    context = np.array([False, False, False, True, True, True, True])
    start, end = np.zeros(7), np.zeros(7)
    start[1] = end[1] = 50.0  # the question token must never be chosen
    start[3], end[6], end[4] = (
        5.0,
        6.0,
        3.0,
    )  # best end is 3 tokens after the start: too long for max 2
    spans = reader._decode_window(start, end, offsets, context, passage=0)
    best = max(spans, key=lambda s: s.logit)
    assert (best.start, best.end) == (0, 9)
    assert all(0 < (s.end - s.start) and s.start >= 0 for s in spans)


@pytest.fixture(scope="module")
def packaged_reader():
    """The packaged encoder with an untrained QA head: exercises decoding, not accuracy."""
    return ExtractiveReader.from_pretrained(
        "packaged:all-MiniLM-L6-v2", torch.device("cpu"), max_length=64, stride=16
    )


def test_extractive_reader_returns_a_span_of_a_retrieved_passage(packaged_reader):
    texts = [p.text for p in _passages()]
    answer = packaged_reader.read("What regulates blood glucose?", [1, 2], texts)
    assert (
        answer.passage in (1, 2) and answer.text == texts[answer.passage][answer.start : answer.end]
    )
    assert 0 < answer.score <= 1 and answer.text.strip()
    assert packaged_reader.read("Anything?", [], texts) == NO_ANSWER
    cached = len(packaged_reader._cache)
    packaged_reader.read("What regulates blood glucose?", [1, 2, 0], texts)  # one new passage only
    assert len(packaged_reader._cache) == cached + 1


def test_reader_training_labels_point_at_the_answer(packaged_reader):
    passages = _passages()
    questions = [
        Question(
            "q1",
            "What does insulin regulate?",
            "d2",
            [{"text": "blood glucose", "answer_start": 18}],
        )
    ]
    examples = reader_examples(questions, passages, negatives_per_question=1, seed=0)
    assert len(examples) == 2 and examples[1][2] == -1  # one positive, one negative
    features = encode_reader_examples(packaged_reader.tokenizer, examples, max_length=64, stride=16)
    ids, start, end = (
        features["input_ids"][0],
        features["start_positions"][0],
        features["end_positions"][0],
    )
    assert packaged_reader.tokenizer.decode(ids[start : end + 1]) == "blood glucose"
    assert (
        features["start_positions"][1] == 0 and features["end_positions"][1] == 0
    )  # negative -> [CLS]


def test_gold_passages_and_hard_negatives():
    text = "alpha beta gamma delta epsilon zeta eta theta"
    passages = split_passages("d", text, size=3, overlap=1) + [
        Passage("e::0", "e", 0, 5, "gamma gamma gamma")
    ]
    question = Question(
        "q", "gamma?", "d", [{"text": "gamma delta", "answer_start": text.find("gamma delta")}]
    )
    golds = gold_passages(question, passages)
    assert golds and all("gamma delta" in passages[i].text for i in golds)
    ((query, positive, negative),) = retriever_pairs(
        [question], passages, RankBM25([p.text for p in passages])
    )
    assert "gamma delta" in positive and negative is not None and "gamma delta" not in negative


def test_sentence_reader_picks_the_most_similar_sentence():
    class BagOfWords:
        vocabulary = ["insulin", "glucose", "vaccines", "immune", "aspirin", "fever"]

        def encode(self, texts, **_):
            vectors = (
                np.array([[float(w in t.lower()) for w in self.vocabulary] for t in texts]) + 1e-3
            )
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    texts = [p.text for p in _passages()]
    assert [texts[1][s:e] for s, e in split_sentences(texts[1])][
        1
    ] == "Type 1 diabetes requires insulin injections."
    answer = SentenceReader(BagOfWords()).read("insulin and glucose?", [0, 1], texts)
    assert (
        answer.text == "Insulin regulates blood glucose."
        and answer.passage == 1
        and 0 <= answer.score <= 1
    )


def test_zero_retrieved_passages_give_an_empty_answer_not_a_crash(caplog):
    class EchoReader:
        def read(self, question, passages, texts):
            return NO_ANSWER

    passages = _passages()
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


def test_calibration_and_auroc_explain_when_undefined():
    calibrated, reason = platt_calibrate(np.array([0.2, 0.4]), np.array([0, 0]), np.array([0.3]))
    assert calibrated is None and "all wrong" in reason
    calibrated, reason = platt_calibrate(
        np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]), np.array([0.15, 0.85])
    )
    assert calibrated[0] < 0.5 < calibrated[1] and reason == ""
    value, reason = confidence_auroc(np.array([1, 1]), np.array([0.3, 0.9]))
    assert np.isnan(value) and "all 2 answers correct" in reason
    assert confidence_auroc(np.array([0, 1]), np.array([0.3, 0.9]))[0] == 1.0


def _scored(rows):
    base = {
        "reader": "r",
        "method": "m",
        "variant": "original",
        "passages": "0",
        "exact_match": 0.0,
        "contains_answer": 0.0,
        "answer_in_passages": 1.0,
        "answer_tokens": 1,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_reader_stability_and_perturbation_tables():
    scored = _scored(
        [
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top5",
                "answer": "x",
                "confidence": 0.9,
                "f1": 1.0,
                "correct": 1,
            },
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top10",
                "answer": "x",
                "confidence": 0.7,
                "f1": 1.0,
                "correct": 1,
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top5",
                "answer": "y",
                "confidence": 0.2,
                "f1": 0.0,
                "correct": 0,
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top10",
                "answer": "z",
                "confidence": 0.4,
                "f1": 0.0,
                "correct": 0,
            },
            {
                "question_id": "a",
                "split": "test",
                "cutoff": "top10",
                "answer": "w",
                "confidence": 0.1,
                "f1": 0.0,
                "correct": 0,
                "variant": "lowercased",
            },
            {
                "question_id": "b",
                "split": "test",
                "cutoff": "top10",
                "answer": "z",
                "confidence": 0.4,
                "f1": 0.0,
                "correct": 0,
                "variant": "lowercased",
            },
            {
                "question_id": "c",
                "split": "dev",
                "cutoff": "top5",
                "answer": "y",
                "confidence": 0.2,
                "f1": 0.0,
                "correct": 0,
            },
        ]
    )
    stability = stability_table(scored, "top5", "top10").iloc[0]
    assert stability["same_answer"] == 0.5 and stability[
        "mean_abs_confidence_change"
    ] == pytest.approx(0.2)
    perturbation = perturbation_table(scored).iloc[0]
    assert perturbation["answer_changed"] == 0.5 and perturbation["f1_perturbed"] == 0.0
    readers = reader_table(scored).set_index("cutoff")
    assert readers.loc["top5", "confidence_auroc"] == 1.0
    assert "dev answers are all wrong" in readers.loc["top5", "ece_calibrated_note"]


def test_retrieval_table_counts_passages_not_documents():
    passages = ["alpha", "beta", "gamma"]
    rankings = rankings_frame(["q1", "q2"], "original", {"bm25": [[(1, 2.0), (0, 1.0)], []]})
    table = retrieval_table(
        rankings,
        {"q1": "d0", "q2": "d1"},
        {"q1": ["alpha"], "q2": ["beta"]},
        ["d0", "d1", "d2"],
        passages,
        cutoffs([1, 2], {"enabled": False}),
    ).set_index("cutoff")
    assert table.loc["top1", "recall"] == 0.0 and table.loc["top2", "recall"] == 0.5
    assert table.loc["top2", "answer_in_passages"] == 0.5 and table.loc[
        "top1", "mrr@10"
    ] == pytest.approx(0.25)


def test_prepare_corpus_from_either_format_by_config_alone(tmp_path):
    from types import SimpleNamespace

    from medlab.rag.stages import prepare_corpus

    documents = {
        f"doc{i}": f"Document {i} says the answer is value{i}. Filler text follows here."
        for i in range(6)
    }
    _write_jsonl(tmp_path / "docs.jsonl", [{"id": k, "text": v} for k, v in documents.items()])
    _write_jsonl(
        tmp_path / "qs.jsonl",
        [
            {
                "id": f"q{i}",
                "question": f"What is in document {i}?",
                "doc_id": f"doc{i}",
                "answers": [{"text": f"value{i}", "answer_start": 99}],
            }
            for i in range(6)
        ],
    )
    squad = {
        "data": [
            {
                "title": k,
                "paragraphs": [
                    {
                        "document_id": k,
                        "context": v,
                        "qas": [
                            {
                                "id": f"s{k}",
                                "question": "Which value?",
                                "answers": [
                                    {
                                        "text": k.replace("doc", "value"),
                                        "answer_start": v.find("value"),
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
            for k, v in documents.items()
        ]
    }
    (tmp_path / "squad.json").write_text(json.dumps(squad))
    for name, source_format, paths in (
        (
            "jsonl",
            "jsonl",
            {"documents": tmp_path / "docs.jsonl", "questions": tmp_path / "qs.jsonl"},
        ),
        ("squad", "squad", {"file": tmp_path / "squad.json"}),
    ):
        out = {
            k: tmp_path / name / f"{k}.{ext}"
            for k, ext in (
                ("documents", "jsonl"),
                ("questions", "jsonl"),
                ("passages", "jsonl"),
                ("issues", "tsv"),
                ("stats", "json"),
            )
        }
        prepare_corpus(source_format, paths, 5, 1, (0.5, 0.2, 0.3), 0, None, SimpleNamespace(**out))
        questions = [json.loads(line) for line in out["questions"].read_text().splitlines()]
        split_of = {
            json.loads(line)["id"]: json.loads(line)["split"]
            for line in out["documents"].read_text().splitlines()
        }
        assert len(questions) == 6 and all(q["split"] == split_of[q["doc_id"]] for q in questions)
        assert {q["split"] for q in questions} == {"train", "dev", "test"}
        passages = [json.loads(line) for line in out["passages"].read_text().splitlines()]
        assert all(documents[p["doc_id"]][p["start"] : p["end"]] == p["text"] for p in passages)
    assert "answer_start re-located\t6" in (tmp_path / "jsonl" / "issues.tsv").read_text()


def test_fusion_weight_is_chosen_on_dev_questions():
    from medlab.rag.stages import tune_fusion_weight

    class Fixed:
        def __init__(self, rankings):
            self.rankings = rankings

        def search(self, queries, k):
            return [self.rankings[q][:k] for q in queries]

    # BM25 puts the gold document first, the dense ranking puts it last: fusion should lean on BM25
    bm25 = Fixed({"a?": [(0, 9.0), (1, 5.0), (2, 1.0)], "b?": [(1, 9.0), (2, 5.0), (0, 4.0)]})
    dense = Fixed({"a?": [(2, 0.9), (1, 0.8), (0, 0.1)], "b?": [(0, 0.9), (2, 0.8), (1, 0.5)]})
    dev = [Question("qa", "a?", "d0", []), Question("qb", "b?", "d1", [])]
    table = tune_fusion_weight(
        dev, {"bm25": bm25, "dense": dense}, {"dense": "dense", "candidates": 3}, ["d0", "d1", "d2"]
    )
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["dev_mrr@10"] == 1.0 and chosen["bm25_weight"] > 0.5
    assert table.loc[table["bm25_weight"] == 0.0, "dev_mrr@10"].iloc[0] < 1.0
    with pytest.raises(ValueError, match="dev split is empty"):
        tune_fusion_weight(
            [], {"bm25": bm25, "dense": dense}, {"dense": "dense", "candidates": 3}, ["d0"]
        )
