"""The `grader` program's entry point (pyproject's console script): a Ctrl-C is guarded from its first line.

``grader.cli`` takes half a second to import (click, rich, pydantic, SQLAlchemy's models); a Ctrl-C during
that is one line and exit 130 like any later one (``grader.interrupts``), never a traceback from an import.
"""

from __future__ import annotations

import sys

from grader import interrupts


def run() -> None:
    interrupts.guard(sys.argv[1:])
    from grader.cli import run as run_cli

    run_cli()
