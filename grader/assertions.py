"""Assertions for checks, with messages a student can act on.

Every helper raises :class:`CheckFailed` with a message that names what differs
(type, shape, dtype, device, the largest difference and where, rows that do not sum
to one) and the student's own value, never the expected value unless the check asks
for it with ``show_expected=True`` (public checks on public inputs only).

It also carries a ``student_message``: what a student may read when the check is hidden,
built only from facts about the student's own result that do not depend on the check's
inputs or expected values (its type, shape, dtype, device), never a value, a difference,
an index or text the student's code produced. The check's own labels (``what``) and hints
are the author's words and appear in both.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from grader import hints
from grader.i18n import tr


class CheckFailed(AssertionError):
    """A check's verdict on a result; the message and the hint are shown in the student's language.

    ``student_message``: the safe text for a hidden check (see the module's docstring); None when
    the check gave none, and then a hidden check shows only that it failed (and the hint).
    """

    def __init__(self, message: str, hint: str | None = None, student_message: str | None = None):
        self.hint = tr(hint) if hint else None
        suffix = "\n" + tr("Hint: {hint}", hint=self.hint) if self.hint else ""
        self.student_message = tr(student_message) + suffix if student_message is not None else None
        super().__init__(tr(message) + suffix)


class PartialCredit(CheckFailed):
    """A check's verdict that earns a share of its points: ``fraction`` in [0, 1] and the reason for the rest."""

    def __init__(self, fraction: float, reason: str, hint: str | None = None, student_message: str | None = None):
        self.fraction = min(max(float(fraction), 0.0), 1.0) if math.isfinite(float(fraction)) else 0.0
        share = f"{self.fraction:.0%}"
        super().__init__(tr("partial credit ({share}): {reason}", share=share, reason=tr(reason)), hint,
                         # the share is in the score; a hidden check's text does not repeat a number from its inputs
                         tr("partial credit: {reason}", reason=tr(student_message))
                         if student_message is not None else None)


def score(fraction: float, reason: str, hint: str | None = None, student_message: str | None = None) -> None:
    """End the check with ``fraction`` of its points; ``reason`` says what the rest was lost for.

    A hidden check shows ``student_message`` (what is safe to say) in place of the reason."""
    raise PartialCredit(fraction, reason, hint, student_message)


def _a(name: str) -> str:
    return tr("an {name}", name=name) if name[:1].lower() in "aeiou" else tr("a {name}", name=name)


def fail(message: str, hint: str | None = None, student_message: str | None = None) -> None:
    raise CheckFailed(message, hint, student_message)


def _fail_seen(message: str, hint: str | None, student_message: str | None,
               seen: "hints.Observation | None") -> None:
    """``fail``, with the hint the student's result calls for in place of the check's, where there is one.
    A hidden check's student message gets it only when it was read from the student's own result."""
    if seen is None:
        fail(message, hint, student_message)
    error = CheckFailed(message, seen.hint, student_message if seen.safe else None)
    if not seen.safe and student_message is not None:
        error.student_message = CheckFailed(message, hint, student_message).student_message
    raise error


def describe_value(value: Any, limit: int = 6) -> str:
    """A short description of a student's value: type, shape, dtype and a few numbers."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().reshape(-1)
        shown = ", ".join(_format_number(x) for x in flat[:limit].tolist())
        more = ", ..." if flat.numel() > limit else ""
        return tr("a tensor of shape {shape}, dtype {dtype} on {device}: [{values}]", shape=tuple(value.shape),
                  dtype=value.dtype, device=value.device, values=shown + more)
    if isinstance(value, (list, tuple)):
        return tr("a {type} of {count} items", type=type(value).__name__, count=len(value))
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}" if len(text) <= 80 else f"{type(value).__name__} {text[:77]}..."


def describe_kind(value: Any) -> str:
    """What a student's value is, without any of its values: type, and a tensor's shape, dtype and device."""
    if isinstance(value, torch.Tensor):
        return tr("a tensor of shape {shape}, dtype {dtype} on {device}", shape=tuple(value.shape),
                  dtype=value.dtype, device=value.device)
    if isinstance(value, (list, tuple)):
        return tr("a {type} of {count} items", type=type(value).__name__, count=len(value))
    if is_remote(value):  # its class name is the student's to choose
        return tr("an object that stays in the sandbox")
    return _a(type(value).__name__)


def _wrong_kind(what: str, kind: str, value: Any, hint: str | None, seen: "hints.Observation | None" = None) -> None:
    _fail_seen(tr("{what} should return {kind}, but returned {value}", what=what, kind=kind,
                  value=describe_value(value)),
               hint, tr("{what} should return {kind}, but returned {value}", what=what, kind=kind,
                        value=describe_kind(value)), seen)


def _format_number(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def expect_type(value: Any, expected: type | tuple[type, ...], *, what: str, hint: str | None = None) -> None:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        _wrong_kind(what, _a(tr(" or ").join(t.__name__ for t in types)), value, hint,
                    hints.of_kind(value, none=False) if tuple not in types else None)


def expect_tensor(value: Any, *, what: str, shape: Sequence[int] | None = None,
                  dtype: torch.dtype | None = None, device: torch.device | str | None = None,
                  hint: str | None = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        _wrong_kind(what, _a("torch.Tensor"), value, hint, hints.of_kind(value))
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(tr("{what}: shape is {shape}, expected {expected}", what=what, shape=tuple(value.shape),
                expected=tuple(shape)), hint,
             tr("{what}: your result has shape {shape}, not the expected shape", what=what,
                shape=tuple(value.shape)))
    if dtype is not None and value.dtype != dtype:
        fail(tr("{what}: dtype is {dtype}, expected {expected}", what=what, dtype=value.dtype, expected=dtype), hint,
             tr("{what}: your result has dtype {dtype}, not the expected dtype", what=what, dtype=value.dtype))
    if device is not None and not _same_device(value.device, torch.device(device)):
        message = tr("{what}: your result is on {device}, the input was on {expected}", what=what,
                     device=value.device, expected=torch.device(device))
        fail(message, hint, message)  # where the input was is no secret
    return value


def _same_device(a: torch.device, b: torch.device) -> bool:
    if a.type != b.type:
        return False
    return a.index is None or b.index is None or a.index == b.index


def expect_close(actual: Any, expected: Any, *, what: str, rtol: float = 1e-5, atol: float = 1e-6,
                 check_dtype: bool = True, check_device: bool = True, show_expected: bool = False,
                 hint: str | None = None) -> None:
    """Compare a tensor (or a number, or a tuple/list of them) with the expected one."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            _wrong_kind(what, tr("a {type} of {count} items", type=type(expected).__name__, count=len(expected)),
                        actual, hint)
        for index, (got, want) in enumerate(zip(actual, expected)):
            expect_close(got, want, what=f"{what}[{index}]", rtol=rtol, atol=atol, check_dtype=check_dtype,
                         check_device=check_device, show_expected=show_expected, hint=hint)
        return
    if isinstance(expected, torch.Tensor):
        expect_tensor(actual, what=what, shape=expected.shape, dtype=expected.dtype if check_dtype else None,
                      device=expected.device if check_device else None, hint=hint)
        _compare_values(actual, expected, what=what, rtol=rtol, atol=atol, show_expected=show_expected, hint=hint)
        return
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        expect_equal(actual, expected, what=what, show_expected=show_expected, hint=hint)
        return
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        _wrong_kind(what, _a("Python " + type(expected).__name__), actual, hint, hints.of_kind(actual, none=False))
    if not math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol) and not (
            math.isnan(actual) and math.isnan(expected)):
        shown = tr(", expected {expected}", expected=f"{expected:.6g}") if show_expected else ""
        fail(tr("{what} returned {value}{shown}; that is not the right value", what=what, value=f"{actual:.6g}",
                shown=shown), hint, _not_right(what))


def _compare_values(actual: torch.Tensor, expected: torch.Tensor, *, what: str, rtol: float, atol: float,
                    show_expected: bool, hint: str | None) -> None:
    got = actual.detach().to("cpu")
    want = expected.detach().to("cpu")
    if got.numel() == 0:
        return
    if not (got.is_floating_point() or got.is_complex()) and not (want.is_floating_point() or want.is_complex()):
        mismatch = got != want
        if not bool(mismatch.any()):
            return
        index = _unravel(int(mismatch.reshape(-1).nonzero()[0]), got.shape)
        count = int(mismatch.sum())
        shown = tr(", expected {expected}", expected=want[index].item()) if show_expected else ""
        fail(tr("{what}: {count} of {total} values are wrong; the first at index {index} is {value}{shown}",
                what=what, count=count, total=got.numel(), index=index, value=got[index].item(), shown=shown), hint,
             _values_wrong(what))
    got_f = got.to(torch.float64) if not got.is_complex() else got.to(torch.complex128)
    want_f = want.to(torch.float64) if not want.is_complex() else want.to(torch.complex128)
    got_nan, want_nan = torch.isnan(got_f), torch.isnan(want_f)
    if bool((got_nan & ~want_nan).any()):
        index = _unravel(int((got_nan & ~want_nan).reshape(-1).nonzero()[0]), got.shape)
        fail(tr("{what}: your result has nan at index {index} ({count} nan values in all) where a number was "
                "expected", what=what, index=index, count=int((got_nan & ~want_nan).sum())), hint,
             tr("{what}: your result has nan where numbers were expected", what=what))
    if bool((torch.isinf(got_f) & ~torch.isinf(want_f)).any()):
        bad = torch.isinf(got_f) & ~torch.isinf(want_f)
        index = _unravel(int(bad.reshape(-1).nonzero()[0]), got.shape)
        fail(tr("{what}: your result has inf at index {index} where a finite number was expected", what=what,
                index=index), hint, tr("{what}: your result has inf where finite numbers were expected", what=what))
    # Where the reference is nan or ±inf only the same special value matches: no tolerance covers it.
    special = want_nan | torch.isinf(want_f)
    special_wrong = special & ~((got_nan & want_nan) | (got_f == want_f))
    if bool(special_wrong.any()):
        index = _unravel(int(special_wrong.reshape(-1).nonzero()[0]), got.shape)
        shown = tr(", expected {expected}", expected=_format_number(want[index].item())) if show_expected else ""
        fail(tr("{what}: {count} of {total} values are wrong; the first at index {index} is {value}{shown}",
                what=what, count=int(special_wrong.sum()), total=got.numel(), index=index,
                value=_format_number(got[index].item()), shown=shown), hint, _values_wrong(what))
    difference = (got_f - want_f).abs()
    difference = torch.where(special, torch.zeros_like(difference), difference)
    allowed = atol + rtol * want_f.abs()
    bad = difference > allowed
    if not bool(bad.any()):
        return
    flat_index = int(torch.argmax(torch.where(bad, difference, torch.zeros_like(difference))).item())
    index = _unravel(flat_index, got.shape)
    shown = tr(", expected {expected}", expected=_format_number(want[index].item())) if show_expected else ""
    _fail_seen(tr("{what}: {count} of {total} values differ; the largest difference is {difference} at index "
                  "{index}, where yours is {value}{shown}", what=what, count=int(bad.sum()), total=got.numel(),
                  difference=f"{float(difference.reshape(-1)[flat_index]):.4g}", index=index,
                  value=_format_number(got[index].item()), shown=shown), hint, _values_wrong(what),
               hints.of_values(got_f, want_f))


def _not_right(what: str) -> str:
    return tr("{what}: your result is not the right value", what=what)


def _values_wrong(what: str) -> str:
    return tr("{what}: some values of your result are wrong", what=what)


def _unravel(flat_index: int, shape: torch.Size) -> tuple[int, ...]:
    index = []
    for size in reversed(shape):
        index.append(flat_index % size)
        flat_index //= size
    return tuple(reversed(index))


def expect_equal(actual: Any, expected: Any, *, what: str, show_expected: bool = False,
                 hint: str | None = None) -> None:
    if type(actual) is not type(expected) and not (
            isinstance(actual, (int, float)) and isinstance(expected, (int, float))
            and not isinstance(actual, bool) and type(expected) is float):
        _wrong_kind(what, _a(type(expected).__name__), actual, hint)
    if actual != expected:
        shown = tr(", expected {expected}", expected=repr(expected)) if show_expected else ""
        fail(tr("{what} returned {value}{shown}; that is not the right value", what=what,
                value=describe_value(actual), shown=shown), hint, _not_right(what))


def expect_rows_sum_to_one(value: Any, *, what: str, dim: int = 1, atol: float = 1e-4,
                           hint: str | None = "did you sum over the right dim?") -> None:
    tensor = expect_tensor(value, what=what, hint=hint)
    sums = tensor.detach().to("cpu", torch.float64).sum(dim=dim)
    bad = (sums - 1).abs() > atol
    if bool(torch.isnan(sums).any()):
        message = tr("{what}: some rows contain nan, so they do not sum to 1", what=what)
        fail(message, hint, message)
    if bool(bad.any()):
        row = int(bad.reshape(-1).nonzero()[0])
        _fail_seen(tr("{what}: rows do not sum to 1 ({count} of {total}; row {row} sums to {sum})", what=what,
                      count=int(bad.sum()), total=sums.numel(), row=row, sum=f"{float(sums.reshape(-1)[row]):.4g}"),
                   hint, tr("{what}: rows of your result do not sum to 1", what=what),
                   hints.of_row_sums(tensor, dim, atol))


def expect_finite(value: Any, *, what: str, hint: str | None = None) -> None:
    tensor = expect_tensor(value, what=what, hint=hint)
    finite = torch.isfinite(tensor.detach().to("cpu"))
    if not bool(finite.all()):
        index = _unravel(int((~finite).reshape(-1).nonzero()[0]), tensor.shape)
        fail(tr("{what}: {count} values are nan or inf, the first at index {index}", what=what,
                count=int((~finite).sum()), index=index), hint,
             tr("{what}: your result has nan or inf values", what=what))


def is_remote(value: Any) -> bool:
    """Whether a student's result is an object that stayed in the sandbox (a module, an optimizer...)."""
    from grader.judge.proxy import Remote

    return isinstance(value, Remote)


def expect_on_device(result: Any, device: torch.device | str, *, what: str, hint: str | None = None) -> None:
    """Every tensor in ``result`` (a tensor, or a list, tuple or dict of them) is on ``device``,
    the device the check put its inputs on. On a CPU run nothing can be told apart: the
    assertion is skipped and the check's message says so."""
    from grader import notes

    device = torch.device(device)
    if device.type == "cpu":
        notes.add(tr("device check skipped: graded on cpu"))
        return
    found: list[tuple[str, torch.Tensor]] = []
    pending: list[tuple[str, Any]] = [("", result)]
    while pending:
        where, value = pending.pop(0)
        if isinstance(value, torch.Tensor):
            found.append((where, value))
        elif isinstance(value, (list, tuple)):
            pending.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, dict):
            pending.extend((f"{where}[{key!r}]", item) for key, item in value.items())
    devices = sorted({str(tensor.device) for _, tensor in found})
    if len(devices) > 1:
        message = tr("{what}: your results are on different devices ({devices}); the input was on {expected}",
                     what=what, devices=", ".join(devices), expected=device)
        fail(message, hint, message)
    for where, tensor in found:
        if not _same_device(tensor.device, device):
            fail(tr("{what}: your result is on {device}, the input was on {expected}", what=f"{what}{where}",
                    device=tensor.device, expected=device), hint,
                 # without ``where``: a dict's keys are the student's text
                 tr("{what}: your result is on {device}, the input was on {expected}", what=what,
                    device=tensor.device, expected=device))
