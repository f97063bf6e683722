"""`grader author`: master notebooks (ours, nbgrader's, otter's) become assignment folders that validate,
release and grade students' notebooks as each tool's own scoring rule says."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO, read_json, run_grader

from grader.i18n import load_catalog

MASTERS = Path(__file__).resolve().parent / "data" / "masters"


def _i18n_scanner():
    path = REPO / "tests" / "unit" / "test_i18n_catalogs.py"
    spec = importlib.util.spec_from_file_location("_authoring_i18n_scan", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def author(master: str, course: Path, assignment: str, *extra: str):
    return run_grader("author", str(MASTERS / master), str(course / "assignments" / assignment), *extra)


def notebook_text(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(str(path), as_version=4).cells)


def grade(course: Path, assignment: str, tmp_path: Path, *notebooks: Path) -> dict[str, dict]:
    result = run_grader("grade", assignment, *map(str, notebooks), "--assignments", str(course / "assignments"),
                        "--db", f"sqlite:///{tmp_path / 'g.db'}", "--json", str(tmp_path / "out.json"),
                        "--workers", "1", "--device", "cpu", "--allow-unisolated")
    assert result.returncode == 0, result.stdout + result.stderr
    return {Path(item["submission"]).name: item for item in read_json(tmp_path / "out.json")}


def student_notebook(path: Path, *cells: str) -> Path:
    nbformat.write(new_notebook(cells=[new_code_cell(cell) for cell in cells]), str(path))
    return path


# --- our format -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def activations(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    result = author("activations.ipynb", course, "activations")
    assert result.returncode == 0, result.stdout + result.stderr
    return course


def test_ours_writes_every_file_of_the_folder(activations):
    home = activations / "assignments" / "activations"
    written = sorted(path.relative_to(activations).as_posix() for path in activations.rglob("*") if path.is_file())
    assert written == ["assignments/activations/README.md", "assignments/activations/activations.ipynb",
                       "assignments/activations/assignment.toml",
                       "assignments/activations/checks/hidden/test_activations_hidden.py",
                       "assignments/activations/checks/public/messages.ru.toml",
                       "assignments/activations/checks/public/test_activations_public.py",
                       "assignments/activations/mistakes.toml", "reference_solutions/activations.py"]
    assert "points = 4" in (home / "assignment.toml").read_text()
    assert "## 2. `leaky_relu(x, slope)`" in (home / "README.md").read_text()
    reference = (activations / "reference_solutions" / "activations.py").read_text()
    assert "return torch.clamp(x, min=0)" in reference and "BEGIN SOLUTION" not in reference
    assert "instructor's own scratch" not in reference


def test_ours_template_has_stubs_and_prompts_but_no_solution_or_check(activations):
    text = notebook_text(activations / "assignments" / "activations" / "activations.ipynb")
    assert text.count("raise NotImplementedError") == 2
    assert '"""Element-wise max(x, 0)."""' in text and "## 1. `relu(x)`" in text
    for secret in ("torch.clamp", "torch.where", "grader:", "test_relu", "relu_keeps_negatives", "scratch"):
        assert secret not in text, secret


def test_ours_russian_catalogue_covers_the_public_texts(activations):
    scanner = _i18n_scanner()
    public = activations / "assignments" / "activations" / "checks" / "public"
    scan = scanner.scan_source((public / "test_activations_public.py").read_text(), "public")
    assert scan.errors == []
    catalog = load_catalog(public / "messages.ru.toml")
    assert scanner.catalog_problems(scan.texts, catalog, "messages.ru.toml") == []
    assert catalog["relu zeroes the negative entries of a (3, 4) tensor"].startswith("relu обнуляет")


def test_ours_folder_validates_with_the_declared_and_derived_mistakes(activations):
    result = run_grader("validate", "activations", "--assignments", str(activations / "assignments"),
                        "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 4/4" in result.stdout
    assert "3/3 mutants caught" in result.stdout
    assert "relu_keeps_negativ" in result.stdout and "leaky_relu_unsolved" in result.stdout


def test_ours_folder_releases_without_solutions_or_hidden_checks(activations, tmp_path):
    bundle = tmp_path / "bundle"
    result = run_grader("release", "activations", str(bundle), "--assignments", str(activations / "assignments"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public checks 2/2 on the reference, 2 hidden checks kept back" in result.stdout
    everything = "\n".join(path.read_text(errors="replace") for path in bundle.rglob("*") if path.is_file())
    for secret in ("torch.clamp(x, min=0)", "torch.where(x > 0", "test_leaky_relu_slope", "relu_keeps_negatives"):
        assert secret not in everything, secret


# --- --check ----------------------------------------------------------------------------------------------------

def test_check_passes_on_a_folder_just_written(activations):
    result = author("activations.ipynb", activations, "activations", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout


def test_check_names_each_file_that_drifted_and_exits_1(activations, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(activations, course)
    hidden = course / "assignments" / "activations" / "checks" / "hidden" / "test_activations_hidden.py"
    hidden.write_text(hidden.read_text().replace("0.1", "0.2"))
    (course / "reference_solutions" / "activations.py").unlink()
    (course / "assignments" / "activations" / "checks" / "public" / "test_old.py").write_text("")
    result = author("activations.ipynb", course, "activations", "--check")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "checks/hidden/test_activations_hidden.py: differs" in result.stdout
    assert "reference_solutions/activations.py: missing" in result.stdout
    assert "checks/public/test_old.py: not made by the master" in result.stdout
    assert "README.md" not in result.stdout


def test_check_sees_a_master_changed_since_the_folder_was_written(activations, tmp_path):
    master = nbformat.read(str(MASTERS / "activations.ipynb"), as_version=4)
    master.cells[4].source = master.cells[4].source.replace("min=0", "min=0.0")
    changed = tmp_path / "activations.ipynb"
    nbformat.write(master, str(changed))
    result = run_grader("author", str(changed), str(activations / "assignments" / "activations"), "--check")
    assert result.returncode == 1
    assert "reference_solutions/activations.py: differs" in result.stdout
    assert "mistakes.toml: differs" in result.stdout  # the stub mistake's find text follows the solution


def test_a_master_without_markers_is_one_line_naming_it(tmp_path):
    plain = student_notebook(tmp_path / "plain.ipynb", "x = 1")
    result = run_grader("author", str(plain), str(tmp_path / "assignments" / "plain"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"error: {plain}: no grader, nbgrader or otter markers found")
    assert "Traceback" not in result.stderr


# --- nbgrader's format ------------------------------------------------------------------------------------------

NBGRADER_CORRECT = ['import torch', '''def squares(n):
    if n < 1:
        raise ValueError("n must be at least 1")
    return [i * i for i in range(1, n + 1)]''', '''def normalize(x):
    return x / x.pow(2).sum().sqrt()

answer = 42''', '''class Doubler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = 2.0

    def forward(self, x):
        return self.scale * x''']
# squares right but no ValueError; normalize right on the visible test only (row-wise norms); answer wrong
NBGRADER_WRONG = ['import torch', '''def squares(n):
    return [i * i for i in range(1, n + 1)]''', '''def normalize(x):
    return x / x.pow(2).sum(dim=-1, keepdim=True).sqrt()

answer = 41''', '''class Doubler(torch.nn.Module):
    scale = 3.0

    def forward(self, x):
        return x + x''']


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("nbgrader")
    result = author("nbgrader_squares.ipynb", course, "squares")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(nbgrader format): 5 checks, 6 points" in result.stdout
    return course


def test_nbgrader_template_keeps_visible_tests_but_no_solution_or_hidden_test(nbgrader_course):
    text = notebook_text(nbgrader_course / "assignments" / "squares" / "squares.ipynb")
    assert "assert squares(2) == [1, 4]" in text and "torch.tensor([0.6, 0.8])" in text
    assert text.count("raise NotImplementedError") == 4
    for secret in ("range(1, n + 1)\n", "torch.linalg.norm", "answer = 42", "y / 5.0", "HIDDEN TESTS", "self.scale = 2.0"):
        assert secret not in text, secret


def test_nbgrader_tests_reach_the_students_names_through_the_proxy(nbgrader_course):
    checks = nbgrader_course / "assignments" / "squares" / "checks"
    public = (checks / "public" / "test_squares_public.py").read_text()
    assert "squares = student_callable(student.squares)" in public
    assert "answer = student_value(student.get('answer'))" in public
    hidden = (checks / "hidden" / "test_squares_hidden.py").read_text()
    assert "from grader.authoring.nose_tools import assert_equal" in hidden
    assert "assert torch.allclose(normalize(y), y / 5.0)" in hidden
    # a later cell uses a helper an earlier test cell defined, as in the kernel
    assert "def expected_squares(n):" in public.split("def test_the_answer")[1]
    assert "Doubler = student_callable(student.Doubler)" in public


def test_nbgrader_folder_validates_and_releases(nbgrader_course, tmp_path):
    result = run_grader("validate", "squares", "--assignments", str(nbgrader_course / "assignments"),
                        "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 6/6" in result.stdout and "3/3 mutants caught" in result.stdout
    mistakes = (nbgrader_course / "assignments" / "squares" / "mistakes.toml").read_text()
    assert 'name = "Doubler_init_unsolved"' in mistakes  # a method's region, planted as the stub
    result = run_grader("release", "squares", str(tmp_path / "bundle"), "--assignments",
                        str(nbgrader_course / "assignments"))
    assert result.returncode == 0, result.stdout + result.stderr
    everything = "\n".join(path.read_text(errors="replace") for path in (tmp_path / "bundle").rglob("*")
                           if path.is_file())
    for secret in ("torch.linalg.norm", "y / 5.0", "test_normalize_tests", "self.scale = 2.0"):
        assert secret not in everything, secret


def test_nbgrader_grade_cells_pass_or_fail_whole(nbgrader_course, tmp_path):
    correct = student_notebook(tmp_path / "correct.ipynb", *NBGRADER_CORRECT)
    wrong = student_notebook(tmp_path / "wrong.ipynb", *NBGRADER_WRONG)
    verdicts = grade(nbgrader_course, "squares", tmp_path, correct, wrong)
    assert verdicts["correct.ipynb"]["score"] == verdicts["correct.ipynb"]["max_score"] == 6
    passed = {check["name"]: check["passed"] for check in verdicts["wrong.ipynb"]["checks"]}
    assert passed == {"test_correct_squares": True, "test_squares_invalid_input": False,
                      "test_normalize_tests": False, "test_the_answer": False, "test_doubler_tests": False}
    assert verdicts["wrong.ipynb"]["score"] == 1  # the normalize cell's visible test passed: still 0 of its 2


# --- otter's format ---------------------------------------------------------------------------------------------

OTTER_CORRECT = ["import torch", "def square(x):\n    return x ** 2", "total = sum(range(1, 11))",
                 "def mean_abs(x):\n    return x.abs().sum() / x.numel()"]
# square turns integers into floats (only the hidden case sees it); total is off by one
OTTER_WRONG = ["import torch", "def square(x):\n    return x ** 2.0", "total = 54",
               "def mean_abs(x):\n    return x.abs().mean()"]


@pytest.fixture(scope="module")
def otter_course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("otter")
    result = author("otter_means.ipynb", course, "means")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(otter format): 5 checks, 5 points" in result.stdout
    return course


def test_otter_template_has_prompts_and_stubs_but_no_solution_or_test(otter_course):
    text = notebook_text(otter_course / "assignments" / "means" / "means.ipynb")
    assert "**Question 2.**" in text and "total = ..." in text and text.count("raise NotImplementedError") == 2
    for secret in ("x * x", "55", "x.abs().mean()", "torch.arange(4)", "BEGIN", "name: q1"):
        assert secret not in text, secret


def test_otter_question_points_are_split_over_its_test_cases(otter_course):
    checks = otter_course / "assignments" / "means" / "checks"
    public = (checks / "public" / "test_means_public.py").read_text()
    hidden = (checks / "hidden" / "test_means_hidden.py").read_text()
    assert public.count("@pytest.mark.points(0.6666666666666666)") == 2  # q1: 2 points over 3 cases
    assert hidden.count("@pytest.mark.points(0.6666666666666666)") == 1
    assert "@pytest.mark.points(2)\ndef test_q2_2" in hidden  # its test config gives 2 of q2's 3
    assert "@pytest.mark.points(1)\ndef test_q2_1" in public  # the case without points gets what is left
    assert "student_value(student.get('total'))" in public and "student_callable(student.square)" in public
    reference = (otter_course / "reference_solutions" / "means.py").read_text()
    assert "# %matplotlib inline" in reference and "total = 55\n" in reference


def test_otter_folder_validates_and_releases(otter_course, tmp_path):
    result = run_grader("validate", "means", "--assignments", str(otter_course / "assignments"), "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 5/5" in result.stdout and "2/2 mutants caught" in result.stdout
    result = run_grader("release", "means", str(tmp_path / "bundle"), "--assignments",
                        str(otter_course / "assignments"))
    assert result.returncode == 0, result.stdout + result.stderr
    everything = "\n".join(path.read_text(errors="replace") for path in (tmp_path / "bundle").rglob("*")
                           if path.is_file() and path.name != "reference_answers.json")
    for secret in ("x * x", "x.abs().mean()", "torch.arange(4)", "test_q2_2", "-8.0"):
        assert secret not in everything, secret


def test_otter_scores_each_passing_test_case_its_share(otter_course, tmp_path):
    correct = student_notebook(tmp_path / "correct.ipynb", *OTTER_CORRECT)
    wrong = student_notebook(tmp_path / "wrong.ipynb", *OTTER_WRONG)
    verdicts = grade(otter_course, "means", tmp_path, correct, wrong)
    assert verdicts["correct.ipynb"]["score"] == pytest.approx(5)
    passed = {check["name"]: check["passed"] for check in verdicts["wrong.ipynb"]["checks"]}
    assert passed == {"test_q1_1": True, "test_q1_2": True, "test_q1_3": False, "test_q2_1": False, "test_q2_2": True}
    assert verdicts["wrong.ipynb"]["score"] == pytest.approx(2 * 2 / 3 + 2)


# --- validate: what a hand-made assignment gets wrong -----------------------------------------------------------

def test_validate_fails_on_a_stub_misnamed_in_the_template(activations, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(activations, course)
    template = course / "assignments" / "activations" / "activations.ipynb"
    template.write_text(template.read_text().replace("def relu(", "def rellu("))
    result = run_grader("validate", "activations", "--assignments", str(course / "assignments"), "--device", "cpu")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reference solution: 4/4" in result.stdout  # the checks themselves hold
    assert ("uses student.relu, but the template activations.ipynb defines no relu (it has rellu: misnamed?)"
            in result.stdout)


MLP_CORRECT = ["import torch\nfrom torch import nn", '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.fc1(x.flatten(1)).relu())''']
MLP_WRONG = [MLP_CORRECT[0], MLP_CORRECT[1].replace("nn.Linear(128, 10)", "nn.Linear(128, 5)")]


def test_nbgrader_tests_use_a_students_model_that_stays_in_the_sandbox(tmp_path):
    """model(x), model.fc1.in_features, isinstance(model, nn.Module), iterating model.parameters():
    each a request through the proxy; the module never leaves the sandbox."""
    course = tmp_path / "course"
    result = author("nbgrader_mlp.ipynb", course, "mlp")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_grader("validate", "mlp", "--assignments", str(course / "assignments"), "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 4/4" in result.stdout and "2/2 mutants caught" in result.stdout
    assert "Net_init_unsolved" in result.stdout  # a method's solution region, planted as the stub
    correct = student_notebook(tmp_path / "correct.ipynb", *MLP_CORRECT)
    wrong = student_notebook(tmp_path / "wrong.ipynb", *MLP_WRONG)
    verdicts = grade(course, "mlp", tmp_path, correct, wrong)
    assert verdicts["correct.ipynb"]["score"] == 4
    passed = {check["name"]: check["passed"] for check in verdicts["wrong.ipynb"]["checks"]}
    assert passed == {"test_shape": False, "test_isinstance": True, "test_params": False, "test_layers": True}
    assert verdicts["wrong.ipynb"]["score"] == 2


SOFTMAX_WRONG = ['''import torch
from torch import nn


def softmax(x):
    e = x.exp()  # not stable: nan for logits of 1000
    return e / e.sum(dim=1, keepdim=True)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)''']


def test_otter_cases_compare_types_shapes_and_printed_objects(tmp_path):
    """type(...), a torch.Size, a numpy bool and an nn.Module (compared by what it prints, as otter
    does), public ones recorded for the release; the student's module never leaves the sandbox."""
    course = tmp_path / "course"
    result = author("otter_softmax.ipynb", course, "probe")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run_grader("validate", "probe", "--assignments", str(course / "assignments"), "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 4/4" in result.stdout
    result = run_grader("release", "probe", str(tmp_path / "bundle"), "--assignments", str(course / "assignments"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public checks 3.2/3.2 on the reference" in result.stdout
    wrong = student_notebook(tmp_path / "wrong.ipynb", *SOFTMAX_WRONG)
    verdict = grade(course, "probe", tmp_path, wrong)["wrong.ipynb"]
    passed = {check["name"]: check["passed"] for check in verdict["checks"]}
    assert passed == {"test_q1_1": True, "test_q1_2": True, "test_q1_3": True, "test_q1_4": False, "test_q1_5": False}
    assert verdict["score"] == pytest.approx(3 * 0.8)
    message = next(check["message"] for check in verdict["checks"] if check["name"] == "test_q1_4")
    assert "Linear(in_features=3, out_features=3" in message  # what the student's module prints


def test_a_hand_made_assignment_is_not_replaced_without_force(tmp_path):
    home = tmp_path / "assignments" / "activations"
    home.mkdir(parents=True)
    (home / "assignment.toml").write_text('title = "Mine"\nnotebook = "activations.ipynb"\npoints = 1\n')
    result = author("activations.ipynb", tmp_path, "activations")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {home / 'assignment.toml'} was not written by grader author; writing "
                                     "would replace a hand-made assignment: name a new folder, or pass --force")
    assert (home / "assignment.toml").read_text().startswith('title = "Mine"')
    assert author("activations.ipynb", tmp_path, "activations", "--force").returncode == 0
    assert "points = 4" in (home / "assignment.toml").read_text()


def test_an_assignment_folder_with_a_space_is_one_line(tmp_path):
    result = run_grader("author", str(MASTERS / "activations.ipynb"), str(tmp_path / "assignments" / "hw 6"))
    assert result.returncode == 2
    assert "an assignment's folder is named with letters, digits, _ and - only" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_students_stop_iteration_cannot_end_a_tests_map_early(tmp_path):
    """A test that checks the student's function over map(): a StopIteration the student raises must fail it,
    not end the map (all() of nothing is True). The trusted side raises it as a StudentCodeFailed instead."""
    master = nbformat.read(str(MASTERS / "nbgrader_squares.ipynb"), as_version=4)
    cell = master.cells[4]
    assert cell.source.startswith('"""Check that squares returns the correct output')
    cell.source = ('"""Check that squares returns the correct output for several inputs"""\n'
                   'assert all(map(lambda n: squares(n) == [i * i for i in range(1, n + 1)], [1, 2, 10]))\n\n\n'
                   'def expected_squares(n):\n    return [i * i for i in range(1, n + 1)]')
    nbformat.write(master, str(tmp_path / "squares_map.ipynb"))
    course = tmp_path / "course"
    result = run_grader("author", str(tmp_path / "squares_map.ipynb"), str(course / "assignments" / "squares"))
    assert result.returncode == 0, result.stdout + result.stderr
    cheat = student_notebook(tmp_path / "cheat.ipynb", "def squares(n):\n    raise StopIteration")
    verdicts = grade(course, "squares", tmp_path, cheat)
    passed = {check["name"]: check["passed"] for check in verdicts["cheat.ipynb"]["checks"]}
    assert passed["test_correct_squares"] is False, verdicts["cheat.ipynb"]["checks"]
    assert verdicts["cheat.ipynb"]["score"] == 0


@pytest.mark.parametrize("test_line", ["assert_raises(AssertionError, squares, 0)",
                                       "with assert_raises(AssertionError):\n    squares(0)",
                                       "try:\n    squares(0)\nexcept AssertionError:\n    pass\nelse:\n"
                                       "    raise AssertionError('did not raise')"],
                         ids=["called", "context", "try_except"])
def test_nose_assert_raises_is_met_only_by_what_the_students_code_raised(tmp_path, test_line):
    """nbgrader's `assert_raises(AssertionError, squares, 0)` for a squares that asserts n >= 1: the template's
    stub (NotImplementedError), a missing function or one that raises ValueError must fail it; the proxy's own
    failures are AssertionErrors, which once met it (a test's own try/except too)."""
    master = nbformat.read(str(MASTERS / "nbgrader_squares.ipynb"), as_version=4)
    assert master.cells[3].source.startswith("def squares(n):") and master.cells[5].source.startswith('"""Check that')
    master.cells[3].source = master.cells[3].source.replace(
        'if n < 1:\n        raise ValueError("n must be greater than or equal to 1")', "assert n >= 1")
    master.cells[5].source = f"from nose.tools import assert_raises\n{test_line}"
    nbformat.write(master, str(tmp_path / "squares_assert.ipynb"))
    course = tmp_path / "course"
    result = run_grader("author", str(tmp_path / "squares_assert.ipynb"), str(course / "assignments" / "squares"))
    assert result.returncode == 0, result.stdout + result.stderr
    students = [student_notebook(tmp_path / "stub.ipynb", "def squares(n):\n    raise NotImplementedError"),
                student_notebook(tmp_path / "missing.ipynb", "import torch"),
                student_notebook(tmp_path / "value_error.ipynb", "def squares(n):\n    raise ValueError('n < 1')"),
                student_notebook(tmp_path / "asserts.ipynb",
                                 "def squares(n):\n    assert n >= 1\n    return [i * i for i in range(1, n + 1)]")]
    verdicts = grade(course, "squares", tmp_path, *students)
    passed = {name: {check["name"]: check["passed"] for check in verdict["checks"]}["test_squares_invalid_input"]
              for name, verdict in verdicts.items()}
    assert passed == {"stub.ipynb": False, "missing.ipynb": False, "value_error.ipynb": False,
                      "asserts.ipynb": True}, passed
