"""hw3 hidden checks: quadratic_grad on other shapes and dtypes, and on an x that already requires grad."""

import pytest
import torch

from grader.assertions import expect_close, expect_tensor, fail
from grader.i18n import tr

AUTOGRAD_HINT = ("make x a leaf that requires grad, build y = (x**2 + 5*x).sum(), call y.backward() "
                 "on that scalar, then return x.grad")
COPY_HINT = ("work on a detached copy: x = x.detach().clone().requires_grad_(True); a clone() of a "
             "tensor that requires grad is not a leaf, and backward() then reaches the caller's x")


def _randn(seed, *shape, device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


@pytest.mark.points(1)
def test_quadratic_grad_hidden(student, reference, device):
    """quadratic_grad: a (3, 4) float64 tensor, and an x that already requires grad is left as it was"""
    x = _randn(1001, 3, 4, device=device, dtype=torch.float64)
    expect_close(student.quadratic_grad(x), reference.quadratic_grad(x), what=tr("quadratic_grad(x) for a "
                 "(3, 4) float64 x"), rtol=1e-7, atol=1e-7, hint=AUTOGRAD_HINT)

    x = _randn(1002, 7, device=device).requires_grad_(True)
    x_remote = student.put(x)
    got = student.quadratic_grad(x_remote)
    expect_close(got, reference.quadratic_grad(x), what=tr("quadratic_grad(x) for an x with requires_grad=True"),
                 rtol=1e-5, atol=1e-5, hint=COPY_HINT)
    after = student.fetch(x_remote)
    expect_tensor(after, what=tr("the caller's x after quadratic_grad(x)"), shape=x.shape)
    if not after.requires_grad:
        fail("quadratic_grad(x) switched off requires_grad on the caller's x", COPY_HINT)
    # .grad is read both from the fetched tensor and as an attribute of the tensor in the sandbox
    if after.grad is not None or x_remote.get("grad") is not None:
        fail("quadratic_grad(x) left a .grad on the caller's x (which already required grad); "
             "the caller's tensor must be left as it was", COPY_HINT)
    expect_close(after, x, what=tr("the caller's x after quadratic_grad(x)"), check_device=False,
                 hint="quadratic_grad must not change the values of x in place")
