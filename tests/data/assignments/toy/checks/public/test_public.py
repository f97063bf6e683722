import pytest
import torch

from grader.assertions import expect_close, expect_equal


@pytest.mark.points(1)
def test_double(student, reference, device):
    """double: a small float matrix"""
    x = torch.arange(6.0, device=device).reshape(2, 3)
    expect_close(student.double(x), reference.double(x), what="double(x)")


@pytest.mark.points(1)
def test_answer(student, reference):
    """answer returns the answer"""
    expect_equal(student.answer(), reference.answer(), what="answer()")
