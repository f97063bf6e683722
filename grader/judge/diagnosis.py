"""What went wrong when the student's code raised: torch's message read against the inputs the check sent.

A student whose ``forward`` does ``x.view(64, 784)`` reads ``shape '[64, 784]' is invalid for input of
size 3136``; the trusted side knows it sent a batch of 4, so it can say what that means: "your code
assumed a batch of 64; this check sent a batch of 4". :func:`diagnose` turns an error (its type and
message, as the sandbox described it) and the facts of the check's arguments (shapes, dtypes,
devices: never values) into a :class:`Diagnosis`: the cause and the fix, in the student's language.

Each diagnosis has two causes. ``cause`` may quote numbers from the student's own error message (the
64 of ``view(64, 784)``). ``safe_cause`` is what a hidden check may show: built only from the error's
family and the arguments' shapes, dtypes and devices, nothing parsed out of the message, because the
message is text the student's code chose and could carry a hidden input's values.
"""

from __future__ import annotations

import math
import re
from itertools import islice
from typing import Any, Callable, Iterable, Sequence

import torch
from pydantic import BaseModel

from grader.i18n import tr

MAX_ARGUMENTS = 32


class ArgumentFacts(BaseModel, frozen=True):
    """What the check sent, as facts that reveal no value: each tensor argument's shape, dtype, device."""

    shapes: tuple[tuple[int, ...], ...] = ()
    dtypes: tuple[str, ...] = ()  # "float32", "float64", "int64", ...
    devices: tuple[str, ...] = ()

    @classmethod
    def of(cls, payload: Any) -> "ArgumentFacts":
        """The facts of every tensor in a call's arguments (lists, tuples and dicts are looked into)."""
        tensors = list(islice(_tensors(payload), MAX_ARGUMENTS))
        return cls(shapes=tuple(tuple(int(size) for size in t.shape) for t in tensors),
                   dtypes=tuple(str(t.dtype).removeprefix("torch.") for t in tensors),
                   devices=tuple(str(t.device) for t in tensors))

    def batch(self) -> int | None:
        """The batch size the check sent: the first size of the first argument with two or more dimensions."""
        return next((shape[0] for shape in self.shapes if len(shape) >= 2), None)

    def sizes(self) -> set[int]:
        return {size for shape in self.shapes for size in shape}


class Diagnosis(BaseModel, frozen=True):
    family: str  # hardcoded_batch, missing_keepdim, unflattened_input, transposed_matmul, matmul_shapes,
    #              broadcast, dtype, target_dtype, device, backward_non_scalar, backward_no_grad,
    #              backward_twice, inplace_leaf, numpy_requires_grad
    cause: str
    safe_cause: str  # for hidden checks: nothing taken from the error message
    fix: str


def _tensors(value: Any, depth: int = 0) -> Iterable[torch.Tensor]:
    if depth > 4:
        return
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item, depth + 1)


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ("," if len(shape) == 1 else "") + ")"


def _batch_fix() -> str:
    return tr("do not write the batch size into your code: take it from the input (x.shape[0]) or let "
              "view/reshape work it out with -1, e.g. x.view(x.shape[0], -1) or x.view(-1, 1).")


def _hardcoded_batch(assumed: int, batch: int) -> Diagnosis:
    return Diagnosis(
        family="hardcoded_batch",
        cause=tr("your code assumed a batch of {assumed}; this check sent a batch of {batch}", assumed=assumed,
                 batch=batch),
        safe_cause=tr("your code assumed a fixed batch size; this check sent a batch of {batch}", batch=batch),
        fix=_batch_fix())


# the rules: each reads one family of messages -----------------------------------------------------

_VIEW = re.compile(r"shape '\[([-\d, ]*)\]' is invalid for input of size (\d+)")
_BROADCAST = re.compile(r"The size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at "
                        r"non-singleton dimension (\d+)")
_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_BATCH_SIZES = re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)")
_DTYPE = re.compile(r"expected scalar type (\w+) but found (\w+)|expected m1 and m2 to have the same dtype"
                    r"|must have the same dtype|expected both vectors to have same dtype|Found dtype (\w+) but "
                    r"expected (\w+)|result type \w+ can't be cast to the desired output type"
                    r"|Input type \(\w+\) and bias type \(\w+\) should be the same", re.IGNORECASE)
_TARGET_DTYPE = re.compile(r"expected target dtype to be Long|\"\w+\" not implemented for '(Float|Double)'.*"
                           r"(nll|cross_entropy)|expected scalar type Long but found", re.IGNORECASE)
_DEVICE = re.compile(r"Expected all tensors to be on the same device|is not on the expected device"
                     r"|Expected object of device type|Input type \(torch\.(cuda\.)?\w+\) and weight type "
                     r"\(torch\.(cuda\.)?\w+\) should be the same|found at least two devices", re.IGNORECASE)


def _view_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    found = _VIEW.search(message)
    batch = facts.batch()
    if not found or batch is None:
        return None
    try:
        sizes = [int(part) for part in found.group(1).split(",") if part.strip()]
    except ValueError:
        return None
    total = int(found.group(2))
    if not sizes or sizes[0] in (-1, batch) or -1 in sizes[1:]:
        return None
    rest = math.prod(sizes[1:])
    if rest > 0 and total == batch * rest:  # the same view with the check's batch would have fit
        return _hardcoded_batch(sizes[0], batch)
    return None


def _broadcast_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    found = _BROADCAST.search(message)
    if not found:
        return None
    a, b, dimension = (int(group) for group in found.groups())
    batch = facts.batch()
    sizes = facts.sizes()
    # A row-wise sum without keepdim: (B, K) / (B,) lines B up against K, in the last dimension.
    for shape in facts.shapes:
        if len(shape) == 2 and shape[0] != shape[1] and {a, b} == set(shape) and dimension == 1:
            return Diagnosis(
                family="missing_keepdim",
                cause=tr("a row-wise result lost its dimension: for a ({rows}, {columns}) input, x.sum(dim=1) has "
                         "shape ({rows},), which lines up with the {columns} columns, not with the rows",
                         rows=shape[0], columns=shape[1]),
                safe_cause=tr("a row-wise result lost its dimension: for a ({rows}, {columns}) input, x.sum(dim=1) "
                              "has shape ({rows},), which lines up with the {columns} columns, not with the rows",
                              rows=shape[0], columns=shape[1]),
                fix=tr("keep the reduced dimension so each row is divided by its own value: "
                       "x.sum(dim=1, keepdim=True), x.max(dim=1, keepdim=True).values, or .view(-1, 1)."))
    if batch is not None and batch in (a, b) and dimension == 0:
        other = b if a == batch else a
        if other not in sizes:
            return _hardcoded_batch(other, batch)
    return Diagnosis(
        family="broadcast",
        cause=tr("two tensors whose shapes do not broadcast were combined element by element (sizes {a} and {b} in "
                 "dimension {dimension})", a=a, b=b, dimension=dimension),
        safe_cause=tr("two tensors whose shapes do not broadcast were combined element by element"),
        fix=tr("print the shapes of the tensors in that line (x.shape); element-wise operations need equal "
               "sizes, or 1, in each dimension."))


def _matmul_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    found = _MATMUL.search(message)
    if not found:
        return None
    rows, inner, rows2, columns2 = (int(group) for group in found.groups())
    for shape in facts.shapes:
        if len(shape) > 2 and shape[-1] == inner and math.prod(shape[:-1]) == rows:
            return Diagnosis(
                family="unflattened_input",
                cause=tr("a ({shape}) input was multiplied by a matrix without flattening it first",
                         shape=", ".join(map(str, shape))),
                safe_cause=tr("a ({shape}) input was multiplied by a matrix without flattening it first",
                              shape=", ".join(map(str, shape))),
                fix=tr("flatten each example first: x = x.reshape(x.shape[0], -1) turns (B, 1, 28, 28) into "
                       "(B, 784)."))
    if columns2 == inner and rows2 != inner:
        return Diagnosis(
            family="transposed_matmul",
            cause=tr("a matrix product got ({rows}x{inner}) @ ({rows2}x{columns2}): the second matrix looks "
                     "transposed", rows=rows, inner=inner, rows2=rows2, columns2=columns2),
            safe_cause=tr("a matrix product got a second matrix that looks transposed"),
            fix=tr("in a @ b the columns of a must equal the rows of b: use b.T, or swap the operands."))
    return Diagnosis(
        family="matmul_shapes",
        cause=tr("a matrix product got ({rows}x{inner}) @ ({rows2}x{columns2}): {inner} columns against {rows2} "
                 "rows", rows=rows, inner=inner, rows2=rows2, columns2=columns2),
        safe_cause=tr("a matrix product got matrices whose inner sizes differ"),
        fix=tr("in a @ b the columns of a must equal the rows of b; print a.shape and b.shape in that line."))


def _loss_batch_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    found = _BATCH_SIZES.search(message)
    batch = facts.batch()
    if not found or batch is None:
        return None
    a, b = int(found.group(1)), int(found.group(2))
    if batch in (a, b) and a != b:
        return _hardcoded_batch(b if a == batch else a, batch)
    return None


def _target_dtype_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    if not _TARGET_DTYPE.search(message):
        return None
    return Diagnosis(
        family="target_dtype",
        cause=tr("the class labels given to the loss are not int64 (torch.long)"),
        safe_cause=tr("the class labels given to the loss are not int64 (torch.long)"),
        fix=tr("cross_entropy and nll_loss take class indices as int64: pass y.long(), not floats or one-hot rows."))


def _dtype_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    if not _DTYPE.search(message):
        return None
    sent = sorted({dtype for dtype in facts.dtypes if dtype.startswith(("float", "bfloat"))})
    if "float64" in sent:
        cause = tr("this check sent float64 tensors, and your code combined them with float32 tensors")
        fix = tr("create new tensors with the input's dtype (dtype=x.dtype, torch.zeros_like(x)) and do not cast "
                 "the input with .float(); tensors made by torch.randn, torch.zeros or nn.Linear are float32 "
                 "unless told otherwise.")
    else:
        cause = tr("your code combined tensors of different dtypes in one operation (float32 with float64, or "
                   "floats with integers)")
        fix = tr("give every tensor in that line the input's dtype: dtype=x.dtype when creating one, or "
                 ".to(x.dtype).")
    return Diagnosis(family="dtype", cause=cause, safe_cause=cause, fix=fix)


def _device_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    if not _DEVICE.search(message):
        return None
    devices = sorted(set(facts.devices))
    if len(devices) == 1:
        cause = tr("your code combined tensors on different devices; this check sent its inputs on {device}",
                   device=devices[0])
    else:
        cause = tr("your code combined tensors on different devices")
    return Diagnosis(family="device", cause=cause, safe_cause=cause,
                     fix=tr("create new tensors on the input's device (device=x.device, torch.zeros_like(x)) and "
                            "move models with model.to(x.device); never write \"cuda\" or \"cpu\" into your code."))


def _autograd_rule(message: str, facts: ArgumentFacts) -> Diagnosis | None:
    def same(family: str, cause: str, fix: str) -> Diagnosis:
        return Diagnosis(family=family, cause=cause, safe_cause=cause, fix=fix)

    if "grad can be implicitly created only for scalar outputs" in message:
        return same("backward_non_scalar",
                    tr(".backward() was called on a tensor with more than one element"),
                    tr("reduce it to a single number first (y.sum().backward() or loss.mean()), or pass "
                       "gradient=torch.ones_like(y)."))
    if "does not require grad and does not have a grad_fn" in message:
        return same("backward_no_grad",
                    tr(".backward() (or autograd.grad) found nothing to differentiate: the result was not computed "
                       "from a tensor that requires grad"),
                    tr("make the input a leaf that requires grad (x = x.detach().clone().requires_grad_(True)) "
                       "before computing with it, and do not compute under torch.no_grad() or through .item(), "
                       ".detach() or .numpy()."))
    if "backward through the graph a second time" in message:
        return same("backward_twice",
                    tr("the same graph was differentiated twice"),
                    tr("compute the forward pass again before each .backward(), or pass retain_graph=True to the "
                       "first one."))
    if "leaf Variable that requires grad is being used in an in-place operation" in message:
        return same("inplace_leaf",
                    tr("a tensor that requires grad was changed in place (+=, add_, x[...] = ...)"),
                    tr("update weights inside with torch.no_grad():, or compute a new tensor (w = w - lr * grad)."))
    if "Can't call numpy() on Tensor that requires grad" in message:
        return same("numpy_requires_grad",
                    tr(".numpy() was called on a tensor that requires grad"),
                    tr("call .detach() first (x.detach().numpy()), or use .item() for a single number."))
    return None


RULES: tuple[Callable[[str, ArgumentFacts], Diagnosis | None], ...] = (
    _view_rule, _loss_batch_rule, _matmul_rule, _broadcast_rule, _target_dtype_rule, _dtype_rule, _device_rule,
    _autograd_rule)


def diagnose(error_type: str, message: str, facts: ArgumentFacts | None = None) -> Diagnosis | None:
    """The diagnosis of an error the student's code raised, or None when no rule knows it.

    ``error_type`` and ``message`` come from the sandbox (the student's own exception, described there):
    the rules only read them; what a hidden check shows of the result is ``safe_cause``, never the message.
    """
    if not isinstance(message, str) or not message:
        return None
    facts = facts or ArgumentFacts()
    first = message[:2000]
    for rule in RULES:
        found = rule(first, facts)
        if found is not None:
            return found
    return None


__all__ = ["ArgumentFacts", "Diagnosis", "diagnose"]
