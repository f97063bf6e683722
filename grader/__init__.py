"""An autograder for PyTorch homework: notebooks in, sandboxed, judged by pytest, stored."""

__version__ = "0.1.0"


def check(assignment: str, notebook=None, lang: str = "en", device: str = "cpu"):
    """In a notebook cell: ``import grader; grader.check("hw2")`` (``grader.api.check_in_notebook``)."""
    from grader.api import check_in_notebook

    return check_in_notebook(assignment, notebook, lang=lang, device=device)


def load_ipython_extension(ipython) -> None:
    """``%load_ext grader`` registers ``%grader check hw2``."""
    from grader.notebook import load_ipython_extension as load

    load(ipython)
