"""`grader check` without the Linux sandbox (Windows, macOS), forced here with GRADER_PORTABLE=1.

What this cannot show on Linux: that the child starts and its output threads and loopback socket
work on Windows and macOS themselves (no such machine here).
"""

import os
import subprocess
import sys

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook

from grader.api import check_notebook
from grader.errors import GraderError
from grader.spec import load_assignment

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42"


@pytest.fixture
def portable(monkeypatch):
    monkeypatch.setenv("GRADER_PORTABLE", "1")


def test_portable_check_scores_a_correct_notebook_in_a_plain_subprocess(tmp_path, portable):
    notebook = write_notebook(tmp_path / "toy.ipynb", "print('hello')", CORRECT)
    verdict = check_notebook("toy", notebook, assignments_dir=TEST_ASSIGNMENTS)
    assert verdict.score == verdict.max_score == 2
    assert verdict.layers == {"portable_subprocess": True, "allowed_unisolated": True}
    assert verdict.stdout == "hello\n"


def test_portable_check_stops_an_endless_loop_at_its_cell_limit_and_goes_on(tmp_path, portable):
    notebook = write_notebook(tmp_path / "toy.ipynb", "print('before')",
                              "while True:\n    __import__('time').sleep(0.05)", CORRECT)
    verdict = check_notebook("toy", notebook, assignments_dir=TEST_ASSIGNMENTS)
    assert verdict.score == 2
    assert [(cell.index, cell.status) for cell in verdict.cells] == [(1, "ok"), (2, "timeout"), (3, "ok")]
    assert verdict.stdout.count("before") == 1


def test_portable_check_from_the_cli_says_once_that_the_sandbox_is_off(tmp_path):
    notebook = write_notebook(tmp_path / "toy.ipynb", CORRECT)
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", "toy", str(notebook), "--assignments",
                             str(TEST_ASSIGNMENTS)], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "GRADER_PORTABLE": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "note: the sandbox is switched off (GRADER_PORTABLE=1): your notebook runs in a plain Python process, "
        "without network, file or process isolation; its time limits and output caps still hold (your own code "
        "on your own machine; grading isolates it)"]
    assert "Public score: 2/2." in result.stdout


def test_portable_check_needs_no_linux_only_module(tmp_path):
    """The trusted side of the portable path with `resource` and `fcntl` unimportable and no SOCK_SEQPACKET."""
    notebook = write_notebook(tmp_path / "toy.ipynb", CORRECT)
    script = ("import sys, socket; sys.modules['resource'] = None; sys.modules['fcntl'] = None; "
              "del socket.SOCK_SEQPACKET; from grader.api import check_notebook; "
              f"v = check_notebook('toy', {str(notebook)!r}, assignments_dir={str(TEST_ASSIGNMENTS)!r}); "
              "print(v.score, 'resource' in sys.modules and sys.modules['resource'] is not None)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO,
                            env={**os.environ, "GRADER_PORTABLE": "1"}, timeout=300)
    assert result.stdout.split() == ["2.0", "False"], result.stderr


def test_the_portable_mode_never_runs_hidden_checks(portable):
    from grader.judge.runner import Judge

    with pytest.raises(GraderError, match="public checks only"):
        Judge(load_assignment("toy", TEST_ASSIGNMENTS), include_hidden=True, portable=True)
