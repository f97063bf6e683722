"""hw1 public checks: small, simple inputs. Run them yourself with `grader check`."""

import pytest
import torch

from grader.assertions import expect_close, expect_type
from grader.seeding import manual_seed


@pytest.mark.points(1)
def test_arange_matrix_3x4(student, reference):
    """arange_matrix(3, 4): an int64 (3, 4) tensor holding 0 ... 11 row by row"""
    got = student.arange_matrix(3, 4)
    expect_close(got, reference.arange_matrix(3, 4), what="arange_matrix(3, 4)", show_expected=True,
                 hint="torch.arange(n) gives int64 values 0 ... n-1; reshape them to (rows, cols). "
                      "Do not convert to float, and fill row by row (the first row is 0, 1, 2, 3).")


@pytest.mark.points(1)
def test_first_column_last_row_3x3(student, reference, device):
    """first_column_last_row on a 3x3 tensor: (first column, last row)"""
    a = torch.arange(9, device=device).reshape(3, 3)
    got = student.first_column_last_row(a)
    expect_close(got, reference.first_column_last_row(a), what="first_column_last_row(a)", show_expected=True,
                 hint="return a tuple (column, row): a[:, 0] is the first column (1-D, one value per row) "
                      "and a[-1] the last row. a[0] is the first *row*, and a[:, :1] keeps an extra dimension.")


@pytest.mark.points(1)
def test_flatten_batch_2x1x4x4(student, reference, device):
    """flatten_batch: a (2, 1, 4, 4) batch becomes (2, 16)"""
    manual_seed(0)
    images = torch.rand(2, 1, 4, 4, device=device)
    got = student.flatten_batch(images)
    expect_close(got, reference.flatten_batch(images), what="flatten_batch(images)", show_expected=True,
                 hint="keep the batch dimension: reshape to (images.shape[0], -1). "
                      "view(-1) or flatten() without start_dim=1 flattens the batch away.")


@pytest.mark.points(1)
def test_standardize_columns_5x3(student, reference, device):
    """standardize_columns on a (5, 3) float tensor"""
    manual_seed(1)
    x = torch.randn(5, 3, device=device) * 3 + 2
    got = student.standardize_columns(x)
    expect_close(got, reference.standardize_columns(x), what="standardize_columns(x)", atol=1e-5, rtol=1e-4,
                 show_expected=True,
                 hint="use each column's statistics: x.mean(dim=0) and x.std(dim=0) (torch's default, "
                      "unbiased std; not unbiased=False / correction=0), and broadcast them over the rows.")


@pytest.mark.points(0.5)
def test_stack_channels_4x4(student, reference, device):
    """stack_channels: three (4, 4) channels become one (3, 4, 4) tensor"""
    manual_seed(2)
    r, g, b = (torch.rand(4, 4, device=device) for _ in range(3))
    got = student.stack_channels(r, g, b)
    expect_close(got, reference.stack_channels(r, g, b), what="stack_channels(r, g, b)", show_expected=True,
                 hint="the channels go first: torch.stack((r, g, b), dim=0). torch.cat joins them into "
                      "(3H, W), and dim=-1 puts the channels last.")


@pytest.mark.points(1)
def test_count_greater_randn(student, reference, device):
    """count_greater on 20 random numbers, value 0.5: a Python int"""
    manual_seed(3)
    t = torch.randn(20, device=device)
    got = student.count_greater(t, 0.5)
    expect_type(got, int, what="count_greater(t, 0.5)",
                hint="(t > value).sum() is a 0-d tensor; turn it into a Python int with .item() or int(...).")
    expect_close(got, reference.count_greater(t, 0.5), what="count_greater(t, 0.5)", show_expected=True,
                 hint="count the elements strictly greater than value: (t > value).sum().")


@pytest.mark.points(0.5)
def test_to_device_float32(student, reference, device):
    """to_device: a float32 (3, 4) tensor moved to the grading device"""
    manual_seed(4)
    x = torch.randn(3, 4)
    target = str(device)
    got = student.to_device(x, target)
    expect_close(got, reference.to_device(x, target), what=f"to_device(x, {target!r})", show_expected=True,
                 hint="x.to(device) moves a tensor and keeps its dtype and values.")
