"""An autograder for PyTorch homework: notebooks in, sandboxed, judged by pytest, stored."""

__version__ = "0.1.0"
