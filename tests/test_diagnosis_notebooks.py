"""Real-style notebooks with the errors students make, graded through the real sandbox: each check that
ran the broken code names the cause and the fix (grader/judge/diagnosis.py), with torch's message below.

Each notebook is the course's correct hw2 or hw3 notebook with one cell rewritten the way students
write it. Public checks go through ``check_notebook`` (what `grader check` shows); the float64 family
shows only in hidden checks, graded by the judge with hidden checks and read back as a student reads
them (``student_view``): the cause there holds no number from the error message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO
from grader.api import check_notebook
from grader.extract import extract_submission
from grader.i18n import set_language
from grader.judge import start_judge
from grader.models import CheckResult, Verdict
from grader.spec import load_assignment
from grader.student_view import student_view

HW2_CORRECT = REPO / "submissions" / "hw2" / "correct.ipynb"
HW3_CORRECT = REPO / "submissions" / "hw3" / "correct.ipynb"
HW2_SOFTMAX_CELL, HW2_FORWARD_CELL, HW3_QUADRATIC_CELL = 8, 11, 4  # positions among all cells, from 1

FORWARD_FIXED_BATCH = '''def forward_by_hand(images, W1, b1, W2, b2):
    x = images.view(64, 784)   # MNIST batches are 64
    hidden = sigmoid(x @ W1 + b1)
    return hidden @ W2 + b2
'''
FORWARD_FIXED_NOISE = '''def forward_by_hand(images, W1, b1, W2, b2):
    x = images.reshape(images.shape[0], -1)
    dropout_mask = (torch.rand(64, 256) > 0.0).float()
    hidden = sigmoid(x @ W1 + b1) * dropout_mask
    return hidden @ W2 + b2
'''
FORWARD_FLOAT32_WEIGHTS = '''def forward_by_hand(images, W1, b1, W2, b2):
    x = images.reshape(images.shape[0], -1)
    W1 = torch.tensor(W1.tolist())   # a copy, so the caller's weights stay untouched
    hidden = sigmoid(x @ W1 + b1)
    return hidden @ W2 + b2
'''
SOFTMAX_NO_KEEPDIM = '''def softmax(x):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=1)
'''
SOFTMAX_FIXED_COLUMN = '''def softmax(x):
    e = torch.exp(x - x.max())
    return e / e.sum(dim=1).view(64, 1)
'''
QUADRATIC_NON_SCALAR = '''def quadratic_grad(x):
    xc = x.clone().detach().requires_grad_(True)
    y = xc**2 + 5*xc
    y.backward()
    return xc.grad
'''
QUADRATIC_NO_REQUIRES_GRAD = '''def quadratic_grad(x):
    y = (x**2 + 5*x).sum()
    y.backward()
    return x.grad
'''


def notebook_with(correct: Path, position: int, source: str, folder: Path, name: str) -> Path:
    notebook = json.loads(correct.read_text())
    notebook["cells"][position - 1]["source"] = source
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def check(verdict: Verdict, name: str) -> CheckResult:
    found = [result for result in verdict.checks if result.name == name]
    assert found, f"no check {name} in {[result.name for result in verdict.checks]}"
    return found[0]


def test_view_with_a_fixed_batch_is_diagnosed(tmp_path):
    verdict = check_notebook("hw2", notebook_with(HW2_CORRECT, HW2_FORWARD_CELL, FORWARD_FIXED_BATCH, tmp_path,
                                                  "fixed_batch"))
    message = check(verdict, "test_forward_by_hand_shape").message
    lines = message.splitlines()
    assert lines[0] == "forward_by_hand(...): your code assumed a batch of 64; this check sent a batch of 4"
    assert lines[1].startswith("Hint: do not write the batch size into your code") and "x.shape[0]" in lines[1]
    # torch's own words stay, below the diagnosis, with the line of the student's code
    assert lines[2].startswith("forward_by_hand(...) raised RuntimeError: shape '[64, 784]' is invalid for input "
                               "of size 3136")
    assert "line 2" in lines[2]


def test_view_with_a_fixed_batch_is_diagnosed_in_russian(tmp_path):
    verdict = check_notebook("hw2", notebook_with(HW2_CORRECT, HW2_FORWARD_CELL, FORWARD_FIXED_BATCH, tmp_path,
                                                  "fixed_batch_ru"), lang="ru")
    message = check(verdict, "test_forward_by_hand_shape").message
    assert message.splitlines()[0] == ("forward_by_hand(...): ваш код рассчитан на батч из 64; эта проверка "
                                       "передала батч из 4")
    assert message.splitlines()[1].startswith("Подсказка: не вписывайте размер батча в код")
    assert "shape '[64, 784]' is invalid for input of size 3136" in message


def test_a_tensor_of_a_fixed_batch_made_in_the_function_is_diagnosed(tmp_path):
    verdict = check_notebook("hw2", notebook_with(HW2_CORRECT, HW2_FORWARD_CELL, FORWARD_FIXED_NOISE, tmp_path,
                                                  "fixed_noise"))
    message = check(verdict, "test_forward_by_hand_values").message
    assert message.splitlines()[0] == ("forward_by_hand(...): your code assumed a batch of 64; this check sent a "
                                       "batch of 4")
    assert "The size of tensor a (4) must match the size of tensor b (64)" in message


def test_softmax_without_keepdim_is_diagnosed(tmp_path):
    verdict = check_notebook("hw2", notebook_with(HW2_CORRECT, HW2_SOFTMAX_CELL, SOFTMAX_NO_KEEPDIM, tmp_path,
                                                  "no_keepdim"))
    message = check(verdict, "test_softmax_rows_sum_to_one").message
    assert message.splitlines()[0] == (
        "softmax(...): a row-wise result lost its dimension: for a (4, 10) input, x.sum(dim=1) has shape (4,), "
        "which lines up with the 10 columns, not with the rows")
    assert "keepdim=True" in message.splitlines()[1] and ".view(-1, 1)" in message.splitlines()[1]
    assert "The size of tensor a (10) must match the size of tensor b (4) at non-singleton dimension 1" in message


def test_softmax_sum_viewed_as_a_fixed_column_is_diagnosed(tmp_path):
    verdict = check_notebook("hw2", notebook_with(HW2_CORRECT, HW2_SOFTMAX_CELL, SOFTMAX_FIXED_COLUMN, tmp_path,
                                                  "fixed_column"))
    message = check(verdict, "test_softmax_values").message
    assert message.splitlines()[0] == "softmax(...): your code assumed a batch of 64; this check sent a batch of 4"
    assert "shape '[64, 1]' is invalid for input of size 4" in message


def test_backward_on_a_vector_is_diagnosed(tmp_path):
    verdict = check_notebook("hw3", notebook_with(HW3_CORRECT, HW3_QUADRATIC_CELL, QUADRATIC_NON_SCALAR, tmp_path,
                                                  "non_scalar"))
    message = check(verdict, "test_quadratic_grad_values").message
    assert message.splitlines()[0] == ("quadratic_grad(...): .backward() was called on a tensor with more than one "
                                       "element")
    assert "y.sum().backward()" in message.splitlines()[1]
    assert "grad can be implicitly created only for scalar outputs" in message


def test_backward_without_requires_grad_is_diagnosed(tmp_path):
    verdict = check_notebook("hw3", notebook_with(HW3_CORRECT, HW3_QUADRATIC_CELL, QUADRATIC_NO_REQUIRES_GRAD,
                                                  tmp_path, "no_requires_grad"))
    message = check(verdict, "test_quadratic_grad_values").message
    assert message.splitlines()[0].startswith("quadratic_grad(...): .backward() (or autograd.grad) found nothing to "
                                              "differentiate")
    assert "requires_grad_(True)" in message.splitlines()[1]
    assert "element 0 of tensors does not require grad" in message


@pytest.fixture(scope="module")
def float64_verdict(tmp_path_factory) -> Verdict:
    """The notebook whose forward copies W1 to float32, graded with hidden checks (the float64 ones)."""
    spec = load_assignment("hw2", REPO / "assignments")
    path = notebook_with(HW2_CORRECT, HW2_FORWARD_CELL, FORWARD_FLOAT32_WEIGHTS, tmp_path_factory.mktemp("f64"),
                         "float32_weights")
    with start_judge(spec, include_hidden=True, device="cpu", allow_unisolated=True) as judge:
        return judge.grade([extract_submission(path, spec)])[0]


def test_float64_batch_meeting_float32_weights_is_diagnosed(float64_verdict):
    message = check(float64_verdict, "test_forward_by_hand_float64_single_image").message
    assert message.splitlines()[0] == ("forward_by_hand(...): this check sent float64 tensors, and your code "
                                       "combined them with float32 tensors")
    assert "dtype=x.dtype" in message.splitlines()[1]
    assert "expected m1 and m2 to have the same dtype" in message


def test_hidden_check_shows_the_diagnosis_without_the_error_message(float64_verdict):
    result = check(student_view(float64_verdict), "test_forward_by_hand_float64_single_image")
    lines = result.message.splitlines()
    assert lines[0].startswith("your code failed while this check ran it")
    assert lines[1] == ("forward_by_hand(...): this check sent float64 tensors, and your code combined them with "
                        "float32 tensors")
    assert lines[2].startswith("Hint: create new tensors with the input's dtype")
    assert "expected m1 and m2" not in result.message and "line 3" not in result.message


def test_hidden_check_diagnosis_and_label_in_russian(tmp_path):
    spec = load_assignment("hw2", REPO / "assignments")
    path = notebook_with(HW2_CORRECT, HW2_FORWARD_CELL, FORWARD_FLOAT32_WEIGHTS, tmp_path, "float32_weights_ru")
    try:
        with start_judge(spec, include_hidden=True, device="cpu", allow_unisolated=True, lang="ru") as judge:
            verdict = judge.grade([extract_submission(path, spec)])[0]
    finally:
        set_language("en")
    result = check(student_view(verdict), "test_forward_by_hand_float64_single_image")
    assert result.title == "forward_by_hand во float64: батч (3, 1, 28, 28) и батч из одного изображения"
    assert result.message.splitlines()[1] == ("forward_by_hand(...): эта проверка передала тензоры float64, а ваш код "
                                              "смешал их с тензорами float32")
    assert result.message.splitlines()[2].startswith("Подсказка: создавайте новые тензоры с dtype входа")
