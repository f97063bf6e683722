"""`grader validate` grades the example submissions of submissions/<id>/expected.json and says, one line per
file, which one does not score (or end with the status) it lists; real notebooks through the real sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import TEST_ASSIGNMENTS, run_grader, write_notebook

CORRECT = "import torch\n\ndef double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"
WRONG_ANSWER = CORRECT.replace("return 42", "return 41")  # loses test_answer: 3 of 4 points


@pytest.fixture
def course(tmp_path) -> Path:
    """The toy assignment in a course of its own, with three example submissions beside it."""
    shutil.copytree(TEST_ASSIGNMENTS / "toy", tmp_path / "assignments" / "toy")
    (tmp_path / "reference_solutions").mkdir()
    shutil.copyfile(TEST_ASSIGNMENTS.parent / "reference_solutions" / "toy.py",
                    tmp_path / "reference_solutions" / "toy.py")
    examples = tmp_path / "submissions" / "toy"
    examples.mkdir(parents=True)
    write_notebook(examples / "correct.ipynb", CORRECT)
    write_notebook(examples / "wrong_answer.ipynb", WRONG_ANSWER)
    (examples / "not_a_notebook.ipynb").write_text("this is not JSON")
    return tmp_path


def expect(course: Path, listing: dict | str) -> None:
    text = listing if isinstance(listing, str) else json.dumps(listing)
    (course / "submissions" / "toy" / "expected.json").write_text(text)


def validate(course: Path):
    return run_grader("validate", "toy", "--assignments", str(course / "assignments"), "--device", "cpu")


def failed_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("✗")]


AS_GRADED = {"correct.ipynb": {"score": 4.0}, "wrong_answer.ipynb": {"score": 3.0},
             "not_a_notebook.ipynb": {"status": "error"}}


def test_examples_that_score_what_expected_json_says_validate(course):
    expect(course, AS_GRADED)
    result = validate(course)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("✓ examples: 3/3 score what expected.json says (3 example submissions listed in "
            "submissions/toy/expected.json)") in result.stdout
    assert failed_lines(result.stdout) == []


def test_an_example_whose_score_differs_is_one_line_naming_it(course):
    expect(course, {**AS_GRADED, "wrong_answer.ipynb": {"score": 4.0}})
    result = validate(course)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ examples: 2/3 score what expected.json says" in result.stdout
    assert failed_lines(result.stdout)[1:] == [
        "✗ submissions/toy/wrong_answer.ipynb: 3/4, but expected.json says score 4"]


def test_an_example_whose_status_differs_is_one_line_naming_it(course):
    expect(course, {**AS_GRADED, "not_a_notebook.ipynb": {"score": 0.0, "status": "graded"}})
    result = validate(course)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = failed_lines(result.stdout)[1:]
    assert len(problems) == 1 and problems[0].startswith(
        "✗ submissions/toy/not_a_notebook.ipynb: status error ("), problems
    assert problems[0].endswith("but expected.json says status graded")


def test_a_listed_example_that_is_missing_is_one_line_naming_it(course):
    expect(course, {**AS_GRADED, "gone.ipynb": {"score": 4.0}})
    result = validate(course)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ examples: 3/4 score what expected.json says" in result.stdout
    assert failed_lines(result.stdout)[1:] == [
        "✗ submissions/toy/gone.ipynb: listed in expected.json but missing; add it or remove its entry"]


def test_invalid_expected_json_is_one_line_naming_it_before_anything_is_judged(course):
    expect(course, '{"correct.ipynb": {"score": 4.0},}')
    result = validate(course)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "submissions/toy/expected.json: not valid JSON (" in lines[0]
    assert "reference solution" not in result.stdout


def test_an_entry_that_is_not_a_score_or_status_is_one_line_naming_it(course):
    expect(course, {"correct.ipynb": {"points": 4}})
    result = validate(course)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "submissions/toy/expected.json: the entry for 'correct.ipynb' is {\"points\": 4};" in result.stderr


def test_a_hand_made_assignment_without_submissions_validates_and_says_so(course):
    shutil.rmtree(course / "submissions")
    result = validate(course)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "examples: no submissions/toy/ folder: no example submissions to check" in result.stdout
