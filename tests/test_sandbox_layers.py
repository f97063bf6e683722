"""`grader doctor`, and grading refused without isolation unless the user says so."""

import os
import shutil
import sqlite3

import pytest

from conftest import TEST_ASSIGNMENTS, run_grader, write_notebook

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed here")
def test_doctor_with_bubblewrap_reports_every_layer():
    result = run_grader("doctor")
    assert result.returncode == 0, result.stdout
    for layer in ("bubblewrap", "network_namespace", "filesystem_isolation", "unprivileged_uid", "subreaper"):
        assert f"✓ {layer}" in result.stdout


def test_without_bubblewrap_grading_needs_an_explicit_flag_that_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_NO_BWRAP", "1")
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
