"""nbgrader's and otter's masters as their documentation writes them: each authored, validated, released and
used to grade students with known mistakes; every score is the one the tool's own rule gives, and nothing a
student receives (template, README, released folder, feedback) holds a solution line or a hidden test."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from authoring_course import AuthoredCourse
from conftest import run_grader
from test_authoring import MASTERS, notebook_text


def student(path: Path, *cells: str) -> Path:
    nbformat.write(new_notebook(cells=[new_markdown_cell("my answers")] + [new_code_cell(cell) for cell in cells]),
                   str(path))
    return path


class Course(AuthoredCourse):
    """One master authored into a course folder, its students (cells of their own) graded once into one gradebook."""

    def __init__(self, root: Path, master: str, assignment: str, students: dict[str, list[str]]):
        super().__init__(root, master, assignment, lambda folder, home: [
            student(folder / f"{name}.ipynb", *cells) for name, cells in students.items()])

    def score(self, name: str) -> float:
        verdict = self.verdicts[name]
        assert verdict["status"] == "graded", verdict
        return verdict["score"]

    def passed(self, name: str) -> dict[str, bool]:
        return {check["name"]: check["passed"] for check in self.verdicts[name]["checks"]}

    def template(self) -> str:
        return notebook_text(self.home / f"{self.assignment}.ipynb") + "\n" + (self.home / "README.md").read_text()

    def students_receive(self) -> str:
        """Template, README and the released folder (its files, the wheel excepted)."""
        return "\n".join([self.template()] + self.released_files())


# --- nbgrader: least squares (numpy and torch asserts, read-only helpers, written answers) ---------------------

REGRESSION_HEAD = ["import numpy as np\nimport torch", '''def make_data(n, slope=2.0, intercept=-1.0, seed=0):
    """Points on a line with a little noise (do not change this cell)."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-1, 1, size=n)
    y = slope * x + intercept + 0.01 * generator.standard_normal(n)
    return x, y''']
REGRESSION_VISIBLE_FIT = '''x, y = make_data(50)
slope, intercept = fit_line(x, y)
np.testing.assert_allclose([slope, intercept], [2.0, -1.0], atol=0.05)'''
CORRECT_FIT = '''def fit_line(x, y):
    design = np.column_stack([x, np.ones(len(x))])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(coefficients[0]), float(coefficients[1])'''
CORRECT_MSE = "def mse(pred, target):\n    return torch.mean((pred - target) ** 2)"


def regression_student(fit: str, mse: str, rate: str, helper: str = REGRESSION_HEAD[1]) -> list[str]:
    return [REGRESSION_HEAD[0], helper, fit, REGRESSION_VISIBLE_FIT, mse, rate,
            "assert abs(learning_rate - 0.1) < 1e-12", "residuals = y - (slope * x + intercept)"]


REGRESSION_STUDENTS = {
    "correct": regression_student(CORRECT_FIT, CORRECT_MSE, "learning_rate = 0.1"),
    # no intercept column (the visible test fails: 0 of 3), a sum for a mean (0 of 2), the rate right (1)
    "through_origin": regression_student('''def fit_line(x, y):
    slope = (x * y).sum() / (x * x).sum()
    return float(slope), 0.0''', "def mse(pred, target):\n    return ((pred - target) ** 2).sum()",
                                         "learning_rate = 0.1"),
    # float32 numpy scalars: the visible test passes, the hidden isinstance(..., float) fails the cell (0 of 3);
    # mse right (2); the rate wrong (0)
    "float32": regression_student('''def fit_line(x, y):
    design = np.column_stack([x, np.ones(len(x))])
    return np.linalg.lstsq(design, y, rcond=None)[0].astype(np.float32)''', CORRECT_MSE, "learning_rate = 0.01"),
    # edits the read-only helper to make its own data trivial and answers with constants: nbgrader grades with
    # the master's helper, so the hidden line (slope -3) fails the cell (0 of 3); the rest right (3)
    "edited_helper": regression_student("def fit_line(x, y):\n    return 2.0, -1.0", CORRECT_MSE,
                                        "learning_rate = 0.1",
                                        helper="def make_data(n, **ignored):\n    x = np.linspace(-1, 1, n)\n"
                                               "    return x, 2 * x - 1"),
}


@pytest.fixture(scope="module")
def regression(tmp_path_factory) -> Course:
    return Course(tmp_path_factory.mktemp("regression"), "nbgrader_regression.ipynb", "regression",
                  REGRESSION_STUDENTS)


def test_nbgrader_regression_validates_with_full_marks_for_the_reference(regression):
    assert regression.validated.returncode == 0, regression.validated.stdout + regression.validated.stderr
    assert "reference solution: 6/6" in regression.validated.stdout
    assert "1/1 mutants caught" in regression.validated.stdout


def test_nbgrader_regression_names_the_cells_graded_by_hand(regression):
    out = regression.authored.stdout
    assert "(nbgrader format): 3 checks, 6 points" in out
    assert "note: why_ones (manually graded answer, 2 points, cell 14): graded by hand in nbgrader" in out
    assert "note: residual_plot (manually graded answer, 1 points, cell 16)" in out
    assert "note: task_comment (task, 1 points, cell 17)" in out


def test_nbgrader_regression_template_has_nbgrader_stubs(regression):
    text = regression.template()
    assert text.count("# YOUR CODE HERE\nraise NotImplementedError()") == 3  # mse (whole cell), lr, residuals
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in text  # fit_line's region, indented
    assert "Without it the line is forced through the origin.\nYOUR ANSWER HERE" in text
    assert REGRESSION_VISIBLE_FIT in text and "def make_data(n, slope=2.0" in text
    assert "learning_rate = 0.1" not in text and "residuals = y" not in text


def test_nbgrader_regression_scores_each_grade_cell_whole(regression):
    assert regression.score("correct") == 6
    assert regression.passed("through_origin") == {"test_fit_line": False, "test_mse": False, "test_lr": True}
    assert regression.score("through_origin") == 1
    assert regression.passed("float32") == {"test_fit_line": False, "test_mse": True, "test_lr": False}
    assert regression.score("float32") == 2
    assert regression.passed("edited_helper") == {"test_fit_line": False, "test_mse": True, "test_lr": True}
    assert regression.score("edited_helper") == 3


def test_nbgrader_regression_gives_students_no_solution_or_hidden_test(regression):
    regression.assert_kept_from_students(
        ["np.linalg.lstsq(A, y", "np.ones_like(x)", "((pred - target) ** 2).mean()", "The column of ones lets",
         "residuals = y - (slope * x + intercept)", "learning_rate = 0.1", "BEGIN SOLUTION"],
        hidden=["make_data(200, slope=-3.0", "isinstance(fit_line(x, y)[0], float)", "HIDDEN TESTS"])


# --- nbgrader: a classifier (an nn.Module's regions, nose.tools, hidden cells, training state) ----------------

def classifier_student(init: str, forward: str, accuracy: str, steps: int = 100) -> list[str]:
    return ["import torch\nfrom torch import nn", f'''class TwoLayer(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        {init}

    def forward(self, x):
        {forward}''', '''from nose.tools import assert_equal, assert_true


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


net = TwoLayer(4, 8, 3)
assert_equal(tuple(net(torch.zeros(5, 4)).shape), (5, 3))''', f"def accuracy(logits, labels):\n    {accuracy}",
            "torch.manual_seed(0)\nfeatures = torch.randn(64, 4)\nlabels = (features[:, 0] > 0).long()",
            f'''model = TwoLayer(4, 16, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range({steps}):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(features), labels)
    loss.backward()
    optimizer.step()
final_loss = loss.item()''']


LAYERS = "self.first = nn.Linear(d_in, hidden)\n        self.second = nn.Linear(hidden, d_out)"
RELU = "return self.second(torch.relu(self.first(x)))"
ACCURACY = "return (logits.argmax(dim=1) == labels).float().mean().item()"
CLASSIFIER_STUDENTS = {
    "correct": classifier_student(LAYERS, RELU, ACCURACY),
    # no ReLU: shape (1) and parameters (2) right, the hidden ReLU line fails its cell (0 of 2); a linear model
    # still separates these labels (3)
    "no_relu": classifier_student(LAYERS, "return self.second(self.first(x))", ACCURACY),
    # counts instead of a fraction: the training cell fails (0 of 3)
    "count": classifier_student(LAYERS, RELU, "return (logits.argmax(dim=1) == labels).sum().item()"),
    # no biases: shape right (1); parameter counts wrong (0 of 2); load_state_dict raises on the missing biases
    # (0 of 2, the student's RuntimeError fails that check only); training (3)
    "no_bias": classifier_student("self.first = nn.Linear(d_in, hidden, bias=False)\n"
                                  "        self.second = nn.Linear(hidden, d_out, bias=False)", RELU, ACCURACY),
    # one step of training: final_loss too high (0 of 3)
    "undertrained": classifier_student(LAYERS, RELU, ACCURACY, steps=1),
}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> Course:
    return Course(tmp_path_factory.mktemp("classifier"), "nbgrader_classifier.ipynb", "classifier",
                  CLASSIFIER_STUDENTS)


def test_nbgrader_classifier_validates_each_region(classifier):
    assert classifier.validated.returncode == 0, classifier.validated.stdout + classifier.validated.stderr
    assert "reference solution: 8/8" in classifier.validated.stdout and "3/3 mutants caught" in classifier.validated.stdout
    assert "TwoLayer_forward_u" in classifier.validated.stdout


def test_nbgrader_classifier_scores_each_grade_cell_whole(classifier):
    assert classifier.score("correct") == 8
    assert classifier.passed("no_relu") == {"test_two_layer_shape": True, "test_two_layer_parameters": True,
                                            "test_relu_between": False, "test_training": True}
    assert classifier.score("no_relu") == 6
    assert classifier.score("count") == 5 and not classifier.passed("count")["test_training"]
    assert classifier.passed("no_bias") == {"test_two_layer_shape": True, "test_two_layer_parameters": False,
                                            "test_relu_between": False, "test_training": True}
    assert classifier.score("no_bias") == 4
    assert classifier.score("undertrained") == 5 and not classifier.passed("undertrained")["test_training"]


def test_nbgrader_classifier_template_keeps_visible_lines_of_a_partly_hidden_cell(classifier):
    text = classifier.template()
    assert "net = TwoLayer(3, 5, 2)\nx = -torch.ones(1, 3)\nout = net(x)\nassert out.shape == (1, 2)" in text
    assert "Two linear layers compose" not in text and "YOUR ANSWER HERE" in text
    assert text.count("# YOUR CODE HERE\n        raise NotImplementedError()") == 2  # __init__ and forward


def test_nbgrader_classifier_gives_students_no_solution_or_hidden_test(classifier):
    classifier.assert_kept_from_students(
        ["torch.relu(self.first(x))", "nn.Linear(d_in, hidden)\n", "float().mean().item()", "lr=0.5",
         "compose into one linear map"],
        hidden=["count_parameters(TwoLayer(2, 1, 1))", "load_state_dict", "the ReLU must zero",
                "4 * 8 + 8 + 8 * 3 + 3", "HIDDEN TESTS"])


def test_nbgrader_test_changing_a_students_tensor_in_place_is_one_line(tmp_path):
    master = nbformat.read(str(MASTERS / "nbgrader_classifier.ipynb"), as_version=4)
    master.cells[6].source = master.cells[6].source.replace(
        'net.load_state_dict({"first.weight": torch.ones(5, 3), "first.bias": torch.zeros(5),\n'
        '                     "second.weight": torch.ones(2, 5), "second.bias": torch.full((2,), 0.5)})',
        "with torch.no_grad():\n    net.first.weight.fill_(1.0)")
    path = tmp_path / "inplace.ipynb"
    nbformat.write(master, str(path))
    result = run_grader("author", str(path), str(tmp_path / "assignments" / "inplace"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"error: {path}, cell 7: line 4: net.first.weight.fill_(1.0) changes the student's object in place, which "
        "a check here cannot do (it reads copies of the student's tensors); call a method on the object instead, "
        "e.g. net.load_state_dict({...}), then test its result")


# --- otter: tensor statistics (every points form, solution and prompt markers, ignores, a manual question) ----

STATS_IMPORTS = "import numpy as np\nimport torch"
STANDARDIZE = "def standardize(x):\n    return (x - x.mean()) / x.std(unbiased=False)"
SAMPLES = "np.random.seed(42)\nsamples = np.random.normal(size=5)\ndoubled = 2 * samples"
CLIP = "def clip(t, limit):\n    return torch.clamp(t, min=-limit, max=limit)"
RUNNING = '''def running_mean(values):
    out, total = [], 0.0
    for count, value in enumerate(values, start=1):
        total += value
        out.append(total / count)
    return out'''
COUNT = "def count_positive(x):\n    return int((x > 0).sum().item())"
STATS_STUDENTS = {
    "correct": [STATS_IMPORTS, STANDARDIZE, SAMPLES, CLIP + "\n\n\n" + RUNNING, COUNT],
    # q1: the unbiased std fails the hidden case (2 of [1, 2, 1]); q2: samples + 2 fails the first of its two
    # 0.5-point cases; q3: prefix sums, not means (1 of 4: 2 hidden, 1, 1); q5: >= 0 fails the hidden case
    # (each: 1): 2 + 0.5 + 3 + 1
    "mixed": [STATS_IMPORTS, "def standardize(x):\n    return (x - x.mean()) / x.std()",
              "np.random.seed(42)\nsamples = np.random.normal(size=5)\ndoubled = samples + 2",
              CLIP + "\n\n\n" + RUNNING.replace("total / count", "total"),
              "def count_positive(x):\n    return int((x >= 0).sum())"],
    # clip returns t unchanged: only the hidden 2-point case fails
    "no_clamp": [STATS_IMPORTS, STANDARDIZE, SAMPLES, "def clip(t, limit):\n    return t\n\n\n" + RUNNING, COUNT],
}


@pytest.fixture(scope="module")
def stats(tmp_path_factory) -> Course:
    return Course(tmp_path_factory.mktemp("stats"), "otter_stats.ipynb", "stats", STATS_STUDENTS)


def test_otter_stats_validates_and_names_the_manual_question(stats):
    assert stats.validated.returncode == 0, stats.validated.stdout + stats.validated.stderr
    assert "reference solution: 11/11" in stats.validated.stdout and "1/1 mutants caught" in stats.validated.stdout
    assert "(otter format): 10 checks, 11 points" in stats.authored.stdout
    assert "note: q4 (manual, 2 points, cell 37): graded by hand in otter; not scored here" in stats.authored.stdout


def test_otter_stats_template_is_what_otter_assign_gives_students(stats):
    text = stats.template()
    assert "def standardize(x):\n    mean = ...\n    std = ...\n    return ..." in text
    assert "np.random.seed(42)\nsamples = np.random.normal(size=5)\ndoubled = ..." in text
    assert "def clip(t, limit):\n    # clamp every entry of t into [-limit, limit]\n    ...\n\n\ndef running_mean" in text
    assert "        total += ...\n        ...\n    return means" in text
    assert "**Question 4.** Why do we divide" in text and "_Type your answer here, replacing this text._" in text
    assert "def count_positive(x):\n    return ..." in text


def test_otter_stats_points_follow_otters_rule(stats):
    points = {check["name"]: check["max_score"] for check in stats.verdicts["correct"]["checks"]}
    assert points == {"test_q1_1": 1, "test_q1_2": 2, "test_q1_3": 1, "test_q2_1": 0.5, "test_q2_2": 0.5,
                      "test_q3_1": 2, "test_q3_2": 1, "test_q3_3": 1, "test_q5_1": 1, "test_q5_2": 1}
    assert stats.score("correct") == pytest.approx(11)


def test_otter_stats_scores_each_case_its_points(stats):
    assert stats.passed("mixed") == {"test_q1_1": True, "test_q1_2": False, "test_q1_3": True, "test_q2_1": False,
                                     "test_q2_2": True, "test_q3_1": True, "test_q3_2": False, "test_q3_3": True,
                                     "test_q5_1": True, "test_q5_2": False}
    assert stats.score("mixed") == pytest.approx(2 + 0.5 + 3 + 1)
    assert stats.score("no_clamp") == pytest.approx(9)
    assert not stats.passed("no_clamp")["test_q3_1"]


def test_otter_stats_failure_message_is_shown(stats):
    message = next(check["message"] for check in stats.verdicts["mixed"]["checks"] if check["name"] == "test_q2_1")
    assert message.startswith("doubled must be twice samples")


def test_otter_stats_gives_students_no_solution_or_hidden_test(stats):
    stats.assert_kept_from_students(
        ["x.std(unbiased=False) # SOLUTION", "x.std(unbiased=False)\n", "doubled = 2 * samples", "t.clamp(-limit",
         "total / count", "int((x > 0).sum())", "Dividing makes the spread one", "checking my own solution",
         "secret_scratch_value", "BEGIN PROMPT", "# SOLUTION", "BEGIN IGNORE", "# SEED", "name: q1"],
        hidden=["torch.tensor([2.0, 4.0, 6.0, 8.0])", "tensor([-5.0, 0.5, 5.0])", "tensor([-1.0, 0.0, 2.0])",
                "instructor debugging"])


# --- otter: exception-based tests (tests: ok_format: false) ---------------------------------------------------

ROWS = "def normalize_rows(m):\n    return m / m.sum(dim=1, keepdim=True)"
ROWS_STUDENTS = {
    "correct": ["import torch", ROWS, "weights = normalize_rows(torch.ones(2, 4))"],
    # columns instead of rows: every case fails
    "columns": ["import torch", "def normalize_rows(m):\n    return m / m.sum(dim=0, keepdim=True)",
                "weights = normalize_rows(torch.ones(2, 4))"],
    # the rows right, weights transposed: q2 fails (1)
    "transposed": ["import torch", ROWS, "weights = normalize_rows(torch.ones(2, 4)).T"],
    # imports torch as T: otter passes the test functions the student's globals, and there is no torch
    # among them: both q1 cases fail; q2 (weights only) passes
    "renamed_torch": ["import torch as T", "def normalize_rows(m):\n    return m / m.sum(dim=1, keepdim=True)",
                      "weights = normalize_rows(T.ones(2, 4))"],
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> Course:
    return Course(tmp_path_factory.mktemp("rows"), "otter_exceptions.ipynb", "rows", ROWS_STUDENTS)


def test_otter_exception_based_tests_validate(rows):
    assert rows.validated.returncode == 0, rows.validated.stdout + rows.validated.stderr
    assert "reference solution: 4/4" in rows.validated.stdout and "1/1 mutants caught" in rows.validated.stdout
    assert "note: q3 (manual, 3 points, cell 23)" in rows.authored.stdout


def test_otter_exception_based_tests_call_each_function_with_the_students_globals(rows):
    assert rows.score("correct") == 4
    assert rows.score("columns") == 0
    assert rows.passed("transposed") == {"test_q1_1": True, "test_q1_2": True, "test_q2_1": False}
    assert rows.score("transposed") == 3
    assert rows.passed("renamed_torch") == {"test_q1_1": False, "test_q1_2": False, "test_q2_1": True}
    assert rows.score("renamed_torch") == 1


def test_otter_exception_based_tests_give_students_no_solution_or_hidden_test(rows):
    text = rows.template()
    assert "weights = ..." in text
    assert 'print("rows:", weights.shape[0])' not in text
    rows.assert_kept_from_students(["m.sum(dim=1, keepdim=True)", "normalize_rows(torch.ones(2, 4))",
                                    "each row sums to", "ok_format"],
                                   hidden=["[[0.25, 0.25, 0.5]]", "test_values", "wrong values"])


# --- what a master may hold that grader author does not support: one line each -------------------------------

def otter_master(path: Path, *cells, metadata: dict | None = None) -> Path:
    made = [nbformat.v4.new_raw_cell(text[4:]) if text.startswith("raw:") else
            new_markdown_cell(text[3:]) if text.startswith("md:") else new_code_cell(text) for text in cells]
    nbformat.write(new_notebook(cells=made, metadata=metadata or {}), str(path))
    return path


QUESTION = ["raw:# BEGIN QUESTION\nname: q1", "raw:# BEGIN SOLUTION", "x = 2 # SOLUTION", "raw:# END SOLUTION",
            "raw:# BEGIN TESTS", "x", "raw:# END TESTS", "raw:# END QUESTION"]
UNSUPPORTED = {
    "plugin": (["raw:# ASSIGNMENT CONFIG\nname: p", '""" # BEGIN PLUGIN\nplugin: otter.plugins.builtin.GoogleSheets\n'
                '""" # END PLUGIN'] + QUESTION,
               "cell 2: otter's student-facing plugins (# BEGIN PLUGIN) are not supported here; remove the plugin "
               "block from the master"),
    "autograder_files": (["raw:# ASSIGNMENT CONFIG\nautograder_files: [secret.csv]"] + QUESTION,
                         ": ASSIGNMENT CONFIG autograder_files is not supported (every file the notebook reads goes "
                         "to students too here); move them to files: or out of the master"),
    "missing_file": (["raw:# ASSIGNMENT CONFIG\nfiles: [nowhere.csv]"] + QUESTION,
                     ": ASSIGNMENT CONFIG files: nowhere.csv is not a file beside the master (a path relative to its "
                     "folder); fix the entry"),
    "unclosed_prompt": (QUESTION[:2] + ['def f():\n    """ # BEGIN PROMPT\n    pass\n'] + QUESTION[3:],
                        "cell 3: a \"\"\" # BEGIN PROMPT string is not closed; add its \"\"\" # END PROMPT line"),
    "points_list": (["raw:# BEGIN QUESTION\nname: q1\npoints: [1, 2]"] + QUESTION[1:],
                    "cell 1: points lists 2 values for 1 test cases"),
    "test_config_key": (QUESTION[:5] + ['""" # BEGIN TEST CONFIG\nweight: 2\n""" # END TEST CONFIG\nx'] + QUESTION[6:],
                        "cell 6: the test config has weight; otter knows hidden, points, success_message and "
                        "failure_message"),
    "v0": (["md:```\nBEGIN QUESTION\nname: q1\n```", "x = 2 # SOLUTION", "## Test ##\nx"],
           ": otter's v0 format (BEGIN QUESTION in a Markdown code block); grader author reads v1 (raw cells "
           "# BEGIN QUESTION ...): convert it with python3 -m otter.assign.v0.convert, then author the converted "
           "notebook"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_an_unsupported_master_feature_is_one_line_naming_file_and_cell(tmp_path, case):
    cells, message = UNSUPPORTED[case]
    path = otter_master(tmp_path / f"{case}.ipynb", *cells)
    result = run_grader("author", str(path), str(tmp_path / "assignments" / "hw"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.strip().startswith(f"error: {path}") and result.stderr.strip().endswith(message)


def test_an_r_master_is_one_line(tmp_path):
    path = otter_master(tmp_path / "r.ipynb", *QUESTION, metadata={"kernelspec": {"language": "R", "name": "ir",
                                                                                  "display_name": "R"}})
    result = run_grader("author", str(path), str(tmp_path / "assignments" / "hw"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {path}: a R notebook; grader author reads Python masters only "
                                     "(the checks run Python)")


def test_otter_files_become_support_files_students_get(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("x,y\n1,2\n3,4\n")
    path = otter_master(tmp_path / "files.ipynb", "raw:# ASSIGNMENT CONFIG\nfiles:\n  - data/points.csv",
                        "raw:# BEGIN QUESTION\nname: q1\npoints: 2", "raw:# BEGIN SOLUTION",
                        "def total():\n    rows = open('data/points.csv').read().split()[1:] # SOLUTION\n"
                        "    return sum(int(v) for row in rows for v in row.split(',')) # SOLUTION",
                        "raw:# END SOLUTION", "raw:# BEGIN TESTS", "total()", "raw:# END TESTS", "raw:# END QUESTION")
    course = tmp_path / "course"
    assert run_grader("author", str(path), str(course / "assignments" / "files")).returncode == 0
    home = course / "assignments" / "files"
    assert (home / "data" / "points.csv").read_text() == "x,y\n1,2\n3,4\n"
    assert 'support_files = ["data/points.csv"]' in (home / "assignment.toml").read_text()
    result = run_grader("validate", "files", "--assignments", str(course / "assignments"), "--device", "cpu")
    assert result.returncode == 0 and "reference solution: 2/2" in result.stdout, result.stdout + result.stderr
    checked = run_grader("author", str(path), str(home), "--check")
    assert checked.returncode == 0, checked.stdout


def test_nbgrader_a_failing_public_assert_says_which(regression):
    message = next(check["message"] for check in regression.verdicts["float32"]["checks"] if check["name"] == "test_lr")
    assert "failed: assert abs(learning_rate - 0.1) < 1e-12" in message
    assert "failed: assert abs(learning\\_rate - 0.1) &lt; 1e-12" in regression.feedback()  # Markdown-escaped
