"""hw3 hidden checks: graph_grads on (3, 5) float64 inputs and on inputs that already require grad."""

import pytest
import torch

from grader.assertions import expect_close, fail
from grader.i18n import tr

KEYS = ("a", "w1", "w2", "w3", "w4")
HINT = ("L = sum(10 - (w3*(w1*a) + w4*(w2*a))): make each input a leaf that requires grad, call "
        "L.backward() on the scalar L, and read each input's .grad (every gradient carries the minus sign)")


def _randn(seed, *shape, device, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype).to(device)


def _check(student, reference, inputs, label):
    got = student.graph_grads(*inputs)
    if not isinstance(got, dict):
        fail(tr("graph_grads should return a dict, but returned {type}", type=type(got).__name__), HINT)
    if set(got) != set(KEYS):
        fail(tr("graph_grads returned the keys {keys}; expected exactly {expected}", keys=sorted(map(str, got)),
                expected=list(KEYS)))
    want = reference.graph_grads(*inputs)
    for key in KEYS:
        expect_close(got[key], want[key], what=tr("graph_grads(...)[{key}] ({label})", key=repr(key), label=label),
                     rtol=1e-5, atol=1e-6, hint=HINT)


@pytest.mark.points(1)
def test_graph_grads_hidden(student, reference, device):
    """graph_grads: (3, 5) float64 inputs, and (2, 3) inputs that already require grad"""
    inputs = [_randn(1200 + i, 3, 5, device=device, dtype=torch.float64) for i in range(5)]
    _check(student, reference, inputs, tr("(3, 5) float64 inputs"))
    inputs = [_randn(1210 + i, 2, 3, device=device).requires_grad_(True) for i in range(5)]
    _check(student, reference, inputs, tr("(2, 3) inputs with requires_grad=True"))
