"""hw5 — the training loop: hidden checks (run only at grading time).

The helpers live in ../hw5_support.py, shared with the public checks.
"""

from __future__ import annotations

import pytest

from grader.assertions import expect_on_device, fail, score
from grader.i18n import tr
from hw5_support import (
    FIT_BAR,
    FIT_FLOOR,
    MLP_DROPOUT,
    clear_margin,
    expect_accuracy,
    expect_mean_loss,
    expect_learns_from_labels,
    expect_trained_by_gradient,
    expect_weights,
    fit_accuracy,
    fit_share,
    initial_state,
    same_weights,
    sample,
    student_epoch,
    trained_state,
    trusted_epoch,
    weights_after_known_mistakes,
)


# ---------------------------------------------------------------------------------------------
# checks (hidden: other data, batch sizes, optimizers and seeds than the public ones)

MLP_SIGMOID = [["fc1", "linear", 64, 24], ["act", "sigmoid"], ["fc2", "linear", 24, 10]]
MLP_WIDE_DROPOUT = [["fc1", "linear", 64, 48], ["relu", "relu"], ["drop", "dropout", 0.5],
                    ["fc2", "linear", 48, 10]]


def _loop_recording_losses(model, loader, loss_fn, optimizer):
    """The correct loop, returning every batch's loss (to tell a last or summed loss apart)."""
    model.train()
    losses = []
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.points(1)
def test_train_epoch_with_adam_on_other_batches(student, reference, device):
    """train_epoch with Adam, another network and batch size, on the grading device: weights and mean loss match"""
    X, y = sample(120, seed=601)
    state = initial_state(MLP_SIGMOID, seed=602)
    args = (MLP_SIGMOID, state, X, y, 24, "adam", {"lr": 0.01}, 603)
    model, got = student_epoch(student, *args, device=device)
    expect_on_device(student.describe(model)["state_dict"], device,
                     what="train_epoch on a model and data on the GPU: the model's weights",
                     hint="train where the model and the data are: no model.cpu() or .to('cpu') in the loop")
    expected, _ = trusted_epoch(reference.train_epoch, *args, device=device)
    expect_weights(student, model, expected, start=state,
                   mistakes=weights_after_known_mistakes(reference, *args, device=device),
                   what="train_epoch(model, loader, loss_fn, optimizer)")
    _, losses = trusted_epoch(_loop_recording_losses, *args, device=device)
    expect_mean_loss(got, losses, samples=len(y), what="train_epoch")


@pytest.mark.points(1)
def test_train_epoch_trains_in_train_mode(student, reference):
    """train_epoch puts the model in train mode: a model with dropout handed over in eval mode"""
    X, y = sample(64, seed=611)
    state = initial_state(MLP_DROPOUT, seed=612)
    args = (MLP_DROPOUT, state, X, y, 16, "sgd", {"lr": 0.05, "momentum": 0.5}, 613)
    model, _ = student_epoch(student, *args, start_in_eval=True)
    expected, _ = trusted_epoch(reference.train_epoch, *args, start_in_eval=True)
    expect_weights(student, model, expected, start=state,
                   mistakes=weights_after_known_mistakes(reference, *args, start_in_eval=True),
                   what="train_epoch on a model in eval mode")


@pytest.mark.points(1)
def test_evaluate_other_model_leaves_weights_alone(student, reference):
    """evaluate: another model and batch size; the accuracy matches and the weights are unchanged"""
    state = trained_state(MLP_WIDE_DROPOUT, 700, 621, seed=622, steps=120)
    X, y = sample(500, seed=623)
    X, y = clear_margin(MLP_WIDE_DROPOUT, state, X, y, count=150)
    model = expect_accuracy(student, reference, MLP_WIDE_DROPOUT, state, X, y, 48, seed=624,
                            what="evaluate(model, loader)")
    after = student.describe(model)["state_dict"]
    if not same_weights(after, state, rtol=0, atol=0):
        fail("evaluate(model, loader) changed the model's weights",
             "evaluate must only measure: no optimizer, no loss.backward(), no changes to the model")


@pytest.mark.points(1)
def test_fit_on_another_split_and_seed(student, device):
    """fit(X_train, y_train, epochs=20, seed=7) on another split: at least 90% on the held-out digits, learnt from the labels"""
    what = "fit(X_train, y_train, 20, 7)"
    accuracy, fitted = fit_accuracy(student, device, split_seed=1, fit_seed=7, what=what, key_purpose=1)
    hint = ("scale the inputs (X / 16) inside the model you return, use mini-batches, Adam (lr about 1e-3) "
            "and all `epochs` epochs, and return the trained model; do not depend on one lucky seed")
    if accuracy < FIT_FLOOR:
        fail(f"the model returned by fit with seed 7 on another split classifies {accuracy:.1%} of 450 "
             f"held-out digits correctly; at least {FIT_BAR:.0%} is needed", hint)
    expect_trained_by_gradient(student, device, fitted, fit_seed=7, what=what)
    expect_learns_from_labels(student, device, fitted, fit_seed=7, what=what)
    if accuracy < FIT_BAR:  # learnt, but not enough: a share of the points (which the score shows anyway)
        score(fit_share(accuracy),
              tr("the model returned by fit with seed 7 on another split classifies {accuracy:.1%} of 450 "
                 "held-out digits correctly; {bar:.0%} earns full points, {floor:.0%} none", accuracy=accuracy,
                 bar=FIT_BAR, floor=FIT_FLOOR), hint,
              tr("fit's model learnt, but not enough for full points on the held-out digits: a share of the points"))
