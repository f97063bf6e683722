"""``nose.tools``' assertions, for nbgrader tests that import them (nose does not install on Python 3.12)."""

from __future__ import annotations

import builtins
import math
from typing import Any


def assert_equal(first: Any, second: Any, msg: str | None = None) -> None:
    assert first == second, msg or f"{first!r} != {second!r}"


def assert_not_equal(first: Any, second: Any, msg: str | None = None) -> None:
    assert first != second, msg or f"{first!r} == {second!r}"


def assert_true(expression: Any, msg: str | None = None) -> None:
    assert expression, msg or f"{expression!r} is not true"


def assert_false(expression: Any, msg: str | None = None) -> None:
    assert not expression, msg or f"{expression!r} is not false"


def assert_almost_equal(first: Any, second: Any, places: int = 7, msg: str | None = None) -> None:
    assert round(abs(first - second), places) == 0, msg or f"{first!r} != {second!r} within {places} places"


def assert_is_instance(value: Any, kind: type, msg: str | None = None) -> None:
    assert isinstance(value, kind), msg or f"{value!r} is not a {kind.__name__}"


def assert_in(member: Any, container: Any, msg: str | None = None) -> None:
    assert member in container, msg or f"{member!r} not in {container!r}"


def _raised_as(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` is an exception of ``kind``. A failure of the student's code counts only by the type
    their code raised: the proxy's failures are AssertionErrors (a missing name, a timeout, a crash, and the
    NotImplementedError of a template's stub too), so ``except kind`` alone would take them all for a raised
    AssertionError. A class of the student's own is known only by its name: it meets Exception alone."""
    from grader.judge.proxy import StudentCodeError, StudentCodeFailed

    if not isinstance(error, (StudentCodeFailed, StudentCodeError)):
        return isinstance(error, kind)
    name = getattr(error, "student_error_type", "") or ""
    raised = getattr(builtins, name, None)
    if isinstance(raised, type) and issubclass(raised, BaseException):
        return issubclass(raised, kind)
    return bool(name) and kind in (Exception, BaseException)


class _Raises:
    """``with assert_raises(kind):``, judged as the called form is."""

    def __init__(self, kind: type[BaseException]):
        self.kind = kind
        self.exception: BaseException | None = None

    def __enter__(self) -> "_Raises":
        return self

    def __exit__(self, error_type, error, traceback) -> bool:
        if error is None:
            raise AssertionError(f"did not raise {self.kind.__name__}")
        if _raised_as(error, self.kind):
            self.exception = error
            return True
        return False


def assert_raises(kind: type[BaseException], function: Any = None, *args: Any, **kwargs: Any):
    if function is None:
        return _Raises(kind)
    try:
        function(*args, **kwargs)
    except BaseException as error:
        if not _raised_as(error, kind):
            raise
        return None
    raise AssertionError(f"{getattr(function, '__name__', 'the call')} did not raise {kind.__name__}")


def assert_is_close(first: float, second: float, rel_tol: float = 1e-9) -> None:
    assert math.isclose(first, second, rel_tol=rel_tol), f"{first!r} is not close to {second!r}"


ok_ = assert_true
eq_ = assert_equal
raises = assert_raises
