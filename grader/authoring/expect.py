"""The assertion behind an otter test case that ends with an expression: the student's value
must be the reference's (otter compares the printed output of the same expression)."""

from __future__ import annotations

import math
from typing import Any

import torch

from grader.assertions import describe_value, expect_close, fail
from grader.i18n import tr


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, torch.Tensor) or isinstance(got, torch.Tensor):
        return (isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.shape == want.shape
                and got.dtype == want.dtype and torch.allclose(got.cpu(), want.cpu(), rtol=1e-5, atol=1e-8,
                                                               equal_nan=True))
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(got) and math.isnan(want))
    if isinstance(want, (list, tuple)):
        return (type(got) is type(want) and len(got) == len(want)
                and all(_same(a, b) for a, b in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(_same(got[key], want[key]) for key in want))
    return type(got) is type(want) and got == want


def expect_same_output(got: Any, want: Any, *, what: str, show_expected: bool = False) -> None:
    if isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor) and got.dtype == want.dtype:
        expect_close(got, want, what=what, rtol=1e-5, atol=1e-8, check_device=False, show_expected=show_expected)
        return
    if not _same(got, want):
        shown = tr(", expected {expected}", expected=repr(want)) if show_expected else ""
        fail(tr("{what} gives {value}{shown}; that is not the expected output", what=what,
                value=describe_value(got), shown=shown))
