"""Every assignment (found, not named): reference full marks, every mutant caught, example submissions as documented."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO, read_json, run_grader

from grader.mutants import load_mistakes
from grader.spec import available_assignments, load_assignment

# Every assignment of the course, found as `grader` finds them: a new one is tested without naming it here.
HOMEWORKS = available_assignments(REPO / "assignments")
WITH_EXAMPLES = [homework for homework in HOMEWORKS if (REPO / "submissions" / homework / "expected.json").is_file()]


def test_the_five_homeworks_are_found():
    assert {"hw1", "hw2", "hw3", "hw4", "hw5"} <= set(HOMEWORKS)


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_validate_reference_full_marks_and_every_mutant_caught(homework):
    result = run_grader("validate", homework)
    assert result.returncode == 0, result.stdout + result.stderr
    points = load_assignment(homework, REPO / "assignments").points
    assert f"reference solution: {points:g}/{points:g}" in result.stdout
    mutants = load_mistakes(load_assignment(homework, REPO / "assignments"))
    assert len(mutants) >= 6
    assert f"{len(mutants)}/{len(mutants)} mutants caught" in result.stdout


@pytest.mark.parametrize("homework", WITH_EXAMPLES)
def test_examples_score_what_their_readme_says_and_reference_notebook_full_marks(homework, tmp_path):
    examples = REPO / "submissions" / homework
    expected = json.loads((examples / "expected.json").read_text())
    reference_notebook = tmp_path / "reference.ipynb"
    source = (REPO / "reference_solutions" / f"{homework}.py").read_text()
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), str(reference_notebook))

    result = run_grader("grade", homework, str(examples), str(reference_notebook), "--db",
                        f"sqlite:///{tmp_path / 'g.db'}", "--json", str(tmp_path / "out.json"), "--workers", "2")
    assert result.returncode == 0, result.stderr
    verdicts = {item["submission"].rsplit("/", 1)[-1]: item for item in read_json(tmp_path / "out.json")}
    points = load_assignment(homework, REPO / "assignments").points
    assert verdicts["reference.ipynb"]["score"] == verdicts["reference.ipynb"]["max_score"] == points
    assert verdicts["template.ipynb"]["score"] == 0
    for name, want in expected.items():
        got = verdicts[name]
        if "status" in want:
            assert got["status"] == want["status"], name
        if "score" in want:
            assert got["score"] == pytest.approx(want["score"]), (name, got["checks"])
    assert set(verdicts) == set(expected) | {"reference.ipynb"}


def test_check_trains_in_the_sandbox_without_the_batch_warm_up(tmp_path):
    """`grader check` skips the warm worker's first optimizer step (torch._dynamo, ~1.7 s): the
    child takes it itself, under every sandbox layer, when the student's code trains."""
    from grader.api import check_notebook

    notebook = tmp_path / "hw5.ipynb"
    notebook.write_bytes((REPO / "submissions" / "hw5" / "correct.ipynb").read_bytes())
    verdict = check_notebook("hw5", notebook)
    assert verdict.status == "graded" and verdict.score == verdict.max_score == 6, [
        (check.name, check.message) for check in verdict.checks if not check.passed]
