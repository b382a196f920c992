"""Binary / multi-label classification losses, selected by name from ``LOSSES``.

All take logits and float targets of the same shape and return a scalar mean loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from medlab.registry import LOSSES


def focal_loss(
    logits: torch.Tensor, targets: torch.Tensor, gamma: float = 2.0, alpha: float | None = None
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): BCE scaled by (1 - p_t)^gamma, optional alpha balance.

    torchvision has ``sigmoid_focal_loss`` but torchvision is not installable beside the
    pinned CPU torch, hence this short version.
    """
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = torch.exp(-bce)
    loss = (1 - p_t) ** gamma * bce
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean()


def asymmetric_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
) -> torch.Tensor:
    """Asymmetric loss (Ridnik et al. 2021) for multi-label data with many easy negatives."""
    p = torch.sigmoid(logits)
    p_neg = (p - clip).clamp(min=0) if clip else p
    loss_pos = targets * (1 - p) ** gamma_pos * torch.log(p.clamp(min=1e-8))
    loss_neg = (1 - targets) * p_neg**gamma_neg * torch.log((1 - p_neg).clamp(min=1e-8))
    return -(loss_pos + loss_neg).mean()


# Each builder takes the options any loss may need and returns ``loss(logits, targets)``.


@LOSSES.register("bce")
def _bce(pos_weight: torch.Tensor | None, gamma: float):
    return lambda logits, targets: F.binary_cross_entropy_with_logits(logits, targets)


@LOSSES.register("weighted_bce")
def _weighted_bce(pos_weight: torch.Tensor | None, gamma: float):
    if pos_weight is None:
        raise ValueError("weighted_bce needs pos_weight")
    return lambda logits, targets: F.binary_cross_entropy_with_logits(
        logits, targets, pos_weight=pos_weight
    )


@LOSSES.register("focal")
def _focal(pos_weight: torch.Tensor | None, gamma: float):
    return lambda logits, targets: focal_loss(logits, targets, gamma=gamma)


@LOSSES.register("asymmetric")
def _asymmetric(pos_weight: torch.Tensor | None, gamma: float):
    return lambda logits, targets: asymmetric_loss(logits, targets)


def build_loss(name: str, pos_weight: torch.Tensor | None = None, gamma: float = 2.0):
    """A callable ``loss(logits, targets)`` for ``name``, one of ``LOSSES.names()``.

    ``pos_weight`` (one value per output) is required for weighted_bce: the ratio of
    negatives to positives in the training split; ``gamma`` is the focal loss's
    focusing parameter. Raises ValueError for an unknown name or a missing pos_weight.
    """
    return LOSSES.get(name)(pos_weight, gamma)
