from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
TEST_ASSIGNMENTS = Path(__file__).resolve().parent / "data" / "assignments"


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook whose code cells are ``cells``; a markdown cell first, as students have."""
    notebook = new_notebook(cells=[new_markdown_cell("# Homework")] + [new_code_cell(c) for c in cells])
    nbformat.write(notebook, str(path))
    return path


def run_grader(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real CLI in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout)


def read_json(path: Path) -> list[dict]:
    return json.loads(path.read_text())


@pytest.fixture
def toy_dir() -> Path:
    return TEST_ASSIGNMENTS
