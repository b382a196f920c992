import math
import random

import numpy as np
import pytest
import torch

from medlab.training import (
    EarlyStopping,
    NonFiniteLossError,
    clipped_step,
    linear_schedule,
    seed_everything,
    snapshot_state,
)


def _draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_everything_repeats_every_generator():
    generator = seed_everything(7)
    first = _draws(), float(torch.rand(1, generator=generator))
    generator = seed_everything(7)
    assert (_draws(), float(torch.rand(1, generator=generator))) == first
    seed_everything(8)
    assert _draws() != first[0]


def test_returned_generator_is_independent_of_global_draws():
    generator = seed_everything(3)
    expected = torch.rand(3, generator=generator)
    generator = seed_everything(3)
    torch.rand(100)  # e.g. a model's initialisation
    assert torch.equal(torch.rand(3, generator=generator), expected)


def test_experiments_share_one_non_finite_loss_error():
    from medlab.gnn.train import NonFiniteLossError as GnnError
    from medlab.multilabel.train import NonFiniteLossError as MultilabelError

    assert GnnError is NonFiniteLossError and MultilabelError is NonFiniteLossError
    assert issubclass(NonFiniteLossError, RuntimeError)


def _stepper():
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    return model, optimizer, linear_schedule(optimizer, 10, 0.0)


def test_clipped_step_clips_the_gradient_norm_to_1_and_steps_the_schedule():
    model, optimizer, scheduler = _stepper()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    loss = model(torch.full((1, 3), 100.0)).sum()  # gradient norm far above 1
    assert clipped_step(loss, model, optimizer, scheduler, "here", "fix it") == loss.item()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.linalg.norm(after - before).item() == pytest.approx(1.0, rel=1e-4)  # lr 1
    assert scheduler.get_last_lr()[0] == pytest.approx(0.9)


def test_clipped_step_stops_on_a_non_finite_loss_before_any_weight_changes():
    model, optimizer, scheduler = _stepper()
    before = snapshot_state(model)
    loss = model(torch.ones(1, 3)).sum() * float("nan")
    with pytest.raises(NonFiniteLossError, match=r"^reader, step 3: loss became nan; lower it$"):
        clipped_step(loss, model, optimizer, scheduler, "reader, step 3", "lower it")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def _scores(stopper, scores, model=None):
    model = model or torch.nn.Linear(1, 1)
    return [stopper.update(epoch, s, model) for epoch, s in enumerate(scores, start=1)]


def test_strict_improvement_keeps_the_earlier_of_tied_epochs():
    stopper = EarlyStopping(patience=3)
    assert _scores(stopper, [0.5, 0.7, 0.7, 0.6]) == [True, True, False, False]
    assert stopper.best_epoch == 2 and stopper.best_score == 0.7 and stopper.bad_epochs == 2
    assert not stopper.should_stop


def test_ties_improve_moves_to_the_later_epoch():
    stopper = EarlyStopping(patience=None, ties_improve=True)
    assert _scores(stopper, [0.5, 0.7, 0.7, 0.6]) == [True, True, True, False]
    assert stopper.best_epoch == 3


def test_patience_counts_epochs_in_a_row_without_improvement():
    stopper = EarlyStopping(patience=2)
    stops = []
    for epoch, score in enumerate([0.5, 0.4, 0.6, 0.6, 0.3], start=1):
        stopper.update(epoch, score, torch.nn.Linear(1, 1))
        stops.append(stopper.should_stop)
    assert stops == [False, False, False, False, True]
    assert stopper.best_epoch == 3


def test_no_patience_never_stops():
    stopper = EarlyStopping(patience=None)
    _scores(stopper, [0.9] + [0.1] * 50)
    assert not stopper.should_stop and stopper.bad_epochs == 50


def test_min_mode_for_losses():
    stopper = EarlyStopping(patience=5, mode="min")
    _scores(stopper, [1.0, 0.5, 0.8])
    assert stopper.best_epoch == 2 and stopper.best_score == 0.5


def test_undefined_score_counts_only_until_a_finite_one_appears():
    stopper = EarlyStopping(patience=5)
    assert _scores(stopper, [math.nan, math.nan, 0.2, math.nan, 0.1]) == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert stopper.best_epoch == 3 and stopper.best_score == 0.2


def test_best_weights_are_a_snapshot_and_restored():
    model = torch.nn.Linear(2, 1)
    stopper = EarlyStopping(patience=2)
    stopper.update(1, 0.9, model)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    stopper.update(2, 0.1, model)
    assert torch.equal(stopper.best_state["weight"], best["weight"])
    stopper.restore(model)
    assert torch.equal(model.weight, best["weight"])


def test_snapshot_on_cpu_is_a_copy():
    model = torch.nn.Linear(2, 1)
    state = snapshot_state(model, on_cpu=True)
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not torch.equal(state["weight"], model.weight)


def test_state_dict_round_trip_resumes_the_same_decisions():
    model = torch.nn.Linear(1, 1)
    uninterrupted = EarlyStopping(patience=2)
    _scores(uninterrupted, [0.3, 0.5, 0.4], model)
    resumed = EarlyStopping(patience=2)
    resumed.load_state_dict(uninterrupted.state_dict())
    for stopper in (uninterrupted, resumed):
        stopper.update(4, 0.45, model)
    assert resumed.state_dict().keys() == uninterrupted.state_dict().keys()
    assert (resumed.best_epoch, resumed.bad_epochs, resumed.should_stop) == (2, 2, True)
    assert (uninterrupted.best_epoch, uninterrupted.bad_epochs) == (2, 2)


def test_restore_without_any_epoch_fails_clearly():
    with pytest.raises(RuntimeError, match="no epoch was recorded"):
        EarlyStopping(patience=1).restore(torch.nn.Linear(1, 1))


@pytest.mark.parametrize("kwargs", [{"patience": 0}, {"patience": 1, "mode": "up"}])
def test_invalid_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        EarlyStopping(**kwargs)
