"""What every training loop of the project shares: seeding, the non-finite-loss error and
early stopping with best-weight tracking.

The loops themselves stay in their experiments (a GNN over PyG batches, a transformer
fine-tune with a warmup schedule, the RAG reader); these are the parts whose exact
semantics must agree across them.
"""

from __future__ import annotations

import copy
import logging
import math
import random

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the message says where and what was kept."""


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA).

    Returns a fresh ``torch.Generator`` seeded with ``seed`` for samplers and loaders,
    so their shuffling does not depend on how many numbers the model's initialisation drew.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def snapshot_state(model: torch.nn.Module, on_cpu: bool = False) -> dict:
    """A copy of ``model.state_dict()`` that later training steps cannot change.

    ``on_cpu`` keeps the copy off the accelerator (large models on a small GPU).
    """
    if on_cpu:
        return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    return copy.deepcopy(model.state_dict())


class EarlyStopping:
    """Best-epoch tracker on one validation score; says when patience has run out.

    ``mode="max"``: higher scores are better (``"min"`` for losses). An epoch improves on
    the best when its score is strictly better, or equal too when ``ties_improve`` (ties
    then go to the later epoch). A non-finite score (NaN: the metric is undefined on this
    validation set) improves only while no finite score has been seen, so the latest
    weights stand in until an epoch can be scored. ``patience=None`` never stops; else
    :attr:`should_stop` turns true after ``patience`` epochs in a row without improvement.

    The weights of the best epoch are kept (see :func:`snapshot_state`); :meth:`restore`
    loads them back. :meth:`state_dict` / :meth:`load_state_dict` let a checkpoint carry
    the tracker so a resumed run decides exactly as an uninterrupted one.
    """

    def __init__(
        self,
        patience: int | None,
        mode: str = "max",
        ties_improve: bool = False,
        snapshot_on_cpu: bool = False,
    ) -> None:
        if patience is not None and patience < 1:
            raise ValueError(
                f"early-stopping patience must be at least 1 (or None), got {patience}"
            )
        if mode not in ("max", "min"):
            raise ValueError(f"early-stopping mode must be 'max' or 'min', got {mode!r}")
        self.patience = patience
        self.mode = mode
        self.ties_improve = ties_improve
        self.snapshot_on_cpu = snapshot_on_cpu
        self.best_score = -math.inf if mode == "max" else math.inf
        self.best_epoch = 0
        self.best_state: dict | None = None
        self.bad_epochs = 0

    @property
    def has_finite_best(self) -> bool:
        return math.isfinite(self.best_score)

    def is_improvement(self, score: float) -> bool:
        """Whether ``score`` would become the new best (see the class docstring)."""
        if not math.isfinite(score):
            return not self.has_finite_best
        if self.mode == "max":
            return score >= self.best_score if self.ties_improve else score > self.best_score
        return score <= self.best_score if self.ties_improve else score < self.best_score

    def update(self, epoch: int, score: float, model: torch.nn.Module) -> bool:
        """Record the validation ``score`` of ``epoch``; snapshot ``model`` when it improves.

        Returns whether the epoch became the best one.
        """
        improved = self.is_improvement(score)
        if improved:
            if math.isfinite(score):
                self.best_score = float(score)
            self.best_epoch = epoch
            self.bad_epochs = 0
            self.best_state = snapshot_state(model, self.snapshot_on_cpu)
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best weights into ``model``; raises RuntimeError when no epoch was recorded."""
        if self.best_state is None:
            raise RuntimeError("no epoch was recorded: there are no best weights to restore")
        model.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best_score = state["best_score"]
        self.best_epoch = state["best_epoch"]
        self.best_state = state["best_state"]
        self.bad_epochs = state["bad_epochs"]


def trim_padding(batch: dict) -> dict:
    """Drop the padding columns every row of the batch shares.

    ``input_ids``/``attention_mask`` (batch, max_length) become (batch, longest row). Padded
    positions are masked out of attention, so the outputs do not change; the cost does.
    """
    width = int(batch["attention_mask"].sum(1).max())
    return {
        k: v[:, :width] if k in ("input_ids", "attention_mask", "token_type_ids") else v
        for k, v in batch.items()
    }


def clipped_step(
    loss: torch.Tensor, model: torch.nn.Module, optimizer, scheduler, where: str, remedy: str
) -> float:
    """One optimizer and schedule step on ``loss`` with the gradient norm clipped to 1; the
    loss's value.

    Raises:
        NonFiniteLossError: "<where>: loss became <value>; <remedy>" for a NaN or infinite
            loss, before any weight changes.
    """
    if not torch.isfinite(loss):
        raise NonFiniteLossError(f"{where}: loss became {loss.item()}; {remedy}")
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return loss.item()


def linear_schedule(optimizer, total_steps: int, warmup_ratio: float):
    """Linear warmup over ``warmup_ratio`` of ``total_steps``, then linear decay to 0."""
    return get_linear_schedule_with_warmup(
        optimizer, int(warmup_ratio * total_steps), max(total_steps, 1)
    )
