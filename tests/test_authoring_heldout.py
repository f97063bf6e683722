"""Masters written the way an intro PyTorch course writes them in nbgrader's and otter's formats (not the
conformance suite's): each authored, validated, released and used to grade students who filled in the released
template with known mistakes. Every score is the one the tool's own rule gives (nbgrader: a grade cell passes or
fails whole; otter: a question's points shared by its cases unless a case gives its own, hidden cases counted),
and nothing a student receives holds a solution line or a hidden test."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from authoring_course import AuthoredCourse
from conftest import run_grader


def filled_templates(students: dict[str, dict[int, str]]):
    """Students who each filled in the released template: its cells at those indexes replaced."""
    def write(folder: Path, home: Path) -> list[Path]:
        paths = []
        for name, answers in students.items():
            notebook = nbformat.read(str(home / f"{home.name}.ipynb"), as_version=4)
            for index, source in answers.items():
                notebook.cells[index].source = source
            paths.append(folder / f"{name}.ipynb")
            nbformat.write(notebook, str(paths[-1]))
        return paths
    return write


class FilledCourse(AuthoredCourse):
    """One master authored, validated and released; students are the template with some cells replaced; the
    last one also runs `grader check` in the released folder."""

    def __init__(self, root: Path, master: str, assignment: str, students: dict[str, dict[int, str]]):
        super().__init__(root, master, assignment, filled_templates(students))
        self.checked = run_grader("check", assignment, str(self.student_paths[-1]), cwd=root / "bundle")

    def scores(self) -> dict[str, float]:
        return {name: verdict["score"] for name, verdict in self.verdicts.items()}

    def students_receive(self) -> str:
        """Template, README, the released folder (the wheel excepted), grader check's output."""
        return "\n".join(self.released_files() + [(self.home / "README.md").read_text(), self.checked.stdout,
                                                   self.checked.stderr])


# --- nbgrader: softmax and one-hot (extension metadata, cell ids, locked helpers, loops and prints) -------------

SOFTMAX = '''def stable_softmax(x):
    """Softmax over the last dimension."""
    shifted = x - x.max(dim=-1, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)'''
ONE_HOT = '''def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    out[torch.arange(len(labels)), labels] = 1.0
    return out'''
# template cells: 2 helpers (locked), 4 stable_softmax, 8 one_hot
SOFTMAX_STUDENTS = {
    "correct": {4: SOFTMAX, 8: ONE_HOT},
    # no max shift: the visible lines pass, the hidden overflow line fails its cell (3): 2 + 0 + 1 + 2
    "naive": {4: "def stable_softmax(x):\n    return x.exp() / x.exp().sum(dim=-1, keepdim=True)", 8: ONE_HOT},
    # int64 one-hot: the dtype assert fails test_one_hot (1); the hidden cell compares values, passes: 2 + 3 + 2
    "int_one_hot": {4: SOFTMAX, 8: ONE_HOT.replace("num_classes)", "num_classes, dtype=torch.long)").replace(
        "1.0", "1")},
    # softmax over dim 0, and the locked helper edited to pass anything: nbgrader grades with the master's
    # helper, so both softmax cells fail (0 + 0); one_hot right (1 + 2)
    "edited_helper": {2: "def close(a, b, tol=1e-5):\n    return True\n\n\ndef sample(rows, cols, seed=0):\n"
                         "    g = torch.Generator().manual_seed(seed)\n    return torch.randn(rows, cols, generator=g) * 3",
                      4: SOFTMAX.replace("dim=-1", "dim=0"), 8: ONE_HOT},
}


@pytest.fixture(scope="module")
def softmax_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("softmax"), "heldout_nbgrader_softmax.ipynb", "softmax",
                        SOFTMAX_STUDENTS)


def test_nbgrader_softmax_validates(softmax_course):
    assert softmax_course.validated.returncode == 0, softmax_course.validated.stdout
    assert "reference solution: 8/8" in softmax_course.validated.stdout


def test_nbgrader_softmax_scores_each_grade_cell_whole(softmax_course):
    assert softmax_course.scores() == {"correct": 8, "naive": 5, "int_one_hot": 7, "edited_helper": 3}


def test_nbgrader_softmax_gives_students_no_solution_or_hidden_test(softmax_course):
    solutions = ["x.max(dim=-1, keepdim=True).values", "exps / exps.sum", "out[torch.arange(len(labels)), labels]",
                 "the shift does not change the result"]
    hidden = ["1000.0, 1001.0", "overflow on large logits", "torch.tensor([4]), 5", "dtype=torch.long), 2",
              "HIDDEN TESTS"]
    softmax_course.assert_kept_from_students(solutions, hidden)


# --- otter: tensors, a layer and a loss (otter's config keys, points absent/number/list, test config blocks) -----

NORMALIZE = "def normalize(x):\n    norm = x.norm()\n    if norm == 0:\n        return x.clone()\n    return x / norm"
AFFINE = '''class Affine(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return x * self.weight + self.bias'''
CROSS_ENTROPY = '''def cross_entropy(logits, targets):
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].mean()'''
ACCURACY = "def accuracy(logits, targets):\n    return (logits.argmax(dim=1) == targets).float().mean().item()"
# template cells: 3 normalize, 5 Affine, 7 cross_entropy, 9 accuracy. Points: q1 2 over 3 cases (2/3 each);
# q2 none: 1 over 2 cases (0.5 each); q3 [1, 1, 2]; q4 3: the hidden case's 2, the other two share 1 (0.5 each)
TENSORS_STUDENTS = {
    "correct": {3: NORMALIZE, 5: AFFINE, 7: CROSS_ENTROPY, 9: ACCURACY},
    # no zero guard: the hidden zeros case gives nan (q1: 4/3 of 2)
    "no_zero_guard": {3: "def normalize(x):\n    return x / x.norm()", 5: AFFINE, 7: CROSS_ENTROPY, 9: ACCURACY},
    # log of softmax: the hidden 500-logit case is inf (q3 loses its 2)
    "log_softmax_by_hand": {3: NORMALIZE, 5: AFFINE, 9: ACCURACY, 7: '''def cross_entropy(logits, targets):
    probs = logits.softmax(dim=1)
    return -probs[torch.arange(len(targets)), targets].log().mean()'''},
    # bias of ones (q2: the hidden case fails, 0.5 of 1) and accuracy a tensor, not a float (q4: 0 of 3)
    "tensor_accuracy": {3: NORMALIZE, 5: AFFINE.replace("torch.zeros(d)", "torch.ones(d)"), 7: CROSS_ENTROPY,
                        9: "def accuracy(logits, targets):\n    return (logits.argmax(dim=1) == targets).float().mean()"},
}


@pytest.fixture(scope="module")
def tensors_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("tensors"), "heldout_otter_tensors.ipynb", "tensors",
                        TENSORS_STUDENTS)


def test_otter_tensors_validates(tensors_course):
    assert tensors_course.validated.returncode == 0, tensors_course.validated.stdout
    assert "reference solution: 10/10" in tensors_course.validated.stdout


def test_otter_tensors_scores_follow_otters_rule(tensors_course):
    assert tensors_course.scores() == pytest.approx({"correct": 10, "no_zero_guard": 8 + 4 / 3,
                                                     "log_softmax_by_hand": 8, "tensor_accuracy": 6.5})


def test_otter_tensors_gives_students_no_solution_or_hidden_test(tensors_course):
    solutions = ["if norm == 0", "x.norm()", "nn.Parameter(torch.ones(d))", "x * self.weight + self.bias",
                 "logits.logsumexp(dim=1", "argmax(dim=1) == targets"]
    hidden = ["normalize(torch.zeros(3))", "Affine(2)(torch.tensor", "500.0, 0.0", "the loss must be the mean",
              "torch.eye(2), torch.tensor([1, 1])", "# HIDDEN", "hidden: true"]
    tensors_course.assert_kept_from_students(solutions, hidden)


# --- nbgrader: a linear model and a training step (nose in a locked setup cell, helpers that train) ------------

REGRESSOR = '''class LinearRegressor(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.linear = nn.Linear(d_in, 1)

    def forward(self, x):
        return self.linear(x)'''
TRAIN_STEP = '''def train_step(model, optimizer, X, y):
    optimizer.zero_grad()
    loss = F.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()'''
# template cells: 3 LinearRegressor, 5 train_step. Cells: test_model 1, test_params 1, test_training 2 (a hidden
# line), test_zero_grad 2 (hidden)
TRAINING_STUDENTS = {
    "correct": {3: REGRESSOR, 5: TRAIN_STEP},
    # no zero_grad: the accumulated gradients make the loss rise (test_training's "down at every step" fails)
    # and the hidden gradient comparison fails test_zero_grad: 1 + 1 (run as plain Python, as nbgrader runs it)
    "no_zero_grad": {3: REGRESSOR, 5: TRAIN_STEP.replace("    optimizer.zero_grad()\n", "")},
    # a bias-free layer: 4 parameters (test_params fails, 1); training still works: 1 + 2 + 2
    "no_bias": {3: REGRESSOR.replace("nn.Linear(d_in, 1)", "nn.Linear(d_in, 1, bias=False)"), 5: TRAIN_STEP},
}


@pytest.fixture(scope="module")
def training_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("training"), "heldout_nbgrader_training.ipynb", "training",
                        TRAINING_STUDENTS)


def test_nbgrader_nose_import_in_a_setup_cell_reaches_the_reference(training_course):
    # the locked setup cell's `from nose.tools import ...` (nose is dead on 3.12) must not stop the reference
    assert "ModuleNotFoundError" not in training_course.validated.stdout + training_course.validated.stderr
    assert "reference solution:" in training_course.validated.stdout


def test_nbgrader_training_scores_each_grade_cell_whole(training_course):
    assert training_course.scores() == {"correct": 6, "no_zero_grad": 2, "no_bias": 5}


def test_nbgrader_training_gives_students_no_solution_or_hidden_test(training_course):
    solutions = ["self.linear = nn.Linear(d_in, 1)", "F.mse_loss(model(X), y)", "return self.linear(x)"]
    hidden = ["0.2 * losses[0]", "cut the loss by 5x", "with lr=0 the loss", "zero the gradients before",
              "HIDDEN TESTS"]
    training_course.assert_kept_from_students(solutions, hidden)


# --- otter: a tiny network, a loss and a gradient step (prompts, IGNORE, print tests, a manual question) -------

TINY = '''class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1)

    def forward(self, x):
        return self.fc(x)'''
MSE = "def mse(pred, target):\n    return ((pred - target) ** 2).mean()"
STEP = '''def gradient_step(w, b, lr):
    loss = ((X * w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        return w - lr * w.grad, b - lr * b.grad'''
# template cells: 3 TinyNet, 5 mse, 7 gradient_step. Points: net 2 over 3 cases (2/3 each); loss 3: the hidden
# case's 2, the other two share 1 (0.5 each); step [1, 2]
OTTER_TRAINING_STUDENTS = {
    "correct": {3: TINY, 5: MSE, 7: STEP},
    # a sum for a mean: the first and the hidden loss cases fail, .dim() passes (0.5): 2 + 0.5 + 3
    "sum_loss": {3: TINY, 5: MSE.replace(".mean()", ".sum()"), 7: STEP},
    # no bias (the hidden parameter shapes fail: 4/3) and the bias never stepped (both step cases fail)
    "no_bias": {3: TINY.replace("nn.Linear(1, 1)", "nn.Linear(1, 1, bias=False)"), 5: MSE,
                7: STEP.replace("b - lr * b.grad", "b")},
    # the step outside no_grad: the same values, with a grad_fn (8)
    "with_grad_fn": {3: TINY, 5: MSE, 7: STEP.replace("    with torch.no_grad():\n        return", "    return")},
}


@pytest.fixture(scope="module")
def otter_training_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("otter_training"), "heldout_otter_training.ipynb", "steps",
                        OTTER_TRAINING_STUDENTS)


def test_otter_training_validates_and_names_the_manual_question(otter_training_course):
    assert otter_training_course.validated.returncode == 0, otter_training_course.validated.stdout
    assert "reference solution: 8/8" in otter_training_course.validated.stdout
    assert "reflection (manual, 2 points" in otter_training_course.authored.stdout


def test_otter_training_scores_follow_otters_rule(otter_training_course):
    assert otter_training_course.scores() == pytest.approx({"correct": 8, "sum_loss": 5.5, "no_bias": 4 / 3 + 3,
                                                            "with_grad_fn": 8})


def test_otter_training_gives_students_no_solution_or_hidden_test(otter_training_course):
    solutions = ["nn.Linear(1, 1)  #", "return self.fc(x)", "** 2).mean()", "loss.backward()", "w - lr * w.grad",
                 "Gradients accumulate"]
    hidden = ["tuple(p.shape) for p", "[[0.5], [-1.5]]", "torch.tensor(2.0, requires_grad=True)",
              "gradient of the mean, not the sum", "# HIDDEN", "hidden: true"]
    otter_training_course.assert_kept_from_students(solutions, hidden)


# --- otter: tests that build torch.nn layers and torch.optim optimizers and hand them to the student's step -----

STEP = '''def step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return loss.item()'''
# template cell 2 is step; q1's 3 points are shared by its 3 cases (SGD over 30 steps, one Adam step, SGD at
# lr=0 hidden). Scores as the master's cells give them run as plain Python (5 seeds: the same every time).
STEP_STUDENTS = {
    "correct": {2: STEP},
    "no_zero_grad": {2: STEP.replace("    optimizer.zero_grad()\n", "")},  # gradients pile up: case 1 fails
    "no_step": {2: STEP.replace("    optimizer.step()\n", "")},  # nothing learns: cases 1 and 2 fail
}


@pytest.fixture(scope="module")
def step_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("steps"), "otter_optimizer.ipynb", "steps", STEP_STUDENTS)


def test_otter_layers_and_optimizers_a_test_builds_are_made_where_the_students_code_runs(step_course):
    assert "reference solution: 3/3" in step_course.validated.stdout, step_course.validated.stdout


def test_otter_optimizer_tests_score_as_otter_does(step_course):
    assert step_course.scores() == {"correct": 3, "no_zero_grad": 2, "no_step": 1}
