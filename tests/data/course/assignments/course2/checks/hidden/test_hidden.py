import pytest
import torch

from grader.assertions import expect_close

# Distinctive hidden inputs: the feedback tests search every page for them.
HIDDEN_INPUT = [7.25, -3.5]


@pytest.mark.points(2)
def test_scale_hidden_values(student, reference):
    """scale: another vector"""
    x = torch.tensor(HIDDEN_INPUT, dtype=torch.float64)
    expect_close(student.scale(x).sum().item(), reference.scale(x).sum().item(), what="sum of scale(x)",
                 show_expected=True)


@pytest.mark.points(2)
def test_scale_keeps_dtype(student, reference):
    """scale: float64 stays float64"""
    x = torch.tensor(HIDDEN_INPUT, dtype=torch.float64)
    expect_close(student.scale(x), reference.scale(x), what="scale(x)")
