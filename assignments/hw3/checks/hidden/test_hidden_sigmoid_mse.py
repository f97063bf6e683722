"""hw3 hidden checks: sigmoid_mse_grads on other values, a batch, and weights that already require grad."""

import pytest
import torch

from grader.assertions import expect_close, expect_type, fail
from grader.i18n import tr

GRAD_HINT = ("make w1 and w0 leaves that require grad (w1.detach().clone().requires_grad_(True)), compute "
             "the scalar loss, call loss.backward(), then return w1.grad and w0.grad")
LOSS_HINT = "return loss.item(), a Python float, not the loss tensor"
MSE_HINT = "mse uses the mean over the batch: F.mse_loss(prediction, target) or ((prediction - target)**2).mean()"


def _check(student, reference, args, label):
    got = student.sigmoid_mse_grads(*args)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        returned = (tr("a {type} of {count} items", type=type(got).__name__, count=len(got))
                    if isinstance(got, (tuple, list)) else type(got).__name__)
        fail(tr("sigmoid_mse_grads should return a tuple (loss, dloss/dw1, dloss/dw0), but returned {value}",
                value=returned))
    loss, grad_w1, grad_w0 = got
    want_loss, want_w1, want_w0 = reference.sigmoid_mse_grads(*args)
    expect_type(loss, float, what=tr("the loss ({label})", label=label), hint=LOSS_HINT)
    expect_close(loss, want_loss, what=tr("the loss ({label})", label=label), rtol=1e-4, atol=1e-6, hint=MSE_HINT)
    expect_close(grad_w1, want_w1, what=tr("dloss/dw1 ({label})", label=label), rtol=1e-4, atol=1e-6,
                 hint=GRAD_HINT)
    expect_close(grad_w0, want_w0, what=tr("dloss/dw0 ({label})", label=label), rtol=1e-4, atol=1e-6,
                 hint=GRAD_HINT)


@pytest.mark.points(1)
def test_sigmoid_mse_hidden(student, reference, device):
    """sigmoid_mse_grads: other single values, a batch of 8 inputs, and weights that require grad"""
    single = tuple(torch.tensor(value, device=device) for value in (-0.8, 0.0, 1.3, -0.25))
    _check(student, reference, single, tr("x = -0.8, target = 0"))

    generator = torch.Generator().manual_seed(1101)
    x = torch.randn(8, generator=generator).to(device)
    target = torch.rand(8, generator=generator).to(device)
    w1 = torch.randn((), generator=generator).to(device).requires_grad_(True)
    w0 = torch.randn((), generator=generator).to(device).requires_grad_(True)
    _check(student, reference, (x, target, w1, w0), tr("a batch of 8, w1 and w0 with requires_grad=True"))
