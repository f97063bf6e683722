import pytest
import torch

from grader.assertions import expect_close, expect_equal, expect_on_device


@pytest.mark.points(1)
def test_scale(student, reference, device):
    """scale(x, 3): three times x, on x's device"""
    x = torch.arange(6.0, device=device).reshape(2, 3)
    got = student.scale(x, 3.0)
    expect_on_device(got, device, what="scale(x, 3)")
    expect_close(got, reference.scale(x, 3.0), what="scale(x, 3)")


@pytest.mark.points(1)
def test_halves(student, reference, device):
    """halves(x): the two halves of x, both on x's device"""
    x = torch.arange(8.0, device=device)
    got = student.halves(x)
    expect_on_device(got, device, what="halves(x)")
    expect_close(got, reference.halves(x), what="halves(x)")


@pytest.mark.points(1)
def test_answer(student):
    """answer() is 42"""
    expect_equal(student.answer(), 42, what="answer()")
