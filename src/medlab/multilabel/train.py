"""Fine-tuning ``AutoModelForSequenceClassification`` for multi-label classification.

AdamW with linear warmup and decay, gradient clipping, optional layer-wise learning-rate
decay, early stopping on a validation metric (best weights restored), BCE / class-weighted
BCE / focal / asymmetric losses, optional oversampling of rare-label examples. Logs the
loss of every step and validation metrics, examples/s and peak memory of every epoch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import resource
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler
from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.trainer_pt_utils import LengthGroupedSampler

from medlab.io import atomic_path
from medlab.losses import build_loss
from medlab.multilabel.metrics import ranking_and_threshold_metrics
from medlab.multilabel.windows import (
    DocumentBatchSampler,
    pool_window_logits,
    pool_window_targets,
)
from medlab.pretrained import load_pretrained, resolve_model
from medlab.training import EarlyStopping, NonFiniteLossError, seed_everything, trim_padding

log = logging.getLogger(__name__)


# weighted BCE: a label with fewer positives than 1 in 100 examples is weighted as if it had 1
MAX_POS_WEIGHT = 100.0


@dataclass(frozen=True)
class FineTuneSpec:
    """The options of one fine-tuning run (one grid cell).

    No field has a default: they come from the config (``multilabel.training`` plus the
    grid cell), whose defaults live in schemas/config.schema.yaml only.
    """

    batch_size: int
    lr: float
    loss: str
    epochs: int
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    layer_lr_decay: float
    early_stopping_metric: str
    patience: int
    oversample: bool
    focal_gamma: float
    # batches of similar length: with padding trimmed per batch, long-tailed texts cost less
    group_by_length: bool


@dataclass
class FineTuneResult:
    steps: pd.DataFrame
    epochs: pd.DataFrame
    best_epoch: int
    best_state: dict = field(repr=False)


# how a text's token states become the one vector the classifier reads
POOLINGS = ("cls", "mean")


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token states over non-padding positions.

    hidden: (batch, tokens, hidden); attention_mask: (batch, tokens) with 1 on real tokens.
    Returns (batch, hidden). Padding has no weight, so extra padding leaves the result
    unchanged; a row without any real token (never produced by a tokenizer) gives zeros.
    """
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class MeanPooledClassifier(torch.nn.Module):
    """A linear multi-label head over the mean of the encoder's last hidden state.

    Sentence-transformers encoders such as all-MiniLM-L6-v2 were trained to be read through
    this mean, not through the [CLS] token. ``forward`` takes the tokenizer's tensors and
    returns an output whose ``logits`` are (batch, labels), like the Hugging Face classifiers.
    """

    def __init__(self, encoder, num_labels: int):
        super().__init__()
        self.encoder = encoder
        config = encoder.config
        self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(config.hidden_size, num_labels)
        # initialised as transformers initialises a fresh classification layer
        self.classifier.weight.data.normal_(0.0, config.initializer_range)
        self.classifier.bias.data.zero_()

    @property
    def base_model(self):
        """The encoder (what :func:`parameter_groups` splits into layers)."""
        return self.encoder

    @property
    def config(self):
        return self.encoder.config

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> SequenceClassifierOutput:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        return SequenceClassifierOutput(logits=self.classifier(self.dropout(pooled)))


def new_classifier(model_name: str, num_labels: int, pooling: str = "cls"):
    """A multi-label classifier: ``AutoModelForSequenceClassification`` (``pooling="cls"``,
    the model's own head over the [CLS] token), or a :class:`MeanPooledClassifier` over its
    encoder (``pooling="mean"``). Raises ValueError for another pooling.

    A sentence-transformers checkpoint (a ``modules.json`` next to the weights, as in the
    packaged all-MiniLM-L6-v2) was trained through mean pooling, never through BERT's
    [CLS] pooler: its pooler weights are left over from pre-training and map every text
    to nearly the same saturated tanh vector (std across HoC abstracts 0.03 vs 0.18 for
    the raw [CLS] state), which starves the classifier and the encoder of gradient — 64
    training abstracts could not be fitted (train macro ROC-AUC 0.74 after 15 epochs; 0.96
    with the pooler re-initialised). Such a pooler is re-initialised like a fresh BERT layer.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {', '.join(POOLINGS)}")

    model = load_pretrained(
        AutoModelForSequenceClassification,
        model_name,
        num_labels=num_labels,
        problem_type="multi_label_classification",
    )
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None and (Path(resolve_model(model_name)) / "modules.json").exists():
        dense = pooler.dense
        dense.weight.data.normal_(0.0, model.config.initializer_range)
        dense.bias.data.zero_()
        log.info(
            "%s is a sentence-transformers checkpoint: its unused [CLS] pooler was re-initialised",
            model_name,
        )
    if pooling == "mean":
        return MeanPooledClassifier(model.base_model, num_labels)
    return model


def save_classifier(model, card: dict, path: str | os.PathLike) -> None:
    """Write the weights of ``model`` and its ``card`` atomically. The card holds ``model``
    (name or path), ``pooling`` and ``label_set`` (what :func:`load_classifier` rebuilds the
    model from) and whatever else the reader needs, e.g. how texts were tokenized."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"card": card, "state_dict": state}, tmp)


def load_classifier(path: str | os.PathLike):
    """(model, card) saved by :func:`save_classifier`; the model on the CPU."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    card = saved["card"]
    model = new_classifier(card["model"], len(card["label_set"]), card["pooling"])
    model.load_state_dict(saved["state_dict"])
    return model, card


def parameter_groups(model, lr: float, weight_decay: float, layer_lr_decay: float) -> list[dict]:
    """AdamW groups: the classifier at ``lr``, encoder layer k at lr x decay^(L - k),
    embeddings at lr x decay^(L + 1); no weight decay on biases and LayerNorm weights."""
    encoder = model.base_model
    n_layers = len(encoder.encoder.layer)
    groups = []

    def add(parameters, scale):
        decay = [p for n, p in parameters if not (n.endswith("bias") or "LayerNorm" in n)]
        no_decay = [p for n, p in parameters if n.endswith("bias") or "LayerNorm" in n]
        groups.append({"params": decay, "lr": lr * scale, "weight_decay": weight_decay})
        groups.append({"params": no_decay, "lr": lr * scale, "weight_decay": 0.0})

    add(list(encoder.embeddings.named_parameters()), layer_lr_decay ** (n_layers + 1))
    for index, layer in enumerate(encoder.encoder.layer):
        add(list(layer.named_parameters()), layer_lr_decay ** (n_layers - index))
    encoder_ids = {id(p) for p in encoder.embeddings.parameters()} | {
        id(p) for p in encoder.encoder.parameters()
    }
    add([(n, p) for n, p in model.named_parameters() if id(p) not in encoder_ids], 1.0)
    return [g for g in groups if g["params"]]


def oversampling_weights(labels: np.ndarray) -> torch.Tensor:
    """Per-example weight = the inverse frequency of its rarest label (rare-label examples drawn more)."""
    frequency = labels.sum(0).clip(min=1) / len(labels)
    inverse = np.where(labels > 0, 1.0 / frequency, 0.0)
    return torch.tensor(inverse.max(1).clip(min=1.0), dtype=torch.double)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def token_lengths(dataset) -> list[int]:
    """Unpadded length of every example of a torch-format dataset."""
    return dataset[:]["attention_mask"].sum(1).tolist()


# columns of a torch-format dataset that are not model inputs
NOT_INPUTS = ("labels", "window_of")


@torch.no_grad()
def predict_probabilities(
    model, dataset, device: torch.device, batch_size: int = 64, window_pool: str | None = None
) -> np.ndarray:
    """(examples, labels) sigmoid probabilities in dataset order.

    Examples are batched shortest first so that each batch carries little padding. With
    ``window_pool`` (max or mean; the dataset then has a ``window_of`` column, see
    :mod:`medlab.multilabel.windows`) the logits of each document's windows are pooled
    first, and every window row carries its document's probability.
    """
    model.eval()
    order = np.argsort(token_lengths(dataset), kind="stable")
    out = []
    for start in range(0, len(order), batch_size):
        batch = trim_padding(dataset[order[start : start + batch_size].tolist()])
        inputs = {k: v.to(device) for k, v in batch.items() if k not in NOT_INPUTS}
        out.append(model(**inputs).logits.cpu())
    logits = torch.empty((len(order), out[0].shape[1]) if out else (0, 0))
    if out:
        logits[torch.as_tensor(order)] = torch.cat(out).float()
    if window_pool is not None and len(logits):
        window_of = dataset[:]["window_of"]
        pooled, documents = pool_window_logits(logits, window_of, window_pool)
        logits = pooled[torch.searchsorted(documents, window_of)]
    return torch.sigmoid(logits).numpy()


@dataclass
class TrainingState:
    """Everything a fine-tuning run carries from one epoch to the next."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: object
    generator: torch.Generator
    stopper: EarlyStopping
    steps: list
    epochs: list


# the checkpoint layout; a file with another one is not resumed
RESUME_FORMAT = 1


@dataclass(frozen=True)
class ResumeFile:
    """A per-epoch checkpoint of the whole training state at ``path``, resumed only when it
    was written for the same spec, seed and data (``data_fingerprint``; by default a hash of
    the training and validation tensors). ``stop_after_epochs`` ends training early without
    finishing, as a killed job would (for tests and time-boxed benchmark runs)."""

    path: str | os.PathLike
    data_fingerprint: str | None = None
    stop_after_epochs: int | None = None

    def stop_before(self, epoch: int) -> bool:
        return self.stop_after_epochs is not None and epoch > self.stop_after_epochs

    def binding(self, spec, seed: int, window_pool, train_ds, val_ds) -> dict:
        """What a checkpoint must match to be resumed."""
        data = self.data_fingerprint or _tensor_fingerprint(train_ds, val_ds)
        options = json.dumps({**asdict(spec), "window_pool": window_pool}, sort_keys=True)
        return {"format": RESUME_FORMAT, "spec": options, "seed": seed, "data": data}

    def load(self, binding: dict, training: TrainingState) -> None:
        """Fill ``training`` from the checkpoint when it exists and matches ``binding``."""
        path = Path(self.path)
        if not path.exists():
            return
        saved = torch.load(path, map_location="cpu", weights_only=False)
        mismatch = [key for key, value in binding.items() if saved.get(key) != value]
        if mismatch:
            log.info("ignoring checkpoint %s: its %s differ; training afresh", path, mismatch)
            return
        training.model.load_state_dict(saved["model"])
        training.optimizer.load_state_dict(saved["optimizer"])
        training.scheduler.load_state_dict(saved["scheduler"])
        training.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        training.stopper.load_state_dict(saved["early_stopping"])
        training.steps.extend(saved["steps"])
        training.epochs.extend(saved["epochs"])
        log.info("resumed from checkpoint %s after epoch %d", path, len(training.epochs))

    def save(self, binding: dict, training: TrainingState) -> None:
        payload = {
            **binding,
            "model": training.model.state_dict(),
            "optimizer": training.optimizer.state_dict(),
            "scheduler": training.scheduler.state_dict(),
            "generator": training.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "early_stopping": training.stopper.state_dict(),
            "steps": training.steps,
            "epochs": training.epochs,
        }
        with atomic_path(self.path) as tmp:
            torch.save(payload, tmp)


def _tensor_fingerprint(*datasets) -> str:
    """Hex SHA-256 of the input ids, attention masks and labels of torch-format datasets."""
    digest = hashlib.sha256()
    for dataset in datasets:
        rows = dataset[:]
        for key in ("input_ids", "attention_mask", "labels"):
            digest.update(rows[key].contiguous().numpy().tobytes())
    return digest.hexdigest()


def fine_tune(
    model,
    train_ds,
    val_ds,
    spec: FineTuneSpec,
    seed: int,
    device: torch.device,
    checkpoint_path=None,
    validation_view=None,
    window_pool: str | None = None,
    resume: ResumeFile | None = None,
) -> FineTuneResult:
    """Train ``model`` in place; return step and epoch logs and the best validation weights.

    ``train_ds``/``val_ds`` are torch-format datasets with input_ids, attention_mask and
    float ``labels`` (examples, num_labels). ``validation_view`` maps the (examples, labels)
    validation probabilities to the (truth, probabilities) pair the epoch is scored on —
    documents rolled up from sentence units; by default the examples themselves. With
    ``window_pool`` the datasets hold token windows (a ``window_of`` column): a batch is
    ``spec.batch_size`` documents with all their windows, the loss is taken on the
    document logits pooled over windows, and examples/s counts documents; ``oversample``
    and ``group_by_length`` do not apply. With ``resume`` the whole training state is saved
    after every epoch and picked up again at the start (see :class:`ResumeFile`). Raises
    :class:`NonFiniteLossError` on a NaN/inf loss; the best weights so far are then on
    disk at ``checkpoint_path``.
    """
    generator = seed_everything(seed)
    train_labels = train_ds[:]["labels"].numpy()
    if validation_view is None:
        val_labels = val_ds[:]["labels"].numpy()
        validation_view = lambda probabilities: (val_labels, probabilities)  # noqa: E731
    positives = train_labels.sum(0)
    pos_weight = torch.tensor(
        ((len(train_labels) - positives) / positives.clip(min=1)).clip(max=MAX_POS_WEIGHT),
        dtype=torch.float32,
        device=device,
    )
    loss_fn = build_loss(spec.loss, pos_weight=pos_weight, gamma=spec.focal_gamma)
    if window_pool is not None:
        batches = DocumentBatchSampler(
            train_ds[:]["window_of"].tolist(), spec.batch_size, generator
        )
        loader = DataLoader(train_ds, batch_sampler=batches)
    elif spec.oversample:
        sampler = WeightedRandomSampler(
            oversampling_weights(train_labels),
            len(train_labels),
            replacement=True,
            generator=generator,
        )
        loader = DataLoader(train_ds, batch_size=spec.batch_size, sampler=sampler)
    elif spec.group_by_length:
        sampler = LengthGroupedSampler(
            spec.batch_size, lengths=token_lengths(train_ds), generator=generator
        )
        loader = DataLoader(train_ds, batch_size=spec.batch_size, sampler=sampler)
    else:
        loader = DataLoader(train_ds, batch_size=spec.batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.AdamW(
        parameter_groups(model, spec.lr, spec.weight_decay, spec.layer_lr_decay), lr=spec.lr
    )
    total_steps = spec.epochs * len(loader)

    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(spec.warmup_ratio * total_steps), total_steps
    )
    model.to(device)
    steps, epochs = [], []
    # higher is better for every selectable metric; ties keep the earlier epoch
    stopper = EarlyStopping(patience=spec.patience)
    training = TrainingState(model, optimizer, scheduler, generator, stopper, steps, epochs)
    binding = None
    if resume is not None:
        binding = resume.binding(spec, seed, window_pool, train_ds, val_ds)
        resume.load(binding, training)
    for epoch in range(len(epochs) + 1, spec.epochs + 1):
        if stopper.should_stop or (resume is not None and resume.stop_before(epoch)):
            break
        model.train()
        started, seen = time.perf_counter(), 0
        for batch in loader:
            batch = {k: v.to(device) for k, v in trim_padding(batch).items()}
            targets = batch.pop("labels")
            window_of = batch.pop("window_of", None)
            logits = model(**batch).logits
            if window_pool is not None:
                logits = pool_window_logits(logits, window_of, window_pool)[0]
                targets = pool_window_targets(targets, window_of)
            loss = loss_fn(logits, targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"epoch {epoch}, step {len(steps) + 1}: loss is {loss.item()}; stopped. "
                    f"Last good weights (epoch {stopper.best_epoch}): "
                    f"{checkpoint_path or 'not saved'}"
                )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.max_grad_norm)
            optimizer.step()
            scheduler.step()
            seen += len(targets)
            steps.append(
                {
                    "step": len(steps) + 1,
                    "epoch": epoch,
                    "loss": loss.item(),
                    "lr": scheduler.get_last_lr()[-1],
                }
            )
            if len(steps) % max(1, len(loader) // 4) == 0:
                log.info("epoch %d, step %d: loss %.4f", epoch, len(steps), loss.item())
        seconds = time.perf_counter() - started
        metrics = ranking_and_threshold_metrics(
            *validation_view(predict_probabilities(model, val_ds, device, window_pool=window_pool)),
            threshold=0.5,
        )
        score = metrics[spec.early_stopping_metric]
        epochs.append(
            {
                "epoch": epoch,
                "train_seconds": seconds,
                "examples_per_s": seen / seconds,
                "peak_memory_mb": _peak_memory_mb(device),
                **{f"val_{k}": v for k, v in metrics.items()},
            }
        )
        log.info(
            "epoch %d: %s=%.4f, %.1f examples/s",
            epoch,
            spec.early_stopping_metric,
            score,
            seen / seconds,
        )
        if not math.isfinite(score):
            # no label has both classes in validation: nothing to select on; the tracker
            # counts the latest weights as best until an epoch with a defined score appears
            log.warning("validation %s is undefined at epoch %d", spec.early_stopping_metric, epoch)
        if stopper.update(epoch, score, model) and checkpoint_path is not None:
            with atomic_path(checkpoint_path) as tmp:
                torch.save(stopper.best_state, tmp)
        if resume is not None:
            resume.save(binding, training)
        if stopper.should_stop:
            log.info("early stopping after epoch %d; best epoch %d", epoch, stopper.best_epoch)
    stopper.restore(model)
    return FineTuneResult(
        pd.DataFrame(steps), pd.DataFrame(epochs), stopper.best_epoch, stopper.best_state
    )
