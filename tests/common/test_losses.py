"""Classification losses: focal and asymmetric losses against BCE, and the name registry."""

import pytest
import torch
import torch.nn.functional as F

from medlab.losses import asymmetric_loss, build_loss, focal_loss

LOGITS = torch.tensor([[4.0, -1.0], [-3.0, 0.5]])
TARGETS = torch.tensor([[1.0, 1.0], [0.0, 0.0]])


def test_focal_loss_with_gamma_zero_is_bce():
    expected = F.binary_cross_entropy_with_logits(LOGITS, TARGETS)
    assert torch.allclose(focal_loss(LOGITS, TARGETS, gamma=0.0), expected)


def test_focal_loss_down_weights_easy_examples_more_than_hard_ones():
    easy, hard = torch.tensor([4.0]), torch.tensor([-1.0])  # both positives
    positive = torch.tensor([1.0])

    def focal_share(logit):
        return focal_loss(logit, positive, gamma=2.0) / F.binary_cross_entropy_with_logits(
            logit, positive
        )

    assert focal_share(easy) < 0.001 < 0.5 < focal_share(hard) < 1


def test_focal_alpha_weights_positives_by_alpha_and_negatives_by_its_complement():
    logits, targets = torch.tensor([0.3, 0.3]), torch.tensor([1.0, 0.0])
    unweighted = [focal_loss(logits[i : i + 1], targets[i : i + 1]) for i in range(2)]
    weighted = [focal_loss(logits[i : i + 1], targets[i : i + 1], alpha=0.25) for i in range(2)]
    assert torch.allclose(weighted[0], 0.25 * unweighted[0])
    assert torch.allclose(weighted[1], 0.75 * unweighted[1])


def test_asymmetric_loss_without_focusing_or_clipping_is_bce():
    expected = F.binary_cross_entropy_with_logits(LOGITS, TARGETS)
    loss = asymmetric_loss(LOGITS, TARGETS, gamma_pos=0.0, gamma_neg=0.0, clip=0.0)
    assert torch.allclose(loss, expected, atol=1e-6)


def test_asymmetric_loss_ignores_negatives_below_the_clip():
    confident_negative = torch.tensor([-5.0])  # sigmoid 0.0067 < clip 0.05
    assert asymmetric_loss(confident_negative, torch.tensor([0.0])).item() == 0.0


def test_build_loss_by_name():
    pos_weight = torch.tensor([3.0, 1.0])
    weighted = build_loss("weighted_bce", pos_weight=pos_weight)(LOGITS, TARGETS)
    expected = F.binary_cross_entropy_with_logits(LOGITS, TARGETS, pos_weight=pos_weight)
    assert torch.allclose(weighted, expected)
    assert torch.allclose(
        build_loss("bce")(LOGITS, TARGETS), F.binary_cross_entropy_with_logits(LOGITS, TARGETS)
    )
    assert torch.allclose(
        build_loss("focal", gamma=1.5)(LOGITS, TARGETS), focal_loss(LOGITS, TARGETS, 1.5)
    )


def test_build_loss_errors_name_the_problem():
    with pytest.raises(ValueError, match="weighted_bce needs pos_weight"):
        build_loss("weighted_bce")
    with pytest.raises((ValueError, LookupError), match="hinge"):
        build_loss("hinge")
