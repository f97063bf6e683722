import torch

REFERENCE_FACTOR = 3.0  # the feedback tests assert this file's lines are in no student's page


def scale(x):
    factor_from_the_reference_solution = REFERENCE_FACTOR
    return x * factor_from_the_reference_solution


def name():
    return "PyTorch 101"
