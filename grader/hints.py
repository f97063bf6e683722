"""Hints chosen from what the student's result shows, not from the check that caught it.

A check's own hint is written for the mistake its author expected; the result often shows a different
one (a softmax normalised over dim 0 meets a hint about sigmoid). Each function here reads the student's
result, and sometimes the expected one, and returns an :class:`Observation` when the result names its
mistake: a ``None`` (no ``return``), a tuple where one value was due, columns (not rows) summing to 1,
the whole batch summing to 1, a transposed result, probabilities where logits were due. The assertions
(``grader.assertions``) put it in place of the check's hint.

``safe``: built from the student's own result alone (its type, how its own values sum), so a hidden check
may show it; an observation that compares with the expected values is for public checks only.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel

from grader.i18n import tr


class Observation(BaseModel, frozen=True):
    hint: str
    safe: bool


def of_kind(value: Any, none: bool = True) -> Observation | None:
    """A result of the wrong kind that says why: ``None`` (unless ``none`` is False) or a tuple where one
    value was due."""
    if value is None and none:
        return Observation(safe=True, hint=tr("your function returned None: it has no return statement, or returns "
                                              "before its result is computed; end it with return <result>."))
    if isinstance(value, tuple):
        return Observation(safe=True, hint=tr("your function returned a tuple of {count} items where one value was "
                                              "due: return only that value (return a, b or a trailing comma makes "
                                              "a tuple).", count=len(value)))
    return None


def of_row_sums(tensor: torch.Tensor, dim: int = 1, atol: float = 1e-4) -> Observation | None:
    """Rows that do not sum to 1, read for the mistake: the columns do, or the whole result does."""
    if tensor.dim() != 2 or tensor.numel() == 0 or dim not in (1, -1):
        return None
    values = tensor.detach().to("cpu", torch.float64)
    if tensor.shape[0] > 1 and bool(((values.sum(dim=0) - 1).abs() <= atol).all()):
        return Observation(safe=True, hint=tr("each column of your result sums to 1, not each row: you normalised "
                                              "over dim 0 (across the batch); use dim=1, e.g. "
                                              "x.sum(dim=1, keepdim=True)."))
    if tensor.shape[0] > 1 and abs(float(values.sum()) - 1) <= atol:
        return Observation(safe=True, hint=tr("your whole result sums to 1: you divided by the sum over the whole "
                                              "batch; divide each row by its own sum: x.sum(dim=1, keepdim=True)."))
    return None


def of_values(actual: torch.Tensor, expected: torch.Tensor) -> Observation | None:
    """Wrong values that show how they went wrong: transposed, or squashed into probabilities."""
    if actual.shape != expected.shape or actual.numel() < 2 or not actual.is_floating_point():
        return None
    got = actual.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if not (bool(torch.isfinite(got).all()) and bool(torch.isfinite(want).all())):
        return None
    if got.dim() == 2 and got.shape[0] == got.shape[1] and got.shape[0] > 1 \
            and torch.allclose(got, want.T, rtol=1e-4, atol=1e-5):
        return Observation(safe=False, hint=tr("your result is the transpose of the right one: swap the operands of "
                                               "the matrix product, or drop a .T."))
    in_unit = bool(((got >= 0) & (got <= 1)).all())
    if in_unit and not bool(((want >= 0) & (want <= 1)).all()):
        return Observation(safe=False, hint=tr("every value of your result lies between 0 and 1, as if an activation "
                                               "(sigmoid or softmax) were applied at the end: return the raw outputs."))
    return None


__all__ = ["Observation", "of_kind", "of_row_sums", "of_values"]
