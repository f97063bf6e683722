"""The judge calls a plain check directly and keeps pytest's protocol for a check that needs it.

Real notebooks through the real sandbox and judge, on a copy of the toy assignment with three more checks:
a plain one (called directly: pytest's protocol, which sets PYTEST_CURRENT_TEST, is not run around it),
one that takes a fixture of the checks' own conftest.py, and one with a skip mark.
"""

import shutil

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.api import grade_submissions

CORRECT = "import torch\n\ndef double(x):\n    return x + x\n\ndef answer():\n    return 42\n"

CONFTEST = '''
import pytest


@pytest.fixture
def offset():
    return 5
'''

EXTRA_CHECKS = '''
import os

import pytest
import torch


@pytest.mark.points(1)
def test_plain_check_is_called_directly(student):
    """a plain check"""
    assert "PYTEST_CURRENT_TEST" not in os.environ
    assert student.double(torch.tensor([3.0])).item() == 6.0


@pytest.mark.points(1)
def test_a_conftest_fixture_reaches_its_check(student, offset):
    """a check with the conftest's fixture"""
    assert "PYTEST_CURRENT_TEST" in os.environ  # run through pytest's protocol
    assert student.double(torch.tensor([float(offset)])).item() == 10.0


@pytest.mark.points(1)
@pytest.mark.skip(reason="not this term")
def test_a_skipped_check_does_not_run(student):
    """a skipped check"""
    raise AssertionError("a skipped check ran")
'''


def make_assignment(tmp_path):
    root = tmp_path / "assignments"
    shutil.copytree(TEST_ASSIGNMENTS / "toy", root / "toy")
    shutil.copytree(TEST_ASSIGNMENTS.parent / "reference_solutions", tmp_path / "reference_solutions")
    toml = root / "toy" / "assignment.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 7"))
    (root / "toy" / "checks" / "public" / "conftest.py").write_text(CONFTEST)
    (root / "toy" / "checks" / "public" / "test_extra.py").write_text(EXTRA_CHECKS)
    return root


def test_plain_checks_run_directly_and_checks_needing_pytest_keep_its_protocol(tmp_path):
    assignments = make_assignment(tmp_path)
    notebook = write_notebook(tmp_path / "correct.ipynb", CORRECT)

    (verdict,) = grade_submissions("toy", [str(notebook)], db_url=f"sqlite:///{tmp_path / 'grades.db'}",
                                   assignments_dir=assignments)

    checks = {check.name: check for check in verdict.checks}
    assert checks["test_plain_check_is_called_directly"].passed, checks["test_plain_check_is_called_directly"].message
    assert checks["test_a_conftest_fixture_reaches_its_check"].passed, \
        checks["test_a_conftest_fixture_reaches_its_check"].message
    skipped = checks["test_a_skipped_check_does_not_run"]
    assert not skipped.passed and skipped.message == "skipped"
    assert checks["test_double"].passed and checks["test_answer"].passed
    assert verdict.score == 6 and verdict.max_score == 7
