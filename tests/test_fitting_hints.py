"""Hints chosen from the failure the student's result shows (grader/hints.py), each provoked by the planted
mistake of the catalogue that makes it, graded through the real sandbox and judge.

The check's own hint was written for another mistake: a softmax summed over dim 0 used to read "sigmoid does
not make rows sum to 1", a forward that returns None "flatten the images", a train_epoch returning a tuple
"use loss.item()".
"""

from __future__ import annotations

import pytest

from conftest import REPO
from grader.judge import start_judge
from grader.models import CheckResult, Verdict
from grader.mutants import apply_all, as_submission, load_mistakes
from grader.spec import load_assignment
from grader.student_view import student_view

HW2_MUTANTS = ["softmax_dim0", "softmax_global_sum", "forward_sigmoid_output", "forward_forgets_return"]


def grade_mutants(homework: str, names: list[str], include_hidden: bool) -> dict[str, Verdict]:
    spec = load_assignment(homework, REPO / "assignments")
    mistakes = [mistake for mistake in load_mistakes(spec) if mistake.name in names]
    planted = apply_all(mistakes, spec.reference_solution())
    with start_judge(spec, include_hidden=include_hidden, device="cpu", allow_unisolated=True) as judge:
        verdicts = judge.grade([as_submission(mistake, planted[mistake.name], spec) for mistake in mistakes])
    return {mistake.name: verdict for mistake, verdict in zip(mistakes, verdicts)}


def check(verdict: Verdict, name: str) -> CheckResult:
    return next(result for result in verdict.checks if result.name == name)


@pytest.fixture(scope="module")
def hw2() -> dict[str, Verdict]:
    return grade_mutants("hw2", HW2_MUTANTS, include_hidden=True)


def test_softmax_over_dim0_is_told_its_columns_sum_to_one(hw2):
    result = check(hw2["softmax_dim0"], "test_predict_proba")
    assert not result.passed
    assert "Hint: each column of your result sums to 1, not each row: you normalised over dim 0" in result.message
    assert "sigmoid does not make rows sum to 1" not in result.message


def test_softmax_over_the_whole_batch_is_told_so(hw2):
    result = check(hw2["softmax_global_sum"], "test_softmax_rows_sum_to_one")
    assert "Hint: your whole result sums to 1: you divided by the sum over the whole batch" in result.message


def test_hidden_check_shows_the_column_hint_read_from_the_students_own_result(hw2):
    result = check(student_view(hw2["softmax_dim0"]), "test_predict_proba_flat_float64")
    assert "Hint: each column of your result sums to 1, not each row" in result.message


def test_sigmoid_on_the_output_is_told_about_the_activation_not_the_dtype(hw2):
    public = check(hw2["forward_sigmoid_output"], "test_forward_by_hand_values")
    assert "Hint: every value of your result lies between 0 and 1, as if an activation" in public.message
    hidden = check(hw2["forward_sigmoid_output"], "test_forward_by_hand_float64_single_image")
    assert "as if an activation (sigmoid or softmax) were applied" in hidden.message


def test_hidden_check_keeps_its_own_hint_where_the_observation_compares_with_expected_values(hw2):
    result = check(student_view(hw2["forward_sigmoid_output"]), "test_forward_by_hand_float64_single_image")
    assert not result.passed and "as if an activation" not in result.message


def test_forward_returning_none_is_told_to_return(hw2):
    result = check(hw2["forward_forgets_return"], "test_forward_by_hand_shape")
    assert result.message.startswith("forward_by_hand(images, W1, b1, W2, b2) should return a torch.Tensor, but "
                                     "returned NoneType None")
    assert "Hint: your function returned None: it has no return statement" in result.message
    assert "flatten" not in result.message


def test_train_epoch_returning_a_tuple_is_told_to_return_one_value():
    verdict = grade_mutants("hw5", ["returns_loss_and_batches"], include_hidden=False)["returns_loss_and_batches"]
    result = check(verdict, "test_train_epoch_returns_mean_batch_loss")
    assert "should return a float, but returned a tuple of 2 items" in result.message
    assert "Hint: your function returned a tuple of 2 items where one value was due" in result.message
    assert "loss.item()" not in result.message


@pytest.fixture(scope="module")
def hw4() -> dict[str, Verdict]:
    return grade_mutants("hw4", ["network_misnamed_output", "fc2_wrong_size", "sequential_output_wrong_size"],
                         include_hidden=False)


def test_a_misnamed_layer_is_told_to_rename_it(hw4):
    result = check(hw4["network_misnamed_output"], "test_network_layers")
    assert result.message == ("Network has no layer named 'fc3' (its layers: fc1, fc2, out)\nHint: your layer 'out' "
                              "has the right sizes, Linear(64, 10): rename it to fc3; the checks find layers by name")


def test_a_misnamed_layer_in_the_weight_checks_is_told_the_names_not_the_sizes(hw4):
    failed = [result for result in hw4["network_misnamed_output"].checks
              if not result.passed and "do not fit the required layers" in result.message]
    assert failed
    assert all("Hint: the sizes are right but the names are not" in result.message for result in failed)


def test_wrong_sizes_still_get_the_sizes_hint(hw4):
    result = check(hw4["fc2_wrong_size"], "test_network_layers")
    assert "Hint: layer sizes are 784→128→64→10" in result.message


def test_the_sequential_size_hint_names_its_last_layer_output(hw4):
    result = check(hw4["sequential_output_wrong_size"], "test_sequential_structure")
    assert result.message.startswith("build_sequential().output is Linear(64, 100), expected Linear(64, 10)")
    assert "output = nn.Linear(64, 10)" in result.message and "fc3" not in result.message


def test_a_fixed_batch_in_forward_is_diagnosed_without_the_flatten_hint():
    verdict = grade_mutants("hw4", ["network_hardcoded_batch"], include_hidden=True)["network_hardcoded_batch"]
    public = check(verdict, "test_network_forward_images")
    assert public.message.startswith("Network()(x) for x of shape (4, 1, 28, 28): your Network(...): your code "
                                     "assumed a batch of 64; this check sent a batch of 4")
    assert "flatten the images first" not in public.message
    hidden = check(student_view(verdict), "test_network_other_batches")
    assert hidden.message.startswith("Network()(x) for x of shape (1, 784): your code assumed a fixed "
                                     "batch size; this check sent a batch of 1\nHint: do not write the batch size")
    assert "64" not in hidden.message and "forward should flatten" not in hidden.message
