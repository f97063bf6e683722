"""hw3 public checks: quadratic_grad and quadratic_grad_by_hand."""

import pytest
import torch

from grader.assertions import expect_close, expect_tensor, fail
from grader.i18n import tr

AUTOGRAD_HINT = ("make x a leaf that requires grad, build y = (x**2 + 5*x).sum(), call y.backward() "
                 "on that scalar, then return x.grad")
COPY_HINT = ("work on a copy: x = x.detach().clone().requires_grad_(True) before you compute, "
             "so the caller's tensor is never touched")
BY_HAND_HINT = "d/dx (x**2 + 5x) = 2x + 5; compute it from x.detach() (or inside torch.no_grad())"


def _randn(seed, *shape, device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


@pytest.mark.points(1)
def test_quadratic_grad_values(student, reference, device):
    """quadratic_grad: the gradient of sum(x**2 + 5x) for a (5,) tensor"""
    x = _randn(0, 5, device=device)
    got = student.quadratic_grad(x)
    expect_close(got, reference.quadratic_grad(x), what="quadratic_grad(x)", rtol=1e-5, atol=1e-5,
                 show_expected=True, hint=AUTOGRAD_HINT)


@pytest.mark.points(1)
def test_quadratic_grad_leaves_x_alone(student, reference, device):
    """quadratic_grad: the caller's x is left as it was (no requires_grad, no .grad, same values)"""
    x = _randn(1, 6, device=device)
    x_remote = student.put(x)
    got = student.quadratic_grad(x_remote)
    expect_tensor(got, what="quadratic_grad(x)", shape=x.shape, hint=AUTOGRAD_HINT)
    after = student.fetch(x_remote)
    expect_tensor(after, what=tr("the caller's x after quadratic_grad(x)"), shape=x.shape)
    if after.requires_grad:
        fail("quadratic_grad(x) switched on requires_grad on the caller's x; the caller's tensor "
             "must be left as it was", COPY_HINT)
    # .grad is read both from the fetched tensor and as an attribute of the tensor in the sandbox
    if after.grad is not None or x_remote.get("grad") is not None:
        fail("quadratic_grad(x) left a .grad on the caller's x; the caller's tensor must be left as it was",
             COPY_HINT)
    expect_close(after, x, what=tr("the caller's x after quadratic_grad(x)"), check_device=False,
                 show_expected=True, hint="quadratic_grad must not change the values of x in place")


@pytest.mark.points(1)
def test_quadratic_grad_by_hand(student, reference, device):
    """quadratic_grad_by_hand: 2x + 5, with no graph behind it, also when x requires grad"""
    x = _randn(2, 5, device=device)
    got = student.quadratic_grad_by_hand(x)
    expect_close(got, reference.quadratic_grad_by_hand(x), what="quadratic_grad_by_hand(x)",
                 show_expected=True, hint=BY_HAND_HINT)
    if got.requires_grad:
        fail("quadratic_grad_by_hand(x) returned a tensor that requires grad", BY_HAND_HINT)

    x = _randn(3, 2, 3, device=device).requires_grad_(True)
    got = student.quadratic_grad_by_hand(x)
    expect_close(got, reference.quadratic_grad_by_hand(x),
                 what=tr("quadratic_grad_by_hand(x) for an x with requires_grad=True"),
                 show_expected=True, hint=BY_HAND_HINT)
    if got.requires_grad:
        fail("quadratic_grad_by_hand(x) returned a tensor that requires grad when x requires grad: "
             "the result still hangs on x's graph", BY_HAND_HINT)
