"""hw3 public checks: sigmoid_mse_grads on the worked example from the notes."""

import math

import pytest
import torch

from grader.assertions import expect_close, expect_type, fail
from grader.i18n import tr

GRAD_HINT = ("make w1 and w0 leaves that require grad, compute the scalar loss, call loss.backward(), "
             "then return w1.grad and w0.grad")
LOSS_HINT = "return loss.item(), a Python float, not the loss tensor"


@pytest.mark.points(1)
def test_sigmoid_mse_worked_example(student, reference, device):
    """sigmoid_mse_grads: x = 1, target = 1, w1 = 0.417, w0 = 0.72 gives loss 0.0590 and gradients -0.0893"""
    x, target, w1, w0 = (torch.tensor(value, device=device) for value in (1.0, 1.0, 0.417, 0.72))
    got = student.sigmoid_mse_grads(x, target, w1, w0)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        if isinstance(got, (tuple, list)):
            returned = tr("a {type} of {count} items", type=type(got).__name__, count=len(got))
        else:
            returned = type(got).__name__
        fail(tr("sigmoid_mse_grads should return a tuple (loss, dloss/dw1, dloss/dw0), but returned {value}",
                value=returned))
    loss, grad_w1, grad_w0 = got
    want_loss, want_w1, want_w0 = reference.sigmoid_mse_grads(x, target, w1, w0)
    assert math.isclose(want_loss, 0.0590, abs_tol=1e-4)  # the reference agrees with the notes
    expect_type(loss, float, what=tr("sigmoid_mse_grads(...)[0], the loss,"), hint=LOSS_HINT)
    expect_close(loss, want_loss, what=tr("the loss"), rtol=1e-4, atol=1e-6, show_expected=True,
                 hint="loss = mean((sigmoid(x * w1 + w0) - target) ** 2)")
    expect_close(grad_w1, want_w1, what="dloss/dw1", rtol=1e-4, atol=1e-6, show_expected=True, hint=GRAD_HINT)
    expect_close(grad_w0, want_w0, what="dloss/dw0", rtol=1e-4, atol=1e-6, show_expected=True, hint=GRAD_HINT)
