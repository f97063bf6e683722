import pytest
import torch

from grader.assertions import expect_close


@pytest.mark.points(1)
def test_double_float64(student, reference):
    """double: float64, another shape"""
    torch.manual_seed(1)
    x = torch.randn(5, 7, dtype=torch.float64)
    expect_close(student.double(x), reference.double(x), what="double(x)")


@pytest.mark.points(1)
def test_double_int(student, reference):
    """double: integers keep their dtype"""
    x = torch.arange(10)
    expect_close(student.double(x), reference.double(x), what="double(x)")
