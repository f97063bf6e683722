"""grader.hints through the assertions that use them: the hint the student's result calls for replaces the
check's, and a hidden check's student message gets it only when it was read from the student's own result."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from grader import hints
from grader.assertions import CheckFailed, expect_close, expect_rows_sum_to_one, expect_tensor, expect_type
from grader.i18n import load_catalog

REPO = Path(__file__).resolve().parents[2]


def failure(assertion, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        assertion(*args, **kwargs)
    return raised.value


def test_a_tensor_result_that_is_none_is_told_to_return():
    error = failure(expect_tensor, None, what="f(x)", hint="flatten the images first")
    assert str(error).endswith("Hint: your function returned None: it has no return statement, or returns before "
                               "its result is computed; end it with return <result>.")
    assert "Hint: your function returned None" in error.student_message


def test_a_float_result_that_is_a_tuple_is_told_to_return_one_value():
    error = failure(expect_type, (0.5, 3), float, what="train_epoch", hint="use loss.item()")
    assert "tuple of 2 items where one value was due" in str(error) and "loss.item()" not in str(error)


def test_a_tuple_where_a_tuple_is_due_keeps_the_checks_hint():
    error = failure(expect_type, [1], tuple, what="f()", hint="return a tuple")
    assert str(error).endswith("Hint: return a tuple")


def test_columns_summing_to_one_are_named():
    probabilities = torch.softmax(torch.randn(4, 10), dim=0)
    error = failure(expect_rows_sum_to_one, probabilities, what="softmax(x)", hint="sigmoid does not sum to 1")
    assert "each column of your result sums to 1" in str(error) and "sigmoid" not in str(error)
    assert "each column of your result sums to 1" in error.student_message


def test_rows_that_do_not_sum_to_one_for_no_known_reason_keep_the_checks_hint():
    error = failure(expect_rows_sum_to_one, torch.sigmoid(torch.randn(4, 10)), what="p", hint="use softmax")
    assert str(error).endswith("Hint: use softmax")


def test_a_transposed_result_is_named_in_public_messages_only():
    expected = torch.randn(5, 5)
    error = failure(expect_close, expected.T.contiguous(), expected, what="f(x)", hint="check the formula")
    assert str(error).endswith("Hint: your result is the transpose of the right one: swap the operands of the "
                               "matrix product, or drop a .T.")
    assert error.student_message.endswith("Hint: check the formula")


def test_probabilities_where_logits_are_due_are_named():
    logits = torch.randn(4, 10) * 3
    error = failure(expect_close, torch.sigmoid(logits), logits, what="forward(x)", hint="keep float64")
    assert "as if an activation (sigmoid or softmax) were applied" in str(error)
    assert "keep float64" in error.student_message


def test_wrong_probabilities_where_probabilities_are_due_keep_the_checks_hint():
    want = torch.softmax(torch.randn(4, 10), dim=1)
    error = failure(expect_close, torch.softmax(torch.randn(4, 10), dim=1), want, what="p(x)", hint="recheck it")
    assert str(error).endswith("Hint: recheck it")


def test_every_hint_text_has_a_russian_entry():
    catalog = load_catalog(REPO / "grader" / "locale" / "ru.toml")
    tree = ast.parse(Path(hints.__file__).read_text())
    texts = [node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr"
             and node.args and isinstance(node.args[0], ast.Constant)]
    assert len(texts) == 6
    assert [text for text in texts if not catalog.get(text)] == []
