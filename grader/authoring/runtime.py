"""What the checks written from nbgrader's and otter's tests use on the trusted side.

- :func:`student_callable`: the student's function through the proxy, raising, when the student's
  code raises a built-in exception, an exception of that type, so a test's ``except ValueError:``
  or ``assert_raises(ValueError, ...)`` works as it did in the student's kernel;
- :func:`expect_same_output`: an otter test case that ends with an expression passes when the
  student's value is the reference's (otter compares the printed output of the same expression).
"""

from __future__ import annotations

import builtins
import math
import re
from typing import Any, Callable

import torch

from grader.assertions import describe_value, expect_close, fail, is_remote
from grader.i18n import tr
from grader.judge.proxy import StudentCodeError, StudentCodeFailed

# Not raised as themselves: the BaseExceptions a check must not see from the student, and the iteration
# protocol's, which map(), filter(), zip() and iter(f, sentinel) in a test would take as "no more items"
# (all(map(check, cases)) of a student's function that only raises StopIteration would pass).
_NOT_RAISED_AS = {"SystemExit", "KeyboardInterrupt", "GeneratorExit", "BaseException", "StopIteration",
                  "StopAsyncIteration"}
_as_student_failure: dict[str, type] = {}


def _failure_type(name: str) -> type:
    """The exception type an authored test's code meets for a failure of the student's code: the built-in
    ``name`` and a StudentCodeError (its message stays the proxy's, and the judge treats an uncaught one as
    the student's code failing); a plain StudentCodeError for anything else (a missing name, a timeout, a
    crash, a class of the student's own)."""
    builtin = getattr(builtins, name, None)
    if name in _NOT_RAISED_AS or not (isinstance(builtin, type) and issubclass(builtin, BaseException)):
        return StudentCodeError
    if name not in _as_student_failure:
        try:
            _as_student_failure[name] = type(name, (builtin, StudentCodeError), {})
        except TypeError:  # a built-in whose layout cannot be combined (OSError and its kind)
            _as_student_failure[name] = StudentCodeError
    return _as_student_failure[name]


def _raised_as_student_did(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except StudentCodeFailed as failure:
        raised = _failure_type(getattr(failure, "student_error_type", None) or "")(str(failure))
        raised.__dict__.update(failure.__dict__)  # the proxy's diagnosis, what and error type go with it
        raise raised from None


_student: list[Any] = [None]  # the check's student proxy, for sending numpy arrays


def use_student(student: Any) -> None:
    """The proxy a check of nbgrader's or otter's tests sends data through (its first line)."""
    _student[0] = student


def _numpy_to_student(array: Any) -> Any:
    """A numpy array of the trusted side as a numpy array in the sandbox: sent as a tensor, made numpy there."""
    if _student[0] is None or array.dtype.kind not in "biufc":
        raise TypeError(f"a numpy array of dtype {array.dtype} cannot be sent to the student's code")
    import numpy

    tensor = torch.from_numpy(numpy.ascontiguousarray(array).copy())
    return _student[0].put(tensor).call("numpy")


_NUMPY_SCALARS = re.compile(r"^numpy\.(bool_?|u?int(8|16|32|64)|float(16|32|64)|complex(64|128)|longlong|ulonglong|"
                            r"intc|uintc|double|single|half|longdouble)$")


def _numpy_from_student(remote: Any) -> Any:
    """A student's numpy array or scalar as the same numpy value here (read as data: tolist and dtype)."""
    import numpy

    dtype = remote.get("dtype").call("__str__")
    if not isinstance(dtype, str) or numpy.dtype(dtype).kind not in "biufc":
        return None
    if remote.type_name == "numpy.ndarray":
        return numpy.array(remote.call("tolist"), dtype=dtype).reshape(tuple(remote.get("shape")))
    return numpy.array(remote.call("item"), dtype=dtype)[()]


def _unwrap(value: Any) -> Any:
    if isinstance(value, StudentObject):
        return value._remote
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        return _numpy_to_student(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()  # a numpy scalar (np.int64(3)) as the Python number it holds
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item) for key, item in value.items()}
    return value


def student_value(value: Any) -> Any:
    """Data as it came back; a numpy array or scalar as numpy; any other object that stayed in the sandbox,
    as a :class:`StudentObject`."""
    if is_remote(value):
        name = getattr(value, "type_name", "")
        if name == "numpy.ndarray" or _NUMPY_SCALARS.match(name):
            try:
                converted = _numpy_from_student(value)
            except (StudentCodeFailed, TypeError, ValueError, AttributeError):
                converted = None
            if converted is not None:
                return converted
        return StudentObject(value)
    if type(value) in (list, tuple):
        return type(value)(student_value(item) for item in value)
    if type(value) is dict:
        return {key: student_value(item) for key, item in value.items()}
    return value


class StudentObject:
    """An object of the student's that stays in the sandbox (a model, a bound method): a test reads its
    attributes and calls it as it would in the kernel, each step one request through the proxy."""

    def __init__(self, remote: Any):
        self._remote = remote

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return student_value(_raised_as_student_did(self._remote.get, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return student_value(_raised_as_student_did(self._remote, *_unwrap(args), **_unwrap(kwargs)))

    def __iter__(self):
        iterator = _raised_as_student_did(self._remote.call, "__iter__")
        while True:
            try:
                item = iterator.call("__next__") if is_remote(iterator) else next(iterator)
            except StopIteration:
                return
            except StudentCodeFailed as failure:
                if getattr(failure, "student_error_type", None) == "StopIteration":
                    return
                raise
            yield student_value(item)

    def __len__(self) -> int:
        try:
            return self._remote.call("__len__")
        except StudentCodeFailed as failure:
            if getattr(failure, "student_error_type", None) in ("AttributeError", "TypeError"):
                # no len(): what list(...) and len(...) expect to hear
                raise TypeError(f"object of type {self._remote.type_name!r} has no len()") from None
            raise

    def __getitem__(self, key: Any) -> Any:
        return student_value(_raised_as_student_did(self._remote.call, "__getitem__", _unwrap(key)))

    @property
    def __class__(self):  # isinstance(model, nn.Module): the trusted side's class nearest the student's
        return _trusted_class(self._remote)

    def __repr__(self) -> str:
        return repr(self._remote)


def _trusted_class(remote: Any) -> type:
    """The first class of the student's object's MRO that the trusted side has (torch's, the standard
    library's; never the student's own module), subclassed under the student's class name."""
    import importlib

    try:
        classes = remote.get("__class__").get("__mro__")
        for each in classes:
            module, name = each.get("__module__"), each.get("__qualname__")
            if not isinstance(module, str) or not isinstance(name, str) or module == "__main__":
                continue
            if module.split(".")[0] not in ("torch", "builtins", "collections", "numbers"):
                continue
            found = importlib.import_module(module)
            for part in name.split("."):
                found = getattr(found, part)
            if isinstance(found, type):
                if found is object:
                    break
                return type(getattr(remote, "type_name", name).rsplit(".", 1)[-1], (found,), {})
    except (StudentCodeFailed, ImportError, AttributeError, TypeError):
        pass
    return StudentObject


def student_callable(function: Callable[..., Any]) -> Callable[..., Any]:
    """The student's function (or class) through the proxy: objects passed to it and returned by it stay
    in the sandbox, and a built-in exception it raises is raised here as that type."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return student_value(_raised_as_student_did(function, *_unwrap(args), **_unwrap(kwargs)))

    call.__name__ = getattr(function, "__name__", "student_function")
    return call


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, torch.Tensor) or isinstance(got, torch.Tensor):
        return (isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.shape == want.shape
                and got.dtype == want.dtype and torch.allclose(got.cpu(), want.cpu(), rtol=1e-5, atol=1e-8,
                                                               equal_nan=True))
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(got) and math.isnan(want))
    if isinstance(want, (list, tuple)):  # a torch.Size comes back from a released bundle as a tuple
        same_kind = type(got) is type(want) or isinstance(got, tuple) and isinstance(want, tuple)
        return (same_kind and len(got) == len(want)
                and all(_same(a, b) for a, b in zip(got, want)))
    if isinstance(want, dict):
        return (isinstance(got, dict) and got.keys() == want.keys()
                and all(_same(got[key], want[key]) for key in want))
    return type(got) is type(want) and got == want


REPR = "__repr__"


def reference_output(value: Any) -> Any:
    """The reference's value of an otter case, as data: a value that is not data (a class, a module)
    is compared by what it prints, as otter compares outputs."""
    from grader.replay import NotData, encode

    try:
        encode(value)
        return value
    except NotData:
        return {REPR: repr(value)}


def _printed(value: Any) -> str:
    if isinstance(value, StudentObject):
        shown = _raised_as_student_did(value._remote.call, "__repr__")
        return shown if isinstance(shown, str) else ""
    return repr(value)


def expect_same_output(got: Any, want: Any, *, what: str, show_expected: bool = False) -> None:
    if isinstance(want, dict) and set(want) == {REPR}:
        printed = _printed(got)
        if printed != want[REPR]:
            shown = tr(", expected {expected}", expected=want[REPR]) if show_expected else ""
            fail(tr("{what} gives {value}{shown}; that is not the expected output", what=what,
                    value=printed[:300], shown=shown))
        return
    if isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor) and got.dtype == want.dtype:
        expect_close(got, want, what=what, rtol=1e-5, atol=1e-8, check_device=False, show_expected=show_expected)
        return
    if not _same(got, want):
        shown = tr(", expected {expected}", expected=repr(want)) if show_expected else ""
        fail(tr("{what} gives {value}{shown}; that is not the expected output", what=what,
                value=describe_value(got), shown=shown))


class failure_message:
    """``with failure_message(text):`` a failing test case says ``text`` first (otter's failure_message), the
    error after it; a hidden check shows students the text alone."""

    def __init__(self, text: str):
        self.text = text

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        from grader.assertions import CheckFailed

        detail = str(error).strip() or type(error).__name__
        raise CheckFailed(f"{self.text}\n{detail}", student_message=self.text) from None


_ENVIRONMENT_MODULES = {"numpy", "torch", "math", "random", "statistics", "collections", "itertools", "functools",
                        "pandas", "scipy", "re", "string"}


class student_environment:
    """``env`` of an exception-based otter test: the student's globals by name, as data (a function, a
    callable through the proxy; a module the student imported, the same module here)."""

    def __init__(self, student: Any):
        self._student = student

    def __getitem__(self, name: str) -> Any:
        if not isinstance(name, str):
            raise KeyError(name)
        value = self._student.get(name)
        if is_remote(value) and value.type_name == "module":
            module = _raised_as_student_did(value.get, "__name__")
            if isinstance(module, str) and module.split(".")[0] in _ENVIRONMENT_MODULES:
                import importlib

                return importlib.import_module(module)
        if is_remote(value) and value.type_name in ("function", "type", "builtin_function_or_method"):
            return student_callable(value)
        return student_value(value)

    def __contains__(self, name: str) -> bool:
        return isinstance(name, str) and self._student.has(name)

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default


class assignment_folder:
    """``with assignment_folder(__file__):`` the trusted side's working folder is, for a while, the assignment's
    (``checks/<visibility>/test_x.py``'s grandparent), where its support files are, as in the sandbox."""

    def __init__(self, check_file: str):
        from pathlib import Path

        self.folder = Path(check_file).resolve().parents[2]

    def __enter__(self) -> None:
        import os

        self.before = os.getcwd()
        os.chdir(self.folder)

    def __exit__(self, *exc) -> bool:
        import os

        os.chdir(self.before)
        return False


def _holds_student_objects(value: Any) -> bool:
    if isinstance(value, StudentObject) or is_remote(value):
        return True
    if type(value) in (list, tuple):
        return any(_holds_student_objects(item) for item in value)
    if type(value) is dict:
        return any(_holds_student_objects(item) for item in value.values())
    return False


def _made_in_the_sandbox(real: type, factory: str, always: bool) -> type:
    """``real`` (a torch.optim or torch.nn class) that a converted test makes in the student's process
    (``factory``): an optimizer given the student's parameters (it must update the student's tensors, not
    copies here), and, ``always``, a layer or loss (the student's code it is handed to can only take
    objects of its own process, and its changes to it must be seen)."""

    class SameClassForChecks(type(real)):  # isinstance(x, nn.Linear) asks about torch's class, as in the kernel
        def __instancecheck__(cls, value: Any) -> bool:
            return isinstance(value, real)

        def __subclasscheck__(cls, subclass: type) -> bool:
            return issubclass(subclass, real)

    def __new__(cls, *args: Any, **kwargs: Any):
        if cls is in_the_sandbox and _student[0] is not None and (always or _holds_student_objects(args[:1])):
            made = _raised_as_student_did(_student[0].build, factory, real.__name__, *_unwrap(list(args)),
                                          **_unwrap(kwargs))
            return StudentObject(made)
        return real.__new__(cls)

    in_the_sandbox = SameClassForChecks(real.__name__, (real,), {"__new__": __new__, "__qualname__": real.__name__,
                                                                  "__module__": real.__module__})
    return in_the_sandbox


class _SandboxAwareModule:
    """``torch.optim`` or ``torch.nn`` as a converted test sees it: its concrete classes made in the
    student's process (``_made_in_the_sandbox``), everything else (``nn.Module``, ``nn.functional``) as is."""

    def __init__(self, real: Any, base: type, factory: str, always: bool):
        self._real, self._base, self._factory, self._always = real, base, factory, always
        self._made: dict[str, type] = {}

    def wraps(self, value: Any) -> bool:
        return isinstance(value, type) and issubclass(value, self._base) and value is not self._base and \
            getattr(self._real, value.__name__, None) is value and value.__name__ not in _KEPT_ON_THIS_SIDE

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._real, name)
        if not self.wraps(value):
            return value
        if name not in self._made:
            self._made[name] = _made_in_the_sandbox(value, self._factory, self._always)
        return self._made[name]


# Base classes a test subclasses or names in isinstance: never made in the sandbox.
_KEPT_ON_THIS_SIDE = {"Module", "Optimizer", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
                      "Parameter", "Container"}


class _TorchModule:
    """``torch`` as a converted test sees it: the same module, with sandbox-aware ``optim`` and ``nn``."""

    def __init__(self, real: Any, optim: _SandboxAwareModule, nn_module: _SandboxAwareModule):
        self._real, self._optim, self._nn = real, optim, nn_module

    def __getattr__(self, name: str) -> Any:
        if name == "optim":
            return self._optim
        if name == "nn":
            return self._nn
        return getattr(self._real, name)

    def __repr__(self) -> str:
        return repr(self._real)


def torch_objects_in_the_sandbox(namespace: dict) -> None:
    """Rebind, in a converted check file's ``namespace``, ``torch``, ``torch.optim``, ``torch.nn`` and their
    classes imported by name to sandbox-aware versions: ``torch.optim.SGD(model.parameters(), lr=0.1)`` over
    a student's model, and ``nn.Linear(3, 1)`` a test hands to the student's code, are then made in the
    student's process, where the test (run in the student's kernel by nbgrader and otter) meant them."""
    from torch import nn

    optim = _SandboxAwareModule(torch.optim, torch.optim.Optimizer, "optimizer_over", always=False)
    layers = _SandboxAwareModule(nn, nn.Module, "module_of", always=True)
    for name, value in list(namespace.items()):
        if value is torch:
            namespace[name] = _TorchModule(torch, optim, layers)
        elif value is torch.optim:
            namespace[name] = optim
        elif value is nn:
            namespace[name] = layers
        elif optim.wraps(value):
            namespace[name] = getattr(optim, value.__name__)
        elif layers.wraps(value):
            namespace[name] = getattr(layers, value.__name__)
