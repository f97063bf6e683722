"""`grader doctor`, and grading refused without isolation unless the user says so."""

import os
import shutil
import sqlite3

import pytest

from conftest import TEST_ASSIGNMENTS, run_grader, write_notebook
from grader.api import grade_submissions
from grader.sandbox.inside import landlock

LISTENER_PORT = 9

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed here")
def test_doctor_with_bubblewrap_reports_every_layer():
    result = run_grader("doctor")
    assert result.returncode == 0, result.stdout
    for layer in ("bubblewrap", "network_namespace", "filesystem_isolation", "unprivileged_uid", "subreaper"):
        assert f"✓ {layer}" in result.stdout


def test_without_bubblewrap_and_landlock_grading_needs_an_explicit_flag_that_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_NO_BWRAP", "1")
    monkeypatch.setenv("GRADER_NO_LANDLOCK", "1")
    doctor = run_grader("doctor")
    assert doctor.returncode == 1 and "✗ filesystem_isolation" in doctor.stdout

    write_notebook(tmp_path / "ann.ipynb", CORRECT)
    db = tmp_path / "g.db"
    args = ["grade", "toy", str(tmp_path / "ann.ipynb"), "--db", f"sqlite:///{db}", "--assignments",
            str(TEST_ASSIGNMENTS)]
    refused = run_grader(*args)
    assert refused.returncode == 2
    assert "lacks filesystem isolation" in refused.stderr and "--allow-unisolated" in refused.stderr

    allowed = run_grader(*args, "--allow-unisolated")
    assert allowed.returncode == 0, allowed.stderr
    score, layers = sqlite3.connect(db).execute("select score, layers from runs").fetchone()
    assert score == 4
    assert '"allowed_unisolated": true' in layers and '"filesystem_isolation": false' in layers
    assert os.environ.get("GRADER_NO_BWRAP") == "1"


@pytest.mark.skipif(not landlock.abi_version(), reason="this kernel has no Landlock")
def test_landlock_alone_hides_the_repository_and_the_warm_worker(tmp_path, monkeypatch):
    """Without bubblewrap, Landlock keeps the reference solution, TCP and the warm worker out of reach."""
    monkeypatch.setenv("GRADER_NO_BWRAP", "1")
    reference = TEST_ASSIGNMENTS.parent / "reference_solutions" / "toy.py"
    probe = write_notebook(tmp_path / "probe.ipynb", CORRECT, f"""
import os, socket
for attempt in ("read", "signal", "connect"):
    try:
        if attempt == "read":
            open({str(reference)!r}).read()
        elif attempt == "signal":
            os.kill(os.getppid(), 0)
        else:
            socket.socket().connect(("127.0.0.1", {LISTENER_PORT}))
        print("ALLOWED", attempt)
    except OSError as error:
        print("DENIED", attempt, type(error).__name__)
""")
    verdict = grade_submissions("toy", [probe], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                assignments_dir=TEST_ASSIGNMENTS)[0]
    assert verdict.score == 4
    assert verdict.layers["landlock"] and verdict.layers["filesystem_isolation"]
    assert not verdict.layers["bubblewrap"]
    lines = [line for line in verdict.stdout.splitlines() if line.startswith(("ALLOWED", "DENIED"))]
    # Landlock answers EACCES; a mere missing listener or network would raise something else.
    assert lines == ["DENIED read PermissionError", "DENIED signal PermissionError",
                     "DENIED connect PermissionError"], verdict.stdout + verdict.stderr
