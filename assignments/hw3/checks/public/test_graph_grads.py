"""hw3 public checks: graph_grads on (4,) tensors."""

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


@pytest.mark.points(1)
def test_graph_grads_vectors(student, reference, device):
    """graph_grads: a dict with keys a, w1, w2, w3, w4 holding each gradient, for (4,) inputs"""
    inputs = [_randn(10 + i, 4, device=device) for i in range(5)]
    got = student.graph_grads(*inputs)
    if not isinstance(got, dict):
        fail(tr("graph_grads should return a dict, but returned {type}", type=type(got).__name__), HINT)
    if set(got) != set(KEYS):
        fail(tr("graph_grads returned the keys {keys}; expected exactly {expected}",
                keys=sorted(map(str, got)), expected=list(KEYS)),
             "use the names of the inputs as the keys: 'a', 'w1', 'w2', 'w3', 'w4'")
    want = reference.graph_grads(*inputs)
    for key in KEYS:
        expect_close(got[key], want[key], what=f"graph_grads(...)[{key!r}]", rtol=1e-5, atol=1e-5,
                     show_expected=True, hint=HINT)
