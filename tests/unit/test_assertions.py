"""The messages of grader/assertions.py: what a student reads when a check fails.

Each test is one failure kind of one public assertion, with the exact English text (or, where
the text holds numbers the check does not fix, its key parts), and the promise of the module:
the expected value is never printed unless the check asks for it with ``show_expected=True``.
"""

from __future__ import annotations

import pytest
import torch

from grader import notes
from grader.assertions import (CheckFailed, describe_value, expect_close, expect_equal, expect_finite,
                               expect_on_device, expect_rows_sum_to_one, expect_tensor, expect_type, fail,
                               is_remote)
from grader.i18n import set_language
from grader.judge.proxy import Remote

NAN = float("nan")
INF = float("inf")
HIDDEN = 987.25  # an expected value no student value in these tests equals: it must never show up


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    notes.clear()
    yield
    set_language("en")
    notes.clear()


def message_of(assertion, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as raised:
        assertion(*args, **kwargs)
    return str(raised.value)


# fail and CheckFailed ---------------------------------------------------------------------------

def test_fail_raises_the_message_as_given():
    assert message_of(fail, "f(x) is wrong") == "f(x) is wrong"


def test_fail_puts_the_hint_on_its_own_line():
    error = pytest.raises(CheckFailed, fail, "f(x) is wrong", "use torch.exp").value
    assert str(error) == "f(x) is wrong\nHint: use torch.exp"
    assert error.hint == "use torch.exp"


def test_check_failed_is_an_assertion_error_so_pytest_reports_it_as_a_failure():
    assert issubclass(CheckFailed, AssertionError)
    assert CheckFailed("no hint").hint is None


def test_the_hint_line_is_in_the_students_language():
    set_language("ru")
    assert message_of(fail, "f(x) is wrong", "use torch.exp").endswith("\nПодсказка: use torch.exp")


# describe_value ---------------------------------------------------------------------------------

def test_describe_a_tensor_shows_shape_dtype_device_and_the_first_six_values():
    assert describe_value(torch.arange(10.0)) == \
        "a tensor of shape (10,), dtype torch.float32 on cpu: [0, 1, 2, 3, 4, 5, ...]"


def test_describe_a_short_tensor_has_no_ellipsis_and_four_significant_digits():
    assert describe_value(torch.tensor([[1.23456, 2.0]], dtype=torch.float64)) == \
        "a tensor of shape (1, 2), dtype torch.float64 on cpu: [1.235, 2]"


def test_describe_a_list_or_tuple_gives_its_length_not_its_items():
    assert describe_value([HIDDEN, 2]) == "a list of 2 items"
    assert describe_value((1,)) == "a tuple of 1 items"


def test_describe_a_scalar_gives_its_type_and_repr():
    assert describe_value(3) == "int 3"
    assert describe_value("ab") == "str 'ab'"
    assert describe_value(None) == "NoneType None"


def test_describe_a_long_repr_is_cut_at_80_characters():
    described = describe_value("x" * 200)
    assert described == "str '" + "x" * 76 + "..."
    assert len(described) == len("str ") + 80


# expect_type ------------------------------------------------------------------------------------

def test_expect_type_wrong_type():
    assert message_of(expect_type, "3", int, what="count_greater(t, 0.5)") == \
        "count_greater(t, 0.5) should return an int, but returned str '3'"


def test_expect_type_bool_is_not_an_int():
    assert message_of(expect_type, True, int, what="count_greater(t, 0.5)") == \
        "count_greater(t, 0.5) should return an int, but returned bool True"


def test_expect_type_several_types_are_joined_with_or():
    assert message_of(expect_type, 1.0, (int, list), what="f()") == \
        "f() should return an int or list, but returned float 1.0"


def test_expect_type_a_tensor_where_a_number_was_due_is_described():
    assert message_of(expect_type, torch.tensor(3), int, what="count_greater(t, 0.5)") == \
        "count_greater(t, 0.5) should return an int, but returned a tensor of shape (), dtype torch.int64 on cpu: [3]"


def test_expect_type_passes_the_right_type_and_bool_when_asked():
    expect_type(3, int, what="f()")
    expect_type(True, bool, what="f()")
    expect_type(2.5, (int, float), what="f()")


def test_expect_type_with_hint():
    assert message_of(expect_type, None, float, what="loss()", hint="return loss.item()") == \
        "loss() should return a float, but returned NoneType None\nHint: return loss.item()"


# expect_tensor ----------------------------------------------------------------------------------

def test_expect_tensor_not_a_tensor():
    assert message_of(expect_tensor, [1, 2], what="flatten_batch(x)") == \
        "flatten_batch(x) should return a torch.Tensor, but returned a list of 2 items"


def test_expect_tensor_shape():
    assert message_of(expect_tensor, torch.ones(2, 3), what="flatten_batch(x)", shape=(3, 2)) == \
        "flatten_batch(x): shape is (2, 3), expected (3, 2)"


def test_expect_tensor_dtype():
    assert message_of(expect_tensor, torch.ones(2), what="arange_matrix(2, 1)", dtype=torch.int64) == \
        "arange_matrix(2, 1): dtype is torch.float32, expected torch.int64"


def test_expect_tensor_device():
    assert message_of(expect_tensor, torch.ones(2), what="to_device(x, 'cuda')", device="cuda:0") == \
        "to_device(x, 'cuda'): your result is on cpu, the input was on cuda:0"


def test_expect_tensor_device_without_an_index_matches_any_index():
    assert message_of(expect_tensor, torch.ones(2), what="f(x)", device="meta") == \
        "f(x): your result is on cpu, the input was on meta"
    assert expect_tensor(torch.ones(2), what="f(x)", device="cpu").shape == (2,)


def test_expect_tensor_shape_is_checked_before_dtype():
    assert message_of(expect_tensor, torch.ones(2), what="f(x)", shape=(3,), dtype=torch.int64) == \
        "f(x): shape is (2,), expected (3,)"


def test_expect_tensor_returns_the_tensor_when_it_fits():
    value = torch.zeros(2, 2, dtype=torch.int64)
    assert expect_tensor(value, what="f(x)", shape=[2, 2], dtype=torch.int64, device="cpu") is value


# expect_close on tensors ------------------------------------------------------------------------

def test_expect_close_largest_difference_its_index_and_the_students_value():
    got = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    want = torch.tensor([[1.0, 2.1, 3.0], [4.0, 5.0, HIDDEN]])
    assert message_of(expect_close, got, want, what="standardize_columns(x)") == (
        "standardize_columns(x): 2 of 6 values differ; the largest difference is 981.2 at index (1, 2), "
        "where yours is 6")


def test_expect_close_shows_the_expected_value_only_when_asked():
    got, want = torch.tensor([1.0, 2.0]), torch.tensor([1.0, HIDDEN])
    assert message_of(expect_close, got, want, what="f(x)", show_expected=True) == \
        "f(x): 1 of 2 values differ; the largest difference is 985.2 at index (1,), where yours is 2, expected 987.2"


def test_expect_close_shape():
    assert message_of(expect_close, torch.ones(1, 2), torch.ones(2, 1), what="f(x)") == \
        "f(x): shape is (1, 2), expected (2, 1)"


def test_expect_close_dtype():
    assert message_of(expect_close, torch.ones(2), torch.ones(2, dtype=torch.float64), what="f(x)") == \
        "f(x): dtype is torch.float32, expected torch.float64"


def test_expect_close_ignores_dtype_when_told():
    expect_close(torch.ones(2), torch.ones(2, dtype=torch.float64), what="f(x)", check_dtype=False)


def test_expect_close_device():
    assert message_of(expect_close, torch.ones(2), torch.empty(2, device="meta"), what="f(x)") == \
        "f(x): your result is on cpu, the input was on meta"


def test_expect_close_not_a_tensor():
    assert message_of(expect_close, 2.0, torch.ones(2), what="sigmoid(x)") == \
        "sigmoid(x) should return a torch.Tensor, but returned float 2.0"


def test_expect_close_nan_where_a_number_was_expected():
    got = torch.tensor([1.0, NAN, NAN, 4.0])
    assert message_of(expect_close, got, torch.tensor([1.0, 2.0, 3.0, HIDDEN]), what="softmax(x)") == \
        "softmax(x): your result has nan at index (1,) (2 nan values in all) where a number was expected"


def test_expect_close_inf_where_a_finite_number_was_expected():
    got = torch.tensor([[1.0, 2.0], [INF, 4.0]])
    assert message_of(expect_close, got, torch.tensor([[1.0, 2.0], [HIDDEN, 4.0]]), what="sigmoid(x)") == \
        "sigmoid(x): your result has inf at index (1, 0) where a finite number was expected"


def test_expect_close_nan_where_nan_was_expected_passes():
    expect_close(torch.tensor([NAN, 2.0]), torch.tensor([NAN, 2.0]), what="f(x)")


def test_expect_close_a_number_where_nan_was_expected_fails():
    message = message_of(expect_close, torch.tensor([1.0, 2.0]), torch.tensor([NAN, 2.0]), what="f(x)")
    assert "index (0,)" in message


def test_expect_close_a_finite_number_where_inf_was_expected_fails():
    message = message_of(expect_close, torch.tensor([1.0, 2.0]), torch.tensor([INF, 2.0]), what="f(x)")
    assert "index (0,)" in message


def test_expect_close_minus_inf_where_plus_inf_was_expected_fails():
    message = message_of(expect_close, torch.tensor([-INF, 2.0]), torch.tensor([INF, 2.0]), what="f(x)")
    assert "index (0,)" in message


def test_expect_close_within_tolerance_passes():
    expect_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.001]), what="f(x)", atol=1e-2)


def test_expect_close_empty_tensors_pass():
    expect_close(torch.ones(0, 3), torch.ones(0, 3), what="f(x)")


def test_expect_close_integer_tensors_count_the_wrong_values_and_show_the_first():
    got, want = torch.tensor([[0, 1, 2], [3, 4, 5]]), torch.tensor([[0, 1, 7], [3, 9, 5]])
    assert message_of(expect_close, got, want, what="arange_matrix(2, 3)") == \
        "arange_matrix(2, 3): 2 of 6 values are wrong; the first at index (0, 2) is 2"


def test_expect_close_integer_tensors_show_the_expected_value_only_when_asked():
    got, want = torch.tensor([1, 2]), torch.tensor([1, 3])
    assert message_of(expect_close, got, want, what="f(x)", show_expected=True) == \
        "f(x): 1 of 2 values are wrong; the first at index (1,) is 2, expected 3"


def test_expect_close_with_hint():
    assert message_of(expect_close, torch.zeros(1), torch.ones(1), what="f(x)", hint="add one") == \
        "f(x): 1 of 1 values differ; the largest difference is 1 at index (0,), where yours is 0\nHint: add one"


# expect_close on numbers and sequences ----------------------------------------------------------

def test_expect_close_number_wrong_value():
    assert message_of(expect_close, 1.5, HIDDEN, what="loss()") == "loss() returned 1.5; that is not the right value"


def test_expect_close_number_shows_the_expected_value_only_when_asked():
    assert message_of(expect_close, 1.5, 2.0, what="loss()", show_expected=True) == \
        "loss() returned 1.5, expected 2; that is not the right value"


def test_expect_close_number_wrong_type():
    assert message_of(expect_close, "1.5", 2.0, what="loss()") == \
        "loss() should return a Python float, but returned str '1.5'"


def test_expect_close_number_bool_is_not_a_number():
    assert message_of(expect_close, True, 1.0, what="loss()") == \
        "loss() should return a Python float, but returned bool True"


def test_expect_close_number_a_tensor_is_not_a_python_number():
    assert message_of(expect_close, torch.tensor(2.0), 2.0, what="loss()").startswith(
        "loss() should return a Python float, but returned a tensor of shape (), dtype torch.float32")


def test_expect_close_number_nan_against_nan_passes_and_an_int_for_a_float_passes():
    expect_close(NAN, NAN, what="f()")
    expect_close(3, 3.0, what="f()")


def test_expect_close_number_nan_where_a_number_was_expected():
    assert message_of(expect_close, NAN, 2.0, what="loss()") == "loss() returned nan; that is not the right value"


def test_expect_close_sequence_of_the_wrong_length():
    assert message_of(expect_close, (1.0,), (1.0, HIDDEN), what="first_column_last_row(a)") == \
        "first_column_last_row(a) should return a tuple of 2 items, but returned a tuple of 1 items"


def test_expect_close_sequence_where_a_single_value_came():
    assert message_of(expect_close, torch.ones(2), (torch.ones(2), torch.ones(2)), what="f(a)") == \
        "f(a) should return a tuple of 2 items, but returned a tensor of shape (2,), dtype torch.float32 on cpu: [1, 1]"


def test_expect_close_sequence_names_the_item_that_differs():
    assert message_of(expect_close, (torch.ones(2), torch.ones(3)), (torch.ones(2), torch.ones(2)),
                      what="first_column_last_row(a)") == \
        "first_column_last_row(a)[1]: shape is (3,), expected (2,)"


def test_expect_close_non_numbers_go_to_expect_equal():
    assert message_of(expect_close, "b", "a", what="name()") == "name() returned str 'b'; that is not the right value"


# expect_equal -----------------------------------------------------------------------------------

def test_expect_equal_wrong_value_hides_the_expected_one():
    assert message_of(expect_equal, 41, 42, what="answer()") == "answer() returned int 41; that is not the right value"


def test_expect_equal_shows_the_expected_value_only_when_asked():
    assert message_of(expect_equal, 41, 42, what="answer()", show_expected=True) == \
        "answer() returned int 41, expected 42; that is not the right value"


def test_expect_equal_wrong_type():
    assert message_of(expect_equal, "42", 42, what="answer()") == \
        "answer() should return an int, but returned str '42'"


def test_expect_equal_bool_for_an_int_is_the_wrong_type():
    assert message_of(expect_equal, True, 1, what="count()") == "count() should return an int, but returned bool True"


def test_expect_equal_a_float_for_an_int_is_the_wrong_type_but_an_int_for_a_float_is_not():
    assert message_of(expect_equal, 1.0, 1, what="count()") == "count() should return an int, but returned float 1.0"
    expect_equal(1, 1.0, what="mean()")


def test_expect_equal_lists_are_described_by_length():
    assert message_of(expect_equal, [1, 2], [1, 3], what="shape()") == \
        "shape() returned a list of 2 items; that is not the right value"


def test_expect_equal_with_hint():
    assert message_of(expect_equal, 0, 1, what="f()", hint="count from one") == \
        "f() returned int 0; that is not the right value\nHint: count from one"


# expect_rows_sum_to_one -------------------------------------------------------------------------

def test_rows_sum_to_one_names_the_first_bad_row_and_its_sum():
    probabilities = torch.tensor([[0.5, 0.5], [0.2, 0.2], [0.1, 0.1]])
    assert message_of(expect_rows_sum_to_one, probabilities, what="softmax(x)") == (
        "softmax(x): rows do not sum to 1 (2 of 3; row 1 sums to 0.4)\nHint: did you sum over the right dim?")


def test_rows_sum_to_one_nan_rows():
    probabilities = torch.tensor([[0.5, NAN], [0.5, 0.5]])
    assert message_of(expect_rows_sum_to_one, probabilities, what="softmax(x)") == \
        "softmax(x): some rows contain nan, so they do not sum to 1\nHint: did you sum over the right dim?"


def test_rows_sum_to_one_not_a_tensor():
    assert message_of(expect_rows_sum_to_one, [0.5, 0.5], what="softmax(x)") == \
        "softmax(x) should return a torch.Tensor, but returned a list of 2 items\nHint: did you sum over the right dim?"


def test_rows_sum_to_one_with_another_hint_or_none():
    probabilities = torch.tensor([[0.5, 0.6]])
    assert message_of(expect_rows_sum_to_one, probabilities, what="p(x)", hint="divide by the sum") == \
        "p(x): rows do not sum to 1 (1 of 1; row 0 sums to 1.1)\nHint: divide by the sum"
    assert message_of(expect_rows_sum_to_one, probabilities, what="p(x)", hint=None) == \
        "p(x): rows do not sum to 1 (1 of 1; row 0 sums to 1.1)"


def test_rows_sum_to_one_over_the_dim_asked():
    columns = torch.tensor([[0.5, 0.2], [0.5, 0.8]])
    expect_rows_sum_to_one(columns, what="softmax(x, 0)", dim=0)
    assert "rows do not sum to 1 (2 of 2; row 0 sums to 0.7)" in message_of(
        expect_rows_sum_to_one, columns, what="softmax(x, 0)")


def test_rows_sum_to_one_within_atol_passes():
    expect_rows_sum_to_one(torch.tensor([[0.5, 0.50001]]), what="softmax(x)")


# expect_finite ----------------------------------------------------------------------------------

def test_expect_finite_counts_nan_and_inf_and_gives_the_first_index():
    values = torch.tensor([[1.0, 2.0], [INF, NAN]])
    assert message_of(expect_finite, values, what="sigmoid(x)") == \
        "sigmoid(x): 2 values are nan or inf, the first at index (1, 0)"


def test_expect_finite_minus_inf():
    assert message_of(expect_finite, torch.tensor([-INF]), what="log(x)") == \
        "log(x): 1 values are nan or inf, the first at index (0,)"


def test_expect_finite_not_a_tensor():
    assert message_of(expect_finite, 1.0, what="sigmoid(x)") == \
        "sigmoid(x) should return a torch.Tensor, but returned float 1.0"


def test_expect_finite_passes_finite_values_of_any_dtype():
    expect_finite(torch.tensor([1e30, -1e30]), what="f(x)")
    expect_finite(torch.tensor([1, 2]), what="f(x)")


# expect_on_device -------------------------------------------------------------------------------

def test_expect_on_device_on_cpu_is_skipped_with_a_note():
    expect_on_device(torch.empty(1, device="meta"), "cpu", what="f(x)")
    assert notes.take() == ["device check skipped: graded on cpu"]


def test_expect_on_device_wrong_device():
    assert message_of(expect_on_device, torch.ones(2), "cuda:0", what="f(x)") == \
        "f(x): your result is on cpu, the input was on cuda:0"


def test_expect_on_device_names_where_in_a_nested_result():
    assert message_of(expect_on_device, {"grads": [torch.ones(1)]}, "meta", what="graph_grads(...)") == \
        "graph_grads(...)['grads'][0]: your result is on cpu, the input was on meta"


def test_expect_on_device_mixed_devices():
    mixed = (torch.ones(1), torch.empty(1, device="meta"))
    assert message_of(expect_on_device, mixed, "cuda:0", what="f(x)") == \
        "f(x): your results are on different devices (cpu, meta); the input was on cuda:0"


def test_expect_on_device_with_no_tensor_passes_without_a_note():
    expect_on_device(("no tensors", 3), "cuda:0", what="f(x)")
    assert notes.take() == []


# is_remote --------------------------------------------------------------------------------------

def test_is_remote_only_for_objects_that_stayed_in_the_sandbox():
    assert is_remote(object.__new__(Remote))
    assert not is_remote(torch.ones(1))
    assert not is_remote({"state_dict": {}})


# the promise: no hidden value in a message ------------------------------------------------------

HIDDEN_CASES = {
    "tensor_values": lambda: expect_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, HIDDEN]), what="f(x)"),
    "tensor_nan": lambda: expect_close(torch.tensor([NAN]), torch.tensor([HIDDEN]), what="f(x)"),
    "tensor_inf": lambda: expect_close(torch.tensor([INF]), torch.tensor([HIDDEN]), what="f(x)"),
    "integer_tensor": lambda: expect_close(torch.tensor([1, 2]), torch.tensor([1, 987]), what="f(x)"),
    "number": lambda: expect_close(1.5, HIDDEN, what="f()"),
    "number_type": lambda: expect_close("x", HIDDEN, what="f()"),
    "sequence_length": lambda: expect_close((1.0,), (1.0, HIDDEN), what="f()"),
    "sequence_item": lambda: expect_close((1.0, 2.0), (1.0, HIDDEN), what="f()"),
    "equal_value": lambda: expect_equal(41, 987, what="f()"),
    "equal_string": lambda: expect_equal("cat", "987.25", what="f()"),
    "equal_list": lambda: expect_equal([1], [987], what="f()"),
}


@pytest.mark.parametrize("case", sorted(HIDDEN_CASES))
def test_no_message_prints_the_hidden_expected_value(case):
    with pytest.raises(CheckFailed) as raised:
        HIDDEN_CASES[case]()
    message = str(raised.value)
    assert "987" not in message and ", expected" not in message, message
