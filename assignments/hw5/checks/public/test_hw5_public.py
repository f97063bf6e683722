"""hw5 — the training loop: public checks (students see these and run them with `grader check hw5`).

The helpers live in ../hw5_support.py, shared with the hidden checks.
"""

from __future__ import annotations

import pytest

from grader.assertions import fail, score
from grader.i18n import tr
from hw5_support import (
    FIT_BAR,
    FIT_FLOOR,
    MLP,
    MLP_DROPOUT,
    batch_losses,
    clear_margin,
    expect_accuracy,
    expect_mean_loss,
    expect_trained_by_gradient,
    expect_weights,
    fit_accuracy,
    fit_share,
    initial_state,
    sample,
    student_epoch,
    trained_state,
    weights_after_known_mistakes,
    weights_after_reference_epoch,
)
from grader.replay import recorded


# ---------------------------------------------------------------------------------------------
# checks


@pytest.mark.points(2)
def test_train_epoch_updates_weights_like_the_reference(student, reference):
    """train_epoch: after one epoch (SGD with momentum, 6 batches) the weights match the reference loop"""
    X, y = sample(96, seed=501)
    state = initial_state(MLP, seed=502)
    args = (MLP, state, X, y, 16, "sgd", {"lr": 0.1, "momentum": 0.9}, 503)
    model, _ = student_epoch(student, *args)
    expected = recorded(reference, weights_after_reference_epoch, *args)
    expect_weights(student, model, expected, start=state,
                   mistakes=recorded(reference, weights_after_known_mistakes, *args),
                   what="train_epoch(model, loader, loss_fn, optimizer)")


@pytest.mark.points(1)
def test_train_epoch_returns_mean_batch_loss(student):
    """train_epoch returns the mean of the batch losses as a Python float"""
    # The learning rate is 0, so the weights stay put and only the returned value is judged.
    X, y = sample(80, seed=511)
    state = initial_state(MLP, seed=512)
    _, got = student_epoch(student, MLP, state, X, y, 20, "sgd", {"lr": 0.0}, 513)
    expect_mean_loss(got, batch_losses(MLP, state, X, y, 20), samples=len(y), what="train_epoch")


@pytest.mark.points(1)
def test_evaluate_accuracy_in_eval_mode(student, reference):
    """evaluate: the accuracy of a model with dropout, computed in eval mode over every sample"""
    state = trained_state(MLP_DROPOUT, 600, 521, seed=522)
    X, y = sample(400, seed=523)
    X, y = clear_margin(MLP_DROPOUT, state, X, y, count=100)
    expect_accuracy(student, reference, MLP_DROPOUT, state, X, y, 32, seed=524, what="evaluate(model, loader)")


@pytest.mark.points(2)
def test_fit_reaches_90_percent_on_held_out_digits(student, device):
    """fit(X_train, y_train, epochs=20, seed=0): at least 90% accuracy on 450 held-out digits, trained by gradient steps"""
    what = "fit(X_train, y_train, 20, 0)"
    accuracy, fitted = fit_accuracy(student, device, split_seed=0, fit_seed=0, what=what)
    if accuracy < FIT_FLOOR:
        fail(tr("the model returned by fit(X_train, y_train, 20, 0) classifies {accuracy:.1%} of 450 held-out "
                "digits correctly; at least {bar:.0%} is needed", accuracy=accuracy, bar=FIT_BAR),
             "scale the inputs (X / 16) inside the model you return, use mini-batches, Adam (lr about 1e-3) "
             "and all `epochs` epochs, and return the trained model")
    expect_trained_by_gradient(student, device, fitted, fit_seed=0, what=what)
    if accuracy < FIT_BAR:  # learnt, but not enough: a share of the points, after the other expectations held
        score(fit_share(accuracy),
              tr("the model returned by fit(X_train, y_train, 20, 0) classifies {accuracy:.1%} of 450 held-out "
                 "digits correctly; {bar:.0%} earns full points, {floor:.0%} none", accuracy=accuracy, bar=FIT_BAR,
                 floor=FIT_FLOOR),
              hint="scale the inputs (X / 16) inside the model you return, use mini-batches, Adam (lr about 1e-3) "
                   "and all `epochs` epochs, and return the trained model")
