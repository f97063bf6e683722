"""Planted mistakes (grader/mutants.py): edits to the reference made in memory, stale ones refused."""

import ast
import shutil

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, run_grader

from grader.errors import GraderError
from grader.extract import extract_submission
from grader.mutants import (MISTAKES_FILE, Edit, PlantedMistake, StaleMistake, apply, as_submission,
                            catalogue_path, load_mistakes, read_catalogue)
from grader.spec import available_assignments, load_assignment

SOURCE = "def double(x):\n    return x * 2\n\n\ndef halve(x):\n    return x / 2\n"

STALE_CATALOGUE = """
[[mistake]]
name = "triple"
description = "double multiplies by 3"
[[mistake.edit]]
find = "return x * 2"
replace = "return x * 3"

[[mistake]]
name = "forgotten_rename"
description = "was written against an older reference"
[[mistake.edit]]
find = "return x + x"
replace = "return x + x + x"
"""


def course_and_test_assignments():
    """Every assignment with a catalogue: the course's (each must have one) and the tests' own."""
    found = [pytest.param(REPO / "assignments", name, id=name) for name in available_assignments(REPO / "assignments")]
    found += [pytest.param(TEST_ASSIGNMENTS, name, id=f"tests-{name}")
              for name in available_assignments(TEST_ASSIGNMENTS) if (TEST_ASSIGNMENTS / name / MISTAKES_FILE).is_file()]
    return found


def mistake(*edits: Edit, name: str = "planted") -> PlantedMistake:
    return PlantedMistake(name=name, description="a planted mistake", edits=list(edits))


def toy_copy(tmp_path, catalogue: str):
    """The toy assignment and its reference in a folder of their own, with ``catalogue`` as mistakes.toml."""
    shutil.copytree(TEST_ASSIGNMENTS / "toy", tmp_path / "assignments" / "toy")
    (tmp_path / "reference_solutions").mkdir()
    shutil.copyfile(TEST_ASSIGNMENTS.parent / "reference_solutions" / "toy.py",
                    tmp_path / "reference_solutions" / "toy.py")
    (tmp_path / "assignments" / "toy" / MISTAKES_FILE).write_text(catalogue)
    return tmp_path / "assignments"


def test_an_edit_replaces_its_find_text():
    planted = apply(mistake(Edit(find="return x * 2", replace="return x * 3")), SOURCE)
    assert planted == SOURCE.replace("return x * 2", "return x * 3")


def test_edits_apply_one_after_another():
    planted = apply(mistake(Edit(find="x * 2", replace="x * 3"), Edit(find="x / 2", replace="x // 2")), SOURCE)
    assert planted == "def double(x):\n    return x * 3\n\n\ndef halve(x):\n    return x // 2\n"


def test_occurrence_picks_the_nth_match():
    planted = apply(mistake(Edit(find="return x", replace="return -x", occurrence=2)), SOURCE)
    assert planted == SOURCE.replace("return x / 2", "return -x / 2")


def test_an_ambiguous_find_without_occurrence_is_refused():
    with pytest.raises(StaleMistake, match=r"occurs 2 times .*occurrence = N"):
        apply(mistake(Edit(find="return x", replace="return -x")), SOURCE)


def test_a_stale_edit_is_reported_with_its_file_and_name(tmp_path):
    path = tmp_path / MISTAKES_FILE
    path.write_text(STALE_CATALOGUE)
    triple, stale = read_catalogue(path)
    assert apply(triple, SOURCE, "toy.py") == SOURCE.replace("x * 2", "x * 3")
    with pytest.raises(StaleMistake) as raised:
        apply(stale, SOURCE, "toy.py")
    message = str(raised.value)
    assert message == (f"{path}: mistake 'forgotten_rename', edit 1: its find text 'return x + x' no longer "
                       "occurs in toy.py; update the entry to the reference's current code")


def test_a_malformed_catalogue_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / MISTAKES_FILE
    path.write_text('[[mistake]]\nname = "no_edits"\ndescription = "forgot the edit"\n')
    with pytest.raises(GraderError) as raised:
        read_catalogue(path)
    assert str(raised.value).startswith(f"{path}: mistake.0.edit: Field required")
    assert "\n" not in str(raised.value)


def test_validate_fails_on_a_stale_edit(tmp_path):
    assignments = toy_copy(tmp_path, STALE_CATALOGUE)
    result = run_grader("validate", "toy", "--assignments", str(assignments))
    assert result.returncode == 2, result.stdout + result.stderr
    catalogue = assignments / "toy" / MISTAKES_FILE
    assert result.stderr.strip() == (f"error: {catalogue}: mistake 'forgotten_rename', edit 1: its find text "
                                     f"'return x + x' no longer occurs in {tmp_path / 'reference_solutions' / 'toy.py'}"
                                     "; update the entry to the reference's current code")
    assert "mutants caught" not in result.stdout


def test_a_planted_submission_is_what_extraction_makes_of_the_same_file(tmp_path):
    spec = load_assignment("hw2", REPO / "assignments")
    planted = load_mistakes(spec)[0]
    source = apply(planted, spec.reference_solution().read_text())
    (tmp_path / "planted.py").write_text(source)
    from_file = extract_submission(tmp_path / "planted.py", spec)
    in_memory = as_submission(planted, source, spec)
    assert (in_memory.cells, in_memory.sha256, in_memory.kind) == (from_file.cells, from_file.sha256, from_file.kind)
    assert in_memory.student == planted.name


@pytest.mark.parametrize(("root", "assignment"), course_and_test_assignments())
def test_every_catalogue_applies_to_its_current_reference(root, assignment):
    spec = load_assignment(assignment, root)
    assert catalogue_path(spec).is_file(), f"{assignment} has no {MISTAKES_FILE}"
    reference = spec.reference_solution().read_text()
    mistakes = load_mistakes(spec)
    assert mistakes
    for planted in mistakes:
        source = apply(planted, reference)
        assert source != reference, planted.name
        ast.parse(source)  # a planted mistake is a wrong solution, not a syntax error


def test_the_benchmarks_wrong_notebooks_are_the_catalogues_mistakes(tmp_path):
    import sys

    import nbformat

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from benchlib.notebooks import write_submissions
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    catalogue = {planted.name: planted for planted in load_mistakes(load_assignment("hw2", REPO / "assignments"))}
    plan = write_submissions(tmp_path, 10)
    wrong = {name: entry["kind"] for name, entry in plan.items() if entry["category"] == "wrong"}
    assert len(wrong) == 3
    for name, kind in wrong.items():
        notebook = nbformat.read(str(tmp_path / f"{name}.ipynb"), as_version=4)
        code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
        assert all(edit.replace in code for edit in catalogue[kind].edits), kind


def test_hw5_names_a_wrong_loop_by_running_the_catalogues_mistake():
    from grader.judge import start_judge

    spec = load_assignment("hw5", REPO / "assignments")
    planted = next(entry for entry in load_mistakes(spec) if entry.name == "no_zero_grad")
    submission = as_submission(planted, apply(planted, spec.reference_solution().read_text()), spec)
    judge = start_judge(spec, include_hidden=False, device="cpu")
    try:
        verdict = judge.grade([submission])[0]
    finally:
        judge.close()
    check = next(check for check in verdict.checks if check.name == "test_train_epoch_updates_weights_like_the_reference")
    assert not check.passed
    assert "Hint: your weights match a loop that never calls optimizer.zero_grad()" in check.message
