"""hw3 hidden checks: predict_no_grad on other shapes and float64."""

import pytest
import torch

from grader.assertions import expect_close, expect_tensor, fail

HINT = "compute x @ w inside a `with torch.no_grad():` block"


def _randn(seed, *shape, device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


@pytest.mark.points(1)
def test_predict_no_grad_hidden(student, reference, device):
    """predict_no_grad: (7, 10) @ (10, 4) in float64, w requiring grad"""
    w = _randn(1301, 10, 4, device=device, dtype=torch.float64).requires_grad_(True)
    x = _randn(1302, 7, 10, device=device, dtype=torch.float64)
    got = student.predict_no_grad(w, x)
    expect_tensor(got, what="predict_no_grad(w, x)", shape=(7, 4), hint="the result is x @ w")
    if got.requires_grad:
        fail("predict_no_grad(w, x) returned a tensor that requires grad: a graph was built", HINT)
    expect_close(got, reference.predict_no_grad(w, x), what="predict_no_grad(w, x)", rtol=1e-7, atol=1e-7,
                 hint="the result is x @ w")
