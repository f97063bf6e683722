"""hw2's 13 checks (assignments/hw2/checks, public and hidden) as plain asserts, for the peers.

Each check makes the same inputs with the same seeds, calls the same student functions and
compares with the reference solution (reference_solutions/hw2.py, defined in the test code
itself, as nbgrader's hidden tests and otter's test files hold their expected answers) at the
same tolerances, with the same points (10 in all). What they leave out is our feedback: hints,
translated messages, the index of the largest difference. ``PRELUDE`` defines the helpers and
the reference as ``_ref``; each body reads the student's functions from ``env``, the notebook's
global namespace.
"""

from __future__ import annotations

import textwrap

from benchlib.notebooks import REFERENCE

HELPERS = '''
import torch

def _close(got, want, rtol=1e-5, atol=1e-6):  # grader.assertions.expect_close's defaults
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}"
    assert got.shape == want.shape, f"shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    assert got.dtype == want.dtype, f"dtype {got.dtype}, expected {want.dtype}"
    assert torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False), "values differ"

def _rows_sum_to_one(got):
    # as grader.assertions.expect_rows_sum_to_one: summed in float64, within 1e-4
    assert bool(((got.double().sum(dim=1) - 1).abs() <= 1e-4).all()), "rows do not sum to 1"

def _finite(got):
    assert bool(torch.isfinite(got).all()), "nan or inf in the result"

def _net(dtype=torch.float32, scale=0.3, draw64=True):
    if draw64:  # the public checks draw in the dtype
        return (torch.randn(784, 256, dtype=dtype) * 0.05, torch.randn(256, dtype=dtype) * 0.1,
                torch.randn(256, 10, dtype=dtype) * scale, torch.randn(10, dtype=dtype) * 0.5)
    return (torch.randn(784, 256).to(dtype) * 0.05, torch.randn(256).to(dtype) * 0.1,
            torch.randn(256, 10).to(dtype) * scale, torch.randn(10).to(dtype) * 0.5)
'''

# (name, points, hidden, body)
CHECKS: list[tuple[str, float, bool, str]] = [
    ("sigmoid_values", 1.5, False, '''
        torch.manual_seed(0); x = torch.randn(5, 6) * 3
        _close(env["sigmoid"](x), _ref.sigmoid(x))'''),
    ("softmax_rows_sum_to_one", 0.5, False, '''
        torch.manual_seed(1); logits = torch.randn(4, 10)
        got = env["softmax"](logits); assert got.shape == (4, 10); _rows_sum_to_one(got)'''),
    ("softmax_values", 1.0, False, '''
        torch.manual_seed(1); logits = torch.randn(4, 10) * 2
        _close(env["softmax"](logits), _ref.softmax(logits))'''),
    ("forward_by_hand_shape", 0.5, False, '''
        torch.manual_seed(2); images = torch.rand(4, 1, 28, 28); W1, b1, W2, b2 = _net()
        got = env["forward_by_hand"](images, W1, b1, W2, b2)
        assert got.shape == (4, 10) and got.dtype == torch.float32'''),
    ("forward_by_hand_values", 1.5, False, '''
        torch.manual_seed(3); images = torch.rand(4, 1, 28, 28); W1, b1, W2, b2 = _net()
        _close(env["forward_by_hand"](images, W1, b1, W2, b2), _ref.forward_by_hand(images, W1, b1, W2, b2),
               rtol=1e-4, atol=1e-4)'''),
    ("predict_proba", 1.0, False, '''
        torch.manual_seed(4); images = torch.rand(4, 1, 28, 28); W1, b1, W2, b2 = _net()
        got = env["predict_proba"](images, W1, b1, W2, b2)
        assert got.shape == (4, 10); _rows_sum_to_one(got)
        _close(got, _ref.predict_proba(images, W1, b1, W2, b2), rtol=1e-4, atol=1e-5)'''),
    ("sigmoid_large_magnitudes", 1.0, True, '''
        torch.manual_seed(20)
        for x in (torch.tensor([-1000.0, -500.0, -100.0, -20.0, 0.0, 20.0, 100.0, 500.0, 1000.0]),
                  (torch.rand(2, 3, 4, dtype=torch.float64) * 2 - 1) * 1000):
            got = env["sigmoid"](x); _finite(got); _close(got, _ref.sigmoid(x))'''),
    ("softmax_large_logits", 0.5, True, '''
        torch.manual_seed(21)
        for logits in (torch.tensor([[1000.0, 999.0, 0.0], [-1000.0, -999.0, -1000.0], [1000.0, 1000.0, 1000.0]]),
                       torch.randn(6, 10) * 1000):
            got = env["softmax"](logits); _finite(got); _rows_sum_to_one(got)
            _close(got, _ref.softmax(logits), rtol=1e-3, atol=1e-4)'''),
    ("softmax_odd_shapes_float64", 0.5, True, '''
        torch.manual_seed(22)
        for logits in (torch.randn(1, 5), torch.randn(7, 3, dtype=torch.float64) * 4,
                       torch.tensor([[0.0, 3.0], [1.0, -2.0]])):
            _close(env["softmax"](logits), _ref.softmax(logits), rtol=1e-5,
                   atol=1e-6 if logits.dtype == torch.float32 else 1e-12)'''),
    ("forward_by_hand_flat_inputs", 0.5, True, '''
        torch.manual_seed(23); images = torch.rand(5, 784); W1, b1, W2, b2 = _net(draw64=False)
        _close(env["forward_by_hand"](images, W1, b1, W2, b2), _ref.forward_by_hand(images, W1, b1, W2, b2),
               rtol=1e-4, atol=1e-4)'''),
    ("forward_by_hand_float64_single_image", 0.5, True, '''
        torch.manual_seed(24); W1, b1, W2, b2 = _net(torch.float64, draw64=False)
        for batch in (3, 1):
            images = torch.rand(batch, 1, 28, 28, dtype=torch.float64)
            _close(env["forward_by_hand"](images, W1, b1, W2, b2), _ref.forward_by_hand(images, W1, b1, W2, b2),
                   rtol=1e-9, atol=1e-10)'''),
    ("predict_proba_flat_float64", 0.5, True, '''
        torch.manual_seed(25); images = torch.rand(7, 784, dtype=torch.float64)
        W1, b1, W2, b2 = _net(torch.float64, draw64=False)
        got = env["predict_proba"](images, W1, b1, W2, b2); _rows_sum_to_one(got)
        _close(got, _ref.predict_proba(images, W1, b1, W2, b2), rtol=1e-9, atol=1e-12)'''),
    ("predict_proba_large_logits", 0.5, True, '''
        torch.manual_seed(26); images = torch.rand(6, 1, 28, 28); W1, b1, W2, b2 = _net(scale=60.0, draw64=False)
        got = env["predict_proba"](images, W1, b1, W2, b2); _finite(got); _rows_sum_to_one(got)
        _close(got, _ref.predict_proba(images, W1, b1, W2, b2), rtol=1e-3, atol=1e-4)'''),
]


def prelude() -> str:
    """The helpers and the reference solution as the module-like object ``_ref``."""
    reference = REFERENCE.read_text()
    return (HELPERS + "\nimport types as _types\n_ref = _types.ModuleType('_ref')\n"
            f"exec(compile({reference!r}, 'reference_hw2', 'exec'), _ref.__dict__)\n")


def body(check: tuple[str, float, bool, str]) -> str:
    return textwrap.dedent(check[3]).strip("\n")


def total_points() -> float:
    return sum(points for _, points, _, _ in CHECKS)
