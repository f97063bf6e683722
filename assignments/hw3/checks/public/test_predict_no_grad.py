"""hw3 public checks: predict_no_grad."""

import pytest
import torch

from grader.assertions import expect_close, expect_tensor, fail

HINT = "compute x @ w inside a `with torch.no_grad():` block"


def _randn(seed, *shape, device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


@pytest.mark.points(1)
def test_predict_no_grad(student, reference, device):
    """predict_no_grad: x @ w for a w that requires grad, and the result does not require grad"""
    w = _randn(20, 5, 3, device=device).requires_grad_(True)
    x = _randn(21, 4, 5, device=device)
    got = student.predict_no_grad(w, x)
    expect_tensor(got, what="predict_no_grad(w, x)", shape=(4, 3), hint="the result is x @ w: (4, 5) @ (5, 3)")
    if got.requires_grad:
        fail("predict_no_grad(w, x) returned a tensor that requires grad: a graph was built", HINT)
    expect_close(got, reference.predict_no_grad(w, x), what="predict_no_grad(w, x)", rtol=1e-5, atol=1e-5,
                 show_expected=True, hint="the result is x @ w (note the order of the arguments: w first)")
