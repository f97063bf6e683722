import torch


def scale(x, factor):
    return x * factor


def halves(x):
    middle = x.shape[0] // 2
    return x[:middle], x[middle:]


def answer():
    return 42
