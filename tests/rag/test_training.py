"""Fine-tuning data: reader labels, gold passages, hard negatives."""

import torch

from medlab.rag.corpus import Question
from medlab.rag.passages import Passage, gold_passages, split_passages
from medlab.rag.retrieval import RankBM25
from medlab.rag.retriever_training import retriever_pairs
from medlab.rag.training import encode_reader_examples, reader_examples
from rag.rag_samples import sample_passages


def insulin_question() -> Question:
    """A training question whose answer sits in sample passage d2."""
    return Question(
        "q1", "What does insulin regulate?", "d2", [{"text": "blood glucose", "answer_start": 18}]
    )


def test_reader_training_labels_point_at_the_answer(packaged_reader):
    passages = sample_passages()
    questions = [insulin_question()]
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


def test_span_loss_ignores_padding(packaged_reader):
    """Trimming a batch's shared padding leaves the span loss as it was; without padding it is
    the question-answering head's own loss."""
    from medlab.rag.training import span_loss
    from medlab.training import trim_padding

    questions = [insulin_question()]
    examples = reader_examples(questions, sample_passages(), negatives_per_question=1, seed=0)
    features = encode_reader_examples(
        packaged_reader.tokenizer, examples, max_length=128, stride=16
    )
    trimmed = trim_padding(features)
    assert trimmed["input_ids"].shape[1] < features["input_ids"].shape[1]
    model = packaged_reader.model.eval()
    with torch.no_grad():
        padded_loss, trimmed_loss = span_loss(model, features), span_loss(model, trimmed)
        assert torch.allclose(padded_loss, trimmed_loss, atol=1e-5)
        longest = int(trimmed["attention_mask"].sum(1).argmax())
        unpadded = {k: v[longest : longest + 1] for k, v in trimmed.items()}
        assert torch.allclose(span_loss(model, unpadded), model(**unpadded).loss, atol=1e-5)


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
