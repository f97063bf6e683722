"""What the course gives students next to their notebook (like the course's helper.py)."""

SCALE = 3


def scale(x):
    return x * SCALE
