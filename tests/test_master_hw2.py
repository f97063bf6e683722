"""hw2 as one master notebook (reference_solutions/masters/hw2.ipynb): `grader author` makes a folder that
validates, releases, and grades every example submission and every planted mistake of the hand-written
assignments/hw2 exactly as the hand-written folder does (score, status, and each check's pass/fail and points).

The master holds the solutions, so it lives beside them, outside assignments/ and submissions/."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from conftest import REPO

from grader import api
from grader.intake import Intake
from grader.mutants import apply, load_mistakes
from grader.spec import available_assignments, load_assignment

MASTER = REPO / "reference_solutions" / "masters" / "hw2.ipynb"
HAND_WRITTEN = REPO / "assignments"
EXAMPLES = REPO / "submissions" / "hw2"
EXAMPLE_NAMES = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))
MISTAKES = load_mistakes(load_assignment("hw2", HAND_WRITTEN))
CASES = (["reference_solutions/hw2.py"] + [f"submissions/hw2/{name}" for name in EXAMPLE_NAMES]
         + [f"mistake {mistake.name}" for mistake in MISTAKES])


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The master authored into a course of its own, with hw2's example submissions beside it."""
    course = tmp_path_factory.mktemp("course")
    authored = api.author_assignment(MASTER, course / "assignments" / "hw2")
    assert (authored.checks, authored.points) == (13, 10)
    shutil.copytree(EXAMPLES, course / "submissions" / "hw2")
    return course


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> dict[str, Path]:
    """Each case as a file to grade: the reference, the examples, each mistake planted in the hand-written reference."""
    folder = tmp_path_factory.mktemp("cases")
    reference = (REPO / "reference_solutions" / "hw2.py").read_text()
    files = {"reference_solutions/hw2.py": folder / "reference.py"}
    files["reference_solutions/hw2.py"].write_text(reference)
    for name in EXAMPLE_NAMES:
        files[f"submissions/hw2/{name}"] = folder / name
        shutil.copyfile(EXAMPLES / name, folder / name)
    for mistake in MISTAKES:
        files[f"mistake {mistake.name}"] = folder / f"mistake_{mistake.name}.py"
        files[f"mistake {mistake.name}"].write_text(apply(mistake, reference))
    return files


def _graded(assignments: Path, cases: dict[str, Path], db: Path) -> dict[str, object]:
    verdicts = api.grade_submissions("hw2", list(cases.values()), db_url=f"sqlite:///{db}", device="cpu",
                                     assignments_dir=assignments, workers=1, allow_unisolated=True)
    by_file = {Path(verdict.submission).name: verdict for verdict in verdicts}
    return {case: by_file[path.name] for case, path in cases.items()}


@pytest.fixture(scope="module")
def graded(course, cases, tmp_path_factory) -> dict[str, dict[str, object]]:
    """Every case graded by the hand-written folder and by the authored one (one batch each)."""
    scratch = tmp_path_factory.mktemp("gradebooks")
    return {"hand-written": _graded(HAND_WRITTEN, cases, scratch / "hand.db"),
            "authored": _graded(course / "assignments", cases, scratch / "authored.db")}


def _outcome(verdict) -> dict:
    return {"status": verdict.status, "score": verdict.score, "max_score": verdict.max_score,
            "checks": [(check.name, check.title, check.visibility, check.passed, check.score, check.max_score)
                       for check in verdict.checks]}


@pytest.mark.parametrize("case", CASES)
def test_the_authored_folder_grades_it_as_the_hand_written_one(graded, case):
    hand, authored = graded["hand-written"][case], graded["authored"][case]
    assert hand.status == "graded" and hand.checks, (case, hand.message)
    assert _outcome(authored) == _outcome(hand)
    assert [check.message for check in authored.checks] == [check.message for check in hand.checks]


def test_every_case_was_compared(graded):
    assert len(CASES) == 1 + len(EXAMPLE_NAMES) + len(MISTAKES) and len(MISTAKES) >= 16 and len(EXAMPLE_NAMES) >= 3
    assert set(graded["authored"]) == set(graded["hand-written"]) == set(CASES)
    assert graded["authored"]["reference_solutions/hw2.py"].score == 10
    assert all(graded["hand-written"][f"mistake {mistake.name}"].score < 10 for mistake in MISTAKES)


def test_the_authored_checks_are_the_hand_written_ones(course):
    """The same check functions, in the same order, with the same points, in the same two files."""
    for visibility in ("public", "hidden"):
        relative = Path("hw2") / "checks" / visibility / f"test_hw2_{visibility}.py"
        hand, authored = ((root / relative).read_text() for root in (HAND_WRITTEN, course / "assignments"))
        assert _checks(authored) == _checks(hand), visibility


def _checks(source: str) -> list[str]:
    return [ast.unparse(node) for node in ast.parse(source).body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def test_the_authored_folder_validates_with_every_hand_written_mistake_and_the_examples(course):
    authored = api.validate_assignment("hw2", device="cpu", assignments_dir=course / "assignments")
    assert authored.ok, (authored.problems, [example.problem for example in authored.examples])
    assert authored.reference.score == authored.reference.max_score == 10
    caught = {mutant.name: mutant for mutant in authored.mutants}
    assert {mistake.name for mistake in MISTAKES} | {f"{name}_unsolved" for name in (
        "sigmoid", "softmax", "forward_by_hand", "predict_proba")} == set(caught)
    assert all(mutant.caught for mutant in authored.mutants)
    # each mistake planted in the authored reference scores, and is caught by, what it is in the hand-written one
    hand = api.validate_assignment("hw2", device="cpu", assignments_dir=HAND_WRITTEN)
    assert {mutant.name: (mutant.score, mutant.caught_by) for mutant in hand.mutants} == {
        mistake.name: (caught[mistake.name].score, caught[mistake.name].caught_by) for mistake in MISTAKES}
    assert [example.file for example in authored.examples if example.holds] == [
        f"submissions/hw2/{name}" for name in ("correct.ipynb", "partial.ipynb", "template.ipynb")]


def test_the_authored_folder_releases_nothing_of_the_master(course, tmp_path):
    bundle = tmp_path / "bundle"
    released = api.release_assignment("hw2", bundle, assignments_dir=course / "assignments", wheel=False)
    assert (released.public_score, released.public_points, released.hidden_checks) == (6, 6, 7)
    everything = "\n".join(path.read_text(errors="replace") for path in bundle.rglob("*") if path.is_file())
    for secret in ("BEGIN SOLUTION", "grader: check", "torch.sigmoid(x)", "exps.sum(dim=1, keepdim=True)",
                   "test_softmax_large_logits", "forward_assumes_4d", "with logits in the hundreds",
                   "логиты по модулю порядка 1000"):  # the last: a hidden check's Russian, kept back
        assert secret not in everything, secret
    assert not (bundle / "assignments" / "hw2" / "checks" / "hidden").exists()


def test_the_master_is_neither_an_assignment_nor_a_submission():
    assert MASTER.is_file()
    assert "masters" not in available_assignments(HAND_WRITTEN)
    assert not (REPO / "assignments" / "masters").exists()
    for root in (REPO / "assignments", REPO / "submissions"):
        assert MASTER.resolve() not in {path.resolve() for path in root.rglob("*.ipynb")}
    with Intake([EXAMPLES], load_assignment("hw2", HAND_WRITTEN)) as intake:
        assert sorted(file.name.rsplit("/", 1)[-1] for file in intake.files) == EXAMPLE_NAMES
    assert load_assignment("hw2", HAND_WRITTEN).reference_solution() == REPO / "reference_solutions" / "hw2.py"
