"""Fine-tuning the extractive reader inside the pipeline (the retriever: ``retriever_training``,
a module of its own so that an edit to reading code never re-trains the retriever).

Gold passages of the training questions (answer span -> start/end token labels,
windows without the answer -> [CLS]) plus sampled passages without the answer, so the
reader also learns to give irrelevant passages low span scores. The checkpoint with the
best dev token F1 (reading the gold passage) is kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from medlab.io import atomic_directory, atomic_path, write_json
from medlab.rag.answers import exact_match, token_f1
from medlab.rag.corpus import Question
from medlab.rag.extractive import ExtractiveReader
from medlab.rag.passages import Passage, gold_passages
from medlab.rag.readers import READER_WINDOW_FILE
from medlab.training import (
    EarlyStopping,
    clipped_step,
    linear_schedule,
    seed_everything,
    trim_padding,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderTrainingSpec:
    """rag.reader.training plus the reader's window (max_length, stride); defaults live in
    the schema only."""

    epochs: int
    batch_size: int
    lr: float
    warmup_ratio: float
    weight_decay: float
    max_length: int
    stride: int
    negatives_per_question: int
    seed: int


def reader_examples(
    questions: list[Question], passages: list[Passage], negatives_per_question: int, seed: int
):
    """(question, passage text, answer char start in passage or -1, answer char end) training examples."""
    rng = random.Random(seed)
    by_doc: dict[str, list[int]] = {}
    for index, passage in enumerate(passages):
        by_doc.setdefault(passage.doc_id, []).append(index)
    examples, skipped = [], 0
    for question in questions:
        golds = gold_passages(question, passages)
        if not golds:
            skipped += 1  # the answer straddles a passage boundary
            continue
        passage = passages[golds[0]]
        answer = question.answers[0]
        start = answer["answer_start"] - passage.start
        if not (0 <= start and start + len(answer["text"]) <= len(passage.text)):
            start = passage.text.find(answer["text"])
        examples.append((question.question, passage.text, start, start + len(answer["text"])))
        # negatives: same document first (hard), then anywhere
        pool = [i for i in by_doc[question.doc_id] if i not in golds] or [
            i for i in range(len(passages)) if i not in golds
        ]
        for index in rng.sample(pool, min(negatives_per_question, len(pool))):
            examples.append((question.question, passages[index].text, -1, -1))
    if skipped:
        log.warning(
            "%d training question(s) have no passage containing the whole answer; skipped", skipped
        )
    return examples


def encode_reader_examples(
    tokenizer, examples, max_length: int, stride: int
) -> dict[str, torch.Tensor]:
    """Tokenized windows with start/end token labels (0 = [CLS] when the window lacks the answer)."""
    encoded = tokenizer(
        [e[0] for e in examples],
        [e[1] for e in examples],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
        return_tensors="pt",
    )
    mapping = encoded.pop("overflow_to_sample_mapping").tolist()
    offsets = encoded.pop("offset_mapping").tolist()
    starts, ends = [], []
    for window, example_index in enumerate(mapping):
        _, _, char_start, char_end = examples[example_index]
        sequence_ids = encoded.sequence_ids(window)
        context = [i for i, sid in enumerate(sequence_ids) if sid == 1]
        start_token = end_token = 0
        if (
            char_start >= 0
            and context
            and offsets[window][context[0]][0] <= char_start
            and offsets[window][context[-1]][1] >= char_end
        ):
            start_token = next(i for i in context if offsets[window][i][1] > char_start)
            end_token = next(i for i in reversed(context) if offsets[window][i][0] < char_end)
        starts.append(start_token)
        ends.append(end_token)
    encoded["start_positions"] = torch.tensor(starts)
    encoded["end_positions"] = torch.tensor(ends)
    return dict(encoded)


def evaluate_reader_on_gold(
    reader: ExtractiveReader, questions: list[Question], passages: list[Passage]
) -> dict[str, float]:
    """EM and token F1 when the reader is given the gold passage (an upper bound for end-to-end)."""
    texts = [p.text for p in passages]
    em, f1 = [], []
    for question in questions:
        golds = gold_passages(question, passages)[:1]
        if not golds:
            continue
        answer = reader.read(question.question, golds, texts)
        gold_texts = [a["text"] for a in question.answers]
        em.append(exact_match(answer.text, gold_texts))
        f1.append(token_f1(answer.text, gold_texts))
    return {
        "exact_match": float(np.mean(em)) if em else float("nan"),
        "f1": float(np.mean(f1)) if f1 else float("nan"),
        "n": len(em),
    }


def train_reader(
    model_name: str,
    train: list[Question],
    dev: list[Question],
    passages: list[Passage],
    spec: ReaderTrainingSpec,
    device: torch.device,
    reader_options: dict,
    synthetic: list[Question] | None = None,
    synthetic_epochs: int = 0,
    synthetic_negatives: int | None = None,
    checkpoint_path: str | Path | None = None,
    stop_after_epochs: int | None = None,
    checkpoint_every_steps: int | None = None,
):
    """Fine-tune a QA head + encoder; returns (best reader, per-epoch log frame).

    With ``synthetic`` questions and ``synthetic_epochs`` > 0, training has two stages:
    ``synthetic_epochs`` epochs on the synthetic questions, then ``spec.epochs`` on the gold
    ``train`` questions, each stage with its own warmup and linear decay. Epochs are numbered
    across both stages; the log's ``stage`` column says which stage each belongs to. The
    weights of the epoch with the best dev F1 on gold passages over both stages are kept
    (ties go to the later epoch; without dev questions, the last epoch's).

    Synthetic examples take their negative passages only from the documents of training
    questions (gold or synthetic), so no dev or test text reaches the reader in training;
    ``synthetic_negatives`` sets how many per synthetic question (None: as many as
    ``spec.negatives_per_question`` gives each gold question).

    With ``checkpoint_path``, the training state (weights, optimizer, schedule, best epoch,
    log, random generators) is saved there after every epoch, and also every
    ``checkpoint_every_steps`` optimizer steps inside an epoch when given (an epoch of
    thousands of synthetic questions takes an hour on a CPU core). A checkpoint already
    there is resumed when it was written for the same model, spec, decoding options and
    data (see :class:`ReaderCheckpoint`); a resumed run ends as an uninterrupted one would
    on CPU. The caller removes the file once the reader is saved. ``stop_after_epochs``
    ends training after that many epochs in all, as a killed job would (for tests); the
    best epoch so far is returned.

    Raises:
        ValueError: when no training question of a stage has a passage holding its whole
            answer, or when there is no stage (``spec.epochs`` and ``synthetic_epochs`` 0).
        NonFiniteLossError: when the loss becomes NaN or infinite.
    """
    generator = seed_everything(spec.seed)
    reader = ExtractiveReader.from_pretrained(
        model_name, device, max_length=spec.max_length, stride=spec.stride, **reader_options
    )
    # (stage, questions, epochs, negative passages per question)
    stages = []
    if synthetic and synthetic_epochs > 0:
        if synthetic_negatives is None:
            synthetic_negatives = spec.negatives_per_question
        stages.append(("synthetic", synthetic, synthetic_epochs, synthetic_negatives))
    if spec.epochs > 0:  # 0: synthetic only (an ablation of bench/rag_targets.py)
        stages.append(("gold", train, spec.epochs, spec.negatives_per_question))
    if not stages:
        raise ValueError("no training stage: give gold epochs or synthetic questions and epochs")
    # dev F1 is NaN when no dev question has a gold passage: then each epoch replaces the last
    best = EarlyStopping(patience=None, mode="max", ties_improve=True, snapshot_on_cpu=True)
    checkpoint = None
    if checkpoint_path is not None:
        checkpoint = ReaderCheckpoint(
            checkpoint_path,
            _training_fingerprint(model_name, spec, reader_options, stages, dev, passages),
            checkpoint_every_steps,
        )
    progress = checkpoint.resume(reader, best, generator) if checkpoint else _fresh_progress()
    # every stage's windows before any training, so a stage without usable questions fails early
    features_of = {
        stage: _stage_features(
            reader,
            questions,
            passages if stage == "gold" else training_passages(passages, train, questions),
            spec,
            stage,
            negatives,
        )
        for stage, questions, _, negatives in stages
    }
    last_epoch = stop_after_epochs if stop_after_epochs is not None else math.inf
    first_epoch = 1
    for stage, _, epochs, _ in stages:
        numbers = range(first_epoch, first_epoch + epochs)
        first_epoch = numbers.stop
        if progress["epoch"] >= numbers[-1]:
            continue  # done before a resume
        _train_stage(
            reader,
            features_of[stage],
            dev,
            passages,
            spec,
            device,
            generator,
            stage,
            numbers,
            best,
            progress,
            checkpoint,
            last_epoch,
        )
    best.restore(reader.model)
    reader.clear_cache()
    return reader, pd.DataFrame(progress["rows"])


def training_passages(passages: list[Passage], *question_sets: list[Question]) -> list[Passage]:
    """The passages of the documents the given questions ask about (training documents only)."""
    doc_ids = {q.doc_id for questions in question_sets for q in questions}
    return [p for p in passages if p.doc_id in doc_ids]


def _stage_features(
    reader: ExtractiveReader,
    questions: list[Question],
    passages: list[Passage],
    spec: ReaderTrainingSpec,
    stage: str,
    negatives_per_question: int,
) -> dict[str, torch.Tensor]:
    """Encoded training windows of one stage (see :func:`encode_reader_examples`), each
    question with ``negatives_per_question`` passages that lack its answer.

    Raises:
        ValueError: when no question of the stage has a passage holding its whole answer.
    """
    examples = reader_examples(questions, passages, negatives_per_question, spec.seed)
    examples = _fitting_examples(reader.tokenizer, examples, spec.max_length, spec.stride, stage)
    if not examples:
        raise ValueError(
            f"no {stage} training question has a passage containing its answer; cannot "
            "fine-tune the reader"
        )
    features = encode_reader_examples(reader.tokenizer, examples, spec.max_length, spec.stride)
    log.info(
        "reader training, %s stage: %d examples -> %d windows",
        stage,
        len(examples),
        len(features["input_ids"]),
    )
    return features


def _fitting_examples(tokenizer, examples, max_length: int, stride: int, stage: str) -> list:
    """The examples whose question leaves more than ``stride`` passage tokens in a window.

    The tokenizer cannot cut overlapping windows from less (it fails), and a long synthetic
    question (a whole sentence turned cloze) can take most of a short window.
    """
    room = max_length - stride - tokenizer.num_special_tokens_to_add(pair=True)
    lengths = {q: len(tokenizer.tokenize(q)) for q in {e[0] for e in examples}}
    fitting = [e for e in examples if lengths[e[0]] < room]
    if len(fitting) < len(examples):
        log.warning(
            "%s stage: %d example(s) dropped, their question leaves no more than %d passage "
            "tokens in a %d-token window (raise rag.reader.max_length or lower its stride)",
            stage,
            len(examples) - len(fitting),
            stride,
            max_length,
        )
    return fitting


def span_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of the start and end token over the window's real tokens.

    ``batch`` holds input_ids/attention_mask/token_type_ids of shape (batch, length) and
    start_positions/end_positions of shape (batch,). The question-answering head's own loss
    spreads its softmax over padding too, so the same window scored differently with more
    padding; here padding positions get no probability, and trimming padding changes nothing.
    """
    inputs = {k: v for k, v in batch.items() if k not in ("start_positions", "end_positions")}
    outputs = model(**inputs)
    padding = batch["attention_mask"] == 0
    losses = []
    for logits, positions in (
        (outputs.start_logits, batch["start_positions"]),
        (outputs.end_logits, batch["end_positions"]),
    ):
        masked = logits.masked_fill(padding, torch.finfo(logits.dtype).min)
        losses.append(torch.nn.functional.cross_entropy(masked, positions))
    return (losses[0] + losses[1]) / 2


def _train_stage(
    reader: ExtractiveReader,
    features: dict[str, torch.Tensor],
    dev: list[Question],
    passages: list[Passage],
    spec: ReaderTrainingSpec,
    device: torch.device,
    generator: torch.Generator,
    stage: str,
    numbers: range,
    best: EarlyStopping,
    progress: dict,
    checkpoint: ReaderCheckpoint | None,
    last_epoch: float,
) -> None:
    """The epochs ``numbers`` of one stage over ``features`` (windows of shape
    [n_windows, max_length]) with a fresh AdamW and schedule, or the rest of them with the
    optimizer and schedule of a checkpoint written inside this stage. After each epoch the
    dev scores on gold passages go to ``best``, a log row to ``progress["rows"]`` and the
    state to ``checkpoint``; no epoch after ``last_epoch`` runs."""
    n_windows = len(features["input_ids"])
    steps_per_epoch = math.ceil(n_windows / spec.batch_size)
    optimizer = torch.optim.AdamW(
        reader.model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay
    )
    scheduler = linear_schedule(optimizer, steps_per_epoch * len(numbers), spec.warmup_ratio)
    if progress["stage_start"] == numbers.start:  # the checkpoint holds this stage's state
        optimizer.load_state_dict(progress["optimizer"])
        scheduler.load_state_dict(progress["scheduler"])
    progress["stage_start"] = numbers.start

    def save() -> None:
        if checkpoint is not None:
            checkpoint.save(reader, optimizer, scheduler, generator, best, progress)

    for epoch in range(max(numbers.start, progress["epoch"] + 1), numbers.stop):
        if epoch > last_epoch:
            break
        train_loss, seconds = _train_epoch(
            reader,
            features,
            spec,
            device,
            generator,
            optimizer,
            scheduler,
            progress,
            save,
            checkpoint.every_steps if checkpoint is not None else None,
        )
        reader.model.eval()
        reader.clear_cache()
        dev_scores = evaluate_reader_on_gold(reader, dev, passages)
        progress["rows"].append(
            {
                "epoch": epoch,
                "stage": stage,
                "train_loss": train_loss,
                "dev_exact_match": dev_scores["exact_match"],
                "dev_f1": dev_scores["f1"],
                "seconds": seconds,
                "windows_per_s": n_windows / seconds,
            }
        )
        log.info(
            "epoch %d (%s): loss %.4f, dev EM %.3f F1 %.3f (%.0f s)",
            epoch,
            stage,
            train_loss,
            dev_scores["exact_match"],
            dev_scores["f1"],
            seconds,
        )
        best.update(epoch, dev_scores["f1"], reader.model)
        progress["epoch"] = epoch
        save()


def _train_epoch(
    reader: ExtractiveReader,
    features: dict[str, torch.Tensor],
    spec: ReaderTrainingSpec,
    device: torch.device,
    generator: torch.Generator,
    optimizer: torch.optim.Optimizer,
    scheduler,
    progress: dict,
    save,
    save_every_steps: int | None,
) -> tuple[float, float]:
    """One pass over ``features`` in an order drawn from ``generator``; (mean loss, seconds).

    With ``save_every_steps``, ``save()`` is called every that many optimizer steps inside
    the epoch, ``progress["inside_epoch"]`` holding
    what a resume needs: the generator's state before the order was drawn (the order is
    drawn again from it), the steps done, their losses and seconds. A resumed epoch skips
    the steps done and ends as the uninterrupted one would.

    Raises:
        NonFiniteLossError: when the loss becomes NaN or infinite.
    """
    inside = progress["inside_epoch"] or {
        "generator": generator.get_state(),
        "steps": 0,
        "losses": [],
        "seconds": 0.0,
    }
    generator.set_state(inside["generator"])
    batches = torch.randperm(len(features["input_ids"]), generator=generator).split(spec.batch_size)
    reader.model.train()
    began = time.perf_counter() - inside["seconds"]
    for step, batch_indices in enumerate(batches, start=1):
        if step <= inside["steps"]:
            continue  # done before the resume
        # windows are padded to max_length; the batch's shared padding is cut before the model
        batch = trim_padding({k: v[batch_indices] for k, v in features.items()})
        batch = {k: v.to(device) for k, v in batch.items()}
        inside["losses"].append(
            clipped_step(
                span_loss(reader.model, batch),
                reader.model,
                optimizer,
                scheduler,
                f"reader training, step {step} of an epoch",
                "lower the learning rate (rag.reader.training.lr)",
            )
        )
        if save_every_steps and step % save_every_steps == 0 and step < len(batches):
            inside["steps"], inside["seconds"] = step, time.perf_counter() - began
            progress["inside_epoch"] = inside
            save()
    progress["inside_epoch"] = None
    return float(np.mean(inside["losses"])), time.perf_counter() - began


# ---- resumable training ------------------------------------------------------------

# bumped whenever the checkpoint layout changes, so an older checkpoint is never loaded
CHECKPOINT_FORMAT = 2


# what a checkpoint carries of the training's progress besides the optimizer and schedule
PROGRESS_KEYS = ("epoch", "rows", "stage_start", "inside_epoch")


def _fresh_progress() -> dict:
    """Training progress before the first step: epochs done and their log rows; the first
    epoch of the stage whose optimizer and schedule state it holds (None: none yet); and the
    state of an epoch stopped part way (None: at an epoch's end)."""
    return {
        "epoch": 0,
        "rows": [],
        "stage_start": None,
        "optimizer": None,
        "scheduler": None,
        "inside_epoch": None,
    }


def _training_fingerprint(
    model_name: str,
    spec: ReaderTrainingSpec,
    reader_options: dict,
    stages: list[tuple],
    dev: list[Question],
    passages: list[Passage],
) -> str:
    """Hex SHA-256 of everything a reader's training depends on: the model, the spec, the
    decoding options (dev F1 chooses the kept epoch), each stage's questions, epochs and
    negatives, the dev questions and the passages."""
    described = {
        "model": model_name,
        "spec": asdict(spec),
        "reader_options": reader_options,
        "stages": [
            (stage, [asdict(q) for q in questions], epochs, negatives)
            for stage, questions, epochs, negatives in stages
        ],
        "dev": [asdict(q) for q in dev],
        "passages": [asdict(p) for p in passages],
    }
    encoded = json.dumps(described, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


class ReaderCheckpoint:
    """The state of a reader's training after its latest epoch (or step saved inside an
    epoch), in one file at ``path``; saved after every epoch, and every ``every_steps``
    optimizer steps inside one when given.

    Holds the weights, the running stage's optimizer and schedule, the best epoch's
    weights and score, the epoch log, the progress inside an unfinished epoch, and the
    torch generators (global: dropout; the shuffling generator). It is bound to a training
    fingerprint (model, spec, decoding options, data): a file written for any other
    training, or in an older layout, is ignored with a log line saying why, and training
    starts afresh.
    """

    def __init__(self, path: str | Path, fingerprint: str, every_steps: int | None = None):
        self.path = Path(path)
        self.binding = {"format": CHECKPOINT_FORMAT, "fingerprint": fingerprint}
        self.every_steps = every_steps

    def resume(
        self, reader: ExtractiveReader, best: EarlyStopping, generator: torch.Generator
    ) -> dict:
        """Load a matching checkpoint into ``reader``, ``best`` and ``generator``; the
        progress to go on from (see :func:`_fresh_progress`), fresh when none matches."""
        fresh = _fresh_progress()
        if not self.path.exists():
            return fresh
        saved = torch.load(self.path, weights_only=False)
        if saved.get("format") != self.binding["format"]:
            log.info("ignoring reader checkpoint %s: an older layout", self.path)
            return fresh
        if saved.get("fingerprint") != self.binding["fingerprint"]:
            log.info(
                "ignoring reader checkpoint %s: written for another model, spec, decoding or "
                "data; training from scratch",
                self.path,
            )
            return fresh
        reader.model.load_state_dict(saved["model"])
        best.load_state_dict(saved["best"])
        torch.set_rng_state(saved["torch_rng"])
        generator.set_state(saved["generator"])
        inside = saved["inside_epoch"]
        log.info(
            "resumed reader training from %s after epoch %d%s",
            self.path,
            saved["epoch"],
            f" and {inside['steps']} steps of the next" if inside else "",
        )
        return {
            **{key: saved[key] for key in PROGRESS_KEYS},
            "optimizer": saved["optimizer"],
            "scheduler": saved["scheduler"],
        }

    def save(
        self,
        reader: ExtractiveReader,
        optimizer: torch.optim.Optimizer,
        scheduler,
        generator: torch.Generator,
        best: EarlyStopping,
        progress: dict,
    ) -> None:
        """Write the state of ``progress`` atomically (a killed save leaves the previous
        checkpoint)."""
        payload = {
            **self.binding,
            **{key: progress[key] for key in PROGRESS_KEYS},
            "model": reader.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "best": best.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "generator": generator.get_state(),
        }
        with atomic_path(self.path) as tmp:
            torch.save(payload, tmp)


# ---- fine-tuning entry points --------------------------------------------------------


def fine_tune_reader(
    model_name: str,
    passages: list[Passage],
    train: list[Question],
    dev: list[Question],
    reader_options: dict,
    training: dict,
    device: torch.device,
    synthetic: list[Question] | None = None,
    synthetic_epochs: int = 0,
    synthetic_negatives: int | None = None,
    checkpoint_path: str | Path | None = None,
):
    """The extractive reader fine-tuned on the train questions, best dev F1 kept; (reader, epoch log).

    ``reader_options`` is rag.reader without model / fine_tune / training / synthetic:
    max_length and stride shape the training windows, the rest is decoding. With
    ``synthetic`` questions and ``synthetic_epochs`` > 0 the reader first trains on those,
    with ``synthetic_negatives`` negative passages each. ``checkpoint_path``: where each
    epoch's state is saved and resumed from (see :func:`train_reader`).
    """
    spec = ReaderTrainingSpec(
        max_length=reader_options["max_length"], stride=reader_options["stride"], **training
    )
    decoding = {k: v for k, v in reader_options.items() if k not in ("max_length", "stride")}
    return train_reader(
        model_name,
        train,
        dev,
        passages,
        spec,
        device,
        decoding,
        synthetic,
        synthetic_epochs,
        synthetic_negatives,
        checkpoint_path,
    )


def save_reader(reader: ExtractiveReader, path) -> None:
    """The reader's model, tokenizer and window (max_length, stride; see
    :func:`medlab.rag.readers.saved_reader_window`) saved as one directory, atomically."""
    with atomic_directory(path) as tmp:
        reader.model.save_pretrained(tmp)
        reader.tokenizer.save_pretrained(tmp)
        write_json(
            {"max_length": reader.max_length, "stride": reader.stride}, tmp / READER_WINDOW_FILE
        )
