"""``nose.tools``' assertions, for nbgrader tests that import them (nose does not install on Python 3.12)."""

from __future__ import annotations

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


def assert_raises(kind: type[BaseException], function: Any = None, *args: Any, **kwargs: Any):
    if function is None:
        import pytest

        return pytest.raises(kind)
    try:
        function(*args, **kwargs)
    except kind:
        return None
    raise AssertionError(f"{getattr(function, '__name__', 'the call')} did not raise {kind.__name__}")


def assert_is_close(first: float, second: float, rel_tol: float = 1e-9) -> None:
    assert math.isclose(first, second, rel_tol=rel_tol), f"{first!r} is not close to {second!r}"


ok_ = assert_true
eq_ = assert_equal
raises = assert_raises
