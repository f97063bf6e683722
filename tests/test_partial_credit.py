"""A check may award a share of its points (``grader.assertions.score``): the verdict, the gradebook and a
student's view of a hidden check show the share and its reason, through the real sandbox and SQLite."""

from __future__ import annotations

import shutil

import pytest

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.api import grade_submissions, latest_results
from grader.student_view import student_view

PARTIAL_CHECK = '''
import pytest

from grader.assertions import expect_type, score


@pytest.mark.points(2)
def test_answer_close(student):
    """answer is 42; 41 earns a quarter of the points"""
    got = student.answer()
    expect_type(got, int, what="answer()")
    if got == 41:
        score(0.25, "answer() is 41: off by one", hint="count again", student_message="answer() is off by one")
    if got != 42:
        score(0, "answer() is not 42")
'''
CORRECT = "def double(x):\n    return x + x\n\ndef answer():\n    return 42\n"
OFF_BY_ONE = "def double(x):\n    return x + x\n\ndef answer():\n    return 41\n"


@pytest.fixture
def course(tmp_path):
    """The toy assignment with a hidden check that gives partial credit (and 2 more points)."""
    root = tmp_path / "course"
    shutil.copytree(TEST_ASSIGNMENTS / "toy", root / "assignments" / "toy")
    shutil.copytree(TEST_ASSIGNMENTS.parent / "reference_solutions", root / "reference_solutions")
    toml = root / "assignments" / "toy" / "assignment.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 6", 1))
    (root / "assignments" / "toy" / "checks" / "hidden" / "test_partial.py").write_text(PARTIAL_CHECK)
    return root / "assignments"


def test_a_share_of_the_points_is_scored_stored_and_shown(course, tmp_path):
    write_notebook(tmp_path / "alice.ipynb", CORRECT)
    write_notebook(tmp_path / "bob.ipynb", OFF_BY_ONE)
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    verdicts = {v.student: v for v in grade_submissions("toy", [tmp_path / "alice.ipynb", tmp_path / "bob.ipynb"],
                                                        db_url=url, assignments_dir=course,
                                                        allow_unisolated=True)}
    bob = next(check for check in verdicts["bob"].checks if check.name == "test_answer_close")
    assert (bob.score, bob.max_score, bob.passed) == (0.5, 2.0, False)
    assert bob.message == "partial credit (25%): answer() is 41: off by one\nHint: count again"
    alice = next(check for check in verdicts["alice"].checks if check.name == "test_answer_close")
    assert (alice.score, alice.passed) == (2.0, True)
    others = sum(check.score for check in verdicts["bob"].checks if check.name != "test_answer_close")
    assert verdicts["bob"].score == others + 0.5
    shown = next(check for check in student_view(verdicts["bob"]).checks if check.name == "test_answer_close")
    assert shown.message == "partial credit: answer() is off by one\nHint: count again"
    stored = {row.student: row for row in latest_results("toy", db_url=url)}
    assert stored["bob"].score == verdicts["bob"].score


def test_a_share_outside_zero_to_one_is_clipped():
    from grader.assertions import PartialCredit

    assert PartialCredit(1.7, "r").fraction == 1.0
    assert PartialCredit(-0.2, "r").fraction == 0.0
    assert PartialCredit(float("nan"), "r").fraction == 0.0


def test_a_fit_short_of_the_bar_earns_a_share_and_one_that_did_not_learn_none():
    from conftest import REPO
    from grader.judge import start_judge
    from grader.mutants import apply_all, as_submission, load_mistakes
    from grader.spec import load_assignment

    spec = load_assignment("hw5", REPO / "assignments")
    mistakes = [mistake for mistake in load_mistakes(spec) if mistake.name in ("fit_lr_too_small", "fit_lr_zero")]
    planted = apply_all(mistakes, spec.reference_solution())
    with start_judge(spec, include_hidden=False, device="cpu", allow_unisolated=True) as judge:
        verdicts = judge.grade([as_submission(mistake, planted[mistake.name], spec) for mistake in mistakes])
    fits = {mistake.name: next(check for check in verdict.checks
                               if check.name == "test_fit_reaches_90_percent_on_held_out_digits")
            for mistake, verdict in zip(mistakes, verdicts)}
    slow = fits["fit_lr_too_small"]
    assert 0 < slow.score < slow.max_score and not slow.passed
    assert slow.message.startswith("partial credit (")
    assert "earns full points, 70% none" in slow.message
    assert fits["fit_lr_zero"].score == 0
