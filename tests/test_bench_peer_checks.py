"""The peers' copy of hw2's checks (benchmarks/benchlib/peer_checks.py) judges as hw2's own do.

The benchmark compares the grader with nbgrader and otter on the same notebooks; that comparison
is fair only while their tests call what ours call and agree with ours on who is right. Here the
plain-assert checks run in-process (as both peers run them) on the four correct student styles and
on the reference with each planted mistake the benchmark's wrong notebooks carry.
"""

from __future__ import annotations

import contextlib
import io
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from benchlib.notebooks import EXPECTED, correct_style, planted_sources  # noqa: E402
from benchlib.peer_checks import CHECKS, body, prelude, total_points  # noqa: E402


def score(namespace: dict) -> float:
    helpers: dict = {}
    exec(prelude(), helpers)
    points = 0.0
    for check in CHECKS:
        scope = {**helpers, "env": namespace}
        try:
            exec(body(check), scope)
        except Exception:
            continue
        points += check[1]
    return points


def student(cells: list[str]) -> dict:
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in cells:
            lines = [line for line in cell.splitlines() if not line.lstrip().startswith(("!", "%"))]
            exec("\n".join(lines), namespace)
    return namespace


def test_the_peer_checks_carry_hw2_s_ten_points_over_its_thirteen_checks():
    assert total_points() == 10
    assert len(CHECKS) == 13
    assert sum(1 for check in CHECKS if check[2]) == 7  # hidden, as assignments/hw2/checks/hidden


@pytest.mark.parametrize("style", range(4))
def test_a_correct_student_style_gets_full_marks_from_the_peer_checks(style):
    assert score(student(correct_style(style))) == 10


@pytest.mark.parametrize("mistake", sorted(planted_sources()))
def test_a_planted_mistake_loses_points_in_the_peer_checks(mistake):
    assert EXPECTED[mistake] == "partial"
    got = score(student([planted_sources()[mistake]]))
    assert 0 <= got < 10, got
