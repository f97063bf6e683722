import pytest
import torch

from grader.assertions import expect_close, expect_equal


@pytest.mark.points(1)
def test_scale_small(student, reference):
    """scale: a small vector"""
    x = torch.tensor([1.0, 2.0])
    expect_close(student.scale(x), reference.scale(x), what="scale(x)")


@pytest.mark.points(1)
def test_name(student, reference):
    """name returns the course's name"""
    expect_equal(student.name(), reference.name(), what="name()")
