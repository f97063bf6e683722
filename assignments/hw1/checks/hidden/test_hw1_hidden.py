"""hw1 hidden checks: other shapes, dtypes and edge cases. They run only at grading time."""

import pytest
import torch

from grader.assertions import expect_close, expect_on_device, expect_tensor, expect_type, fail
from grader.seeding import manual_seed

DEVICE_HINT = ("keep the result on the input's device: no .cpu() or .numpy(), and make new tensors with "
               "device=x.device")


@pytest.mark.points(0.5)
def test_arange_matrix_other_shapes(student, reference):
    """arange_matrix on non-square shapes, one row and one element: int64, row-major"""
    for rows, cols in [(5, 2), (1, 7), (6, 1), (1, 1)]:
        got = student.arange_matrix(rows, cols)
        expect_tensor(got, what=f"arange_matrix({rows}, {cols})", shape=(rows, cols), dtype=torch.int64,
                      hint="the result must be int64 with shape (rows, cols) for any rows and cols, "
                           "not only square ones.")
        expect_close(got, reference.arange_matrix(rows, cols), what=f"arange_matrix({rows}, {cols})",
                     hint="fill row by row: reshape(rows, cols), not reshape(cols, rows) then transpose.")


@pytest.mark.points(0.5)
def test_first_column_last_row_edge_shapes(student, reference, device):
    """first_column_last_row on a non-square tensor with negatives, one row, and one column"""
    manual_seed(10)
    cases = {
        "a (4, 6) tensor": torch.randn(4, 6, device=device) * 5,
        "a (1, 5) tensor (one row)": torch.randn(1, 5, device=device),
        "a (5, 1) tensor (one column)": -torch.rand(5, 1, dtype=torch.float64, device=device),
    }
    for name, a in cases.items():
        got = student.first_column_last_row(a)
        expect_on_device(got, device, what=f"first_column_last_row on {name}", hint=DEVICE_HINT)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(f"first_column_last_row on {name} should return a tuple of two tensors "
                 f"(first column, last row), but returned {type(got).__name__}"
                 + (f" of {len(got)} items" if isinstance(got, (tuple, list)) else ""),
                 hint="return a[:, 0], a[-1] - two separate 1-D tensors, not one stacked tensor.")
        column, row = reference.first_column_last_row(a)
        expect_close(got[0], column, what=f"first_column_last_row on {name}: the first column (item 0)",
                     hint="the column is a[:, 0]: 1-D, one value per row, the input's dtype.")
        expect_close(got[1], row, what=f"first_column_last_row on {name}: the last row (item 1)",
                     hint="the row is a[-1]: 1-D, one value per column, the input's dtype.")


@pytest.mark.points(0.5)
def test_flatten_batch_other_dtypes_and_shapes(student, reference, device):
    """flatten_batch on an odd (3, 3, 5, 7) float64 batch and a (1, 1, 28, 28) uint8 image"""
    manual_seed(11)
    cases = {
        "a (3, 3, 5, 7) float64 batch": torch.randn(3, 3, 5, 7, dtype=torch.float64, device=device),
        "a (1, 1, 28, 28) uint8 batch": torch.randint(0, 256, (1, 1, 28, 28), dtype=torch.uint8, device=device),
    }
    for name, images in cases.items():
        got = student.flatten_batch(images)
        expect_on_device(got, device, what=f"flatten_batch on {name}", hint=DEVICE_HINT)
        expect_close(got, reference.flatten_batch(images), what=f"flatten_batch on {name}",
                     hint="keep the batch dimension and everything else: reshape(B, -1) keeps dtype and "
                          "device; do not call .float() and do not hard-code C, H or W.")


@pytest.mark.points(0.5)
def test_standardize_columns_float64_offsets(student, reference, device):
    """standardize_columns on float64 (7, 2) and (6, 1) inputs with negative values and large offsets"""
    manual_seed(12)
    cases = {
        "a (7, 2) float64 tensor": torch.randn(7, 2, dtype=torch.float64, device=device) * 10 - 500,
        "a (6, 1) float64 tensor (one column)": torch.randn(6, 1, dtype=torch.float64, device=device) + 1000,
    }
    for name, x in cases.items():
        got = student.standardize_columns(x)
        expect_on_device(got, device, what=f"standardize_columns on {name}", hint=DEVICE_HINT)
        expect_close(got, reference.standardize_columns(x), what=f"standardize_columns on {name}",
                     rtol=1e-7, atol=1e-9,
                     hint="per column: (x - x.mean(dim=0)) / x.std(dim=0) with torch's default (unbiased) std; "
                          "keep the input's dtype (no .float()) and work for any number of rows and columns.")


@pytest.mark.points(0.5)
def test_stack_channels_non_square_int(student, reference, device):
    """stack_channels on non-square (2, 5) int64 channels"""
    manual_seed(13)
    r, g, b = (torch.randint(-50, 50, (2, 5), device=device) for _ in range(3))
    got = student.stack_channels(r, g, b)
    expect_on_device(got, device, what="stack_channels on (2, 5) int64 channels", hint=DEVICE_HINT)
    expect_close(got, reference.stack_channels(r, g, b), what="stack_channels on (2, 5) int64 channels",
                 hint="the result is (3, H, W) in the order r, g, b, with the channels' dtype: "
                      "torch.stack((r, g, b), dim=0).")


@pytest.mark.points(1)
def test_count_greater_ties_and_types(student, reference, device):
    """count_greater: strictly greater (values equal to the threshold do not count), a Python int every time"""
    manual_seed(14)
    cases = [
        ("a (2, 3) int64 tensor with values equal to the threshold",
         torch.tensor([[1, 2, 3], [3, 3, 4]], device=device), 3),
        ("a (4, 5) float64 tensor and a negative threshold",
         torch.randn(4, 5, dtype=torch.float64, device=device), -0.25),
        ("a tensor where exactly one value is greater", torch.tensor([0.5, 1.5, -2.0, 1.0], device=device), 1.0),
        ("a tensor where nothing is greater", torch.zeros(3, 3, device=device), 0.0),
    ]
    for name, t, value in cases:
        got = student.count_greater(t, value)
        expect_type(got, int, what=f"count_greater on {name}",
                    hint="return a Python int: int((t > value).sum()) - not a tensor, not a bool, not a float.")
        expect_close(got, reference.count_greater(t, value), what=f"count_greater on {name}",
                     hint="count elements strictly greater than value: use >, not >=.")


@pytest.mark.points(0.5)
def test_to_device_cpu_keeps_dtype(student, reference, device):
    """to_device(x, "cpu") keeps int64 and float64 tensors' dtype and values"""
    manual_seed(15)
    tensors = {
        "an int64 tensor": torch.randint(-1000, 1000, (3, 5), device=device),
        "a float64 tensor": torch.randn(2, 3, 4, dtype=torch.float64, device=device),
    }
    targets = ["cpu"] + (["cuda", "cuda:0"] if device.type == "cuda" else [])
    for name, x in tensors.items():
        for target in targets:
            got = student.to_device(x, target)
            expect_close(got, reference.to_device(x, target), what=f"to_device on {name} with {target!r}",
                         hint="x.to(device) changes only the device: keep the dtype (no .float()) and the "
                              "values, and use the device string you are given.")
