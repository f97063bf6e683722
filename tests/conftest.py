"""Shared fixtures, and the test tiers.

* ``tests/unit/`` (marker ``unit``, set here on everything collected there): pure unit tests, no
  sandbox, no subprocess, no database server; ``python -m pytest -q tests/unit`` runs them in
  seconds (or ``-m unit`` from anywhere).
* ``tests/*.py``: real notebooks through the real sandbox, SQLite and PostgreSQL, the CLI.
* ``-m slow`` (``tests/test_hostile.py``, minutes) and ``-m cuda`` (an NVIDIA GPU) are the costly tiers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
TEST_ASSIGNMENTS = Path(__file__).resolve().parent / "data" / "assignments"
UNIT_DIR = Path(__file__).resolve().parent / "unit"


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "unit: a pure unit test (tests/unit/): no sandbox, no subprocess, seconds")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if UNIT_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.unit)


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook whose code cells are ``cells``; a markdown cell first, as students have."""
    notebook = new_notebook(cells=[new_markdown_cell("# Homework")] + [new_code_cell(c) for c in cells])
    nbformat.write(notebook, str(path))
    return path


def run_grader(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real CLI in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout)


def process_status_bytes(field: str) -> int:
    """A size field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) << 10
    raise LookupError(field)


def peak_rss_growth(action):
    """``(action's result, bytes this process's peak RSS rose above its RSS at the start while it ran)``."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # resets the peak (VmHWM) to the current RSS
    start = process_status_bytes("VmRSS")
    result = action()
    return result, process_status_bytes("VmHWM") - start


def read_json(path: Path) -> list[dict]:
    return json.loads(path.read_text())


@pytest.fixture
def toy_dir() -> Path:
    return TEST_ASSIGNMENTS


# PostgreSQL, for the gradebook tests that run against both SQLite and PostgreSQL. CI (.ci/run)
# installs the server and sets GRADER_TESTS_REQUIRE_ALL=1, so there a missing server fails the tests.
def _missing(what: str) -> None:
    if os.environ.get("GRADER_TESTS_REQUIRE_ALL") == "1":
        pytest.fail(f"{what} is required here (GRADER_TESTS_REQUIRE_ALL=1)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def postgres_server():
    from postgres_server import PostgresServer, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        _missing("PostgreSQL (apt-get install -y postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg (pip install -e '.[postgresql]')")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def gradebook_url(request, tmp_path) -> str:
    """A fresh, empty gradebook: SQLite in a temporary folder, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'grades.db'}"
    return request.getfixturevalue("postgres_server").new_database()
