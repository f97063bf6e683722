"""The instructor's side: identity from file names, the late policy, results, show, history, export."""

import csv
import os
import shutil
import sqlite3
from datetime import datetime, timezone

import pytest

from conftest import REPO, run_grader, write_notebook

CORRECT = "import torch\n\ndef double(x):\n    return x + x\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x + x\n\ndef answer():\n    return 41\n"
DEADLINE = datetime(2026, 1, 10, 23, 59, tzinfo=timezone.utc)


def course(tmp_path, extra_toml: str):
    """A copy of the toy assignment (and its reference) with ``extra_toml`` added to assignment.toml."""
    root = tmp_path / "course"
    shutil.copytree(REPO / "tests" / "data", root)
    spec = root / "assignments" / "toy" / "assignment.toml"
    text = spec.read_text()
    head, limits = text.split("[limits]")
    spec.write_text(extra_toml + "\n" + head + "[limits]" + limits)
    return root / "assignments"


def hand_in(folder, name, source, hours_after_deadline):
    path = write_notebook(folder / name, source)
    moment = DEADLINE.timestamp() + hours_after_deadline * 3600
    os.utime(path, (moment, moment))
    return path


LATE_POLICY = '''student_pattern = "^(?P<student>[a-z]+)_toy"
[late]
deadline = 2026-01-10T23:59:00Z
grace_minutes = 10
penalty_per_day = 0.25
max_penalty = 0.5
'''


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("late")
    assignments = course(tmp_path, LATE_POLICY.split("[late]")[0])
    # TOML tables must come after the top-level keys: append [late] at the end.
    spec = assignments / "toy" / "assignment.toml"
    spec.write_text(spec.read_text() + "\n[late]" + LATE_POLICY.split("[late]")[1])
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    hand_in(folder, "ann_toy.ipynb", CORRECT, -48)
    hand_in(folder, "bo_toy_v2.ipynb", CORRECT, 5 / 60)      # inside the grace period
    hand_in(folder, "cy_toy.ipynb", HALF, 30)               # two started days late
    hand_in(folder, "dee_toy.ipynb", CORRECT, 24 * 10)      # capped at max_penalty
    hand_in(folder, "=HYPERLINK.ipynb", CORRECT, -1)        # no match: the stem names the student
    db = tmp_path / "g.db"
    result = run_grader("grade", "toy", str(folder), "--db", f"sqlite:///{db}", "--assignments", str(assignments))
    assert result.returncode == 0, result.stderr
    return db, assignments, folder


def test_identity_and_late_policy_are_stored_raw_and_final(graded):
    db, _, _ = graded
    rows = sqlite3.connect(db).execute(
        "select s.student, r.raw_score, r.penalty, r.score, r.late_seconds from runs r "
        "join submissions s on s.id = r.submission_id order by s.student").fetchall()
    by_student = {student: (raw, penalty, score, late) for student, raw, penalty, score, late in rows}
    assert set(by_student) == {"=HYPERLINK", "ann", "bo", "cy", "dee"}
    assert by_student["ann"][:3] == (4, 0, 4) and by_student["ann"][3] == 0
    assert by_student["bo"][:3] == (4, 0, 4) and by_student["bo"][3] == pytest.approx(300, abs=1)
    assert by_student["cy"][:3] == (3, 0.5, 1.5) and by_student["cy"][3] == pytest.approx(30 * 3600, abs=1)
    assert by_student["dee"][:3] == (4, 0.5, 2)


def test_results_show_history_and_export(graded, tmp_path):
    db, assignments, folder = graded
    url = f"sqlite:///{db}"
    results = run_grader("results", "toy", "--db", url)
    assert results.returncode == 0, results.stderr
    assert "1.5/4 (raw 3, late −50%)" in results.stdout
    assert "test_answer" in results.stdout and "4/5 (80%)" in results.stdout  # cy's answer is wrong

    show = run_grader("show", "toy", "cy", "--db", url)
    assert show.returncode == 0, show.stderr
    for text in ("cy_toy.ipynb", "late by 1.2 days, penalty 50%", "test_double_int", "hidden",
                 "answer() returned", "sandbox layers held:", "code cells"):
        assert text in show.stdout, text

    again = run_grader("grade", "toy", str(folder / "cy_toy.ipynb"), "--db", url, "--assignments",
                       str(assignments), "--regrade")
    assert again.returncode == 0, again.stderr
    history = run_grader("history", "toy", "cy", "--db", url)
    assert history.returncode == 0 and "2 runs" in history.stdout

    out = tmp_path / "toy.csv"
    export = run_grader("export", "toy", "--csv", str(out), "--db", url)
    assert export.returncode == 0 and "5 students" in export.stdout
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"'=HYPERLINK", "ann", "bo", "cy", "dee"}  # never a formula in a spreadsheet
    assert rows["cy"]["raw_score"] == "3" and rows["cy"]["score"] == "1.5" and rows["cy"]["penalty"] == "0.5"
    assert rows["cy"]["test_answer"] == "0" and rows["ann"]["test_answer"] == "1"
    assert rows["ann"]["max_score"] == "4"


def test_user_errors_are_one_line_with_the_fix(graded, tmp_path):
    db, assignments, _ = graded
    url = f"sqlite:///{db}"
    typo = run_grader("show", "toy", "cyy", "--db", url)
    assert typo.returncode == 2 and "did you mean cy?" in typo.stderr and "Traceback" not in typo.stderr
    empty = run_grader("results", "toy", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--assignments",
                       str(assignments))
    assert empty.returncode == 2 and "grade first: grader grade toy DIR" in empty.stderr
    missing_folder = run_grader("export", "toy", "--csv", str(tmp_path / "no" / "x.csv"), "--db", url)
    assert missing_folder.returncode == 2 and "x.csv" in missing_folder.stderr
    assert "Traceback" not in missing_folder.stderr

    broken = tmp_path / "broken"
    shutil.copytree(assignments, broken)
    spec = broken / "toy" / "assignment.toml"
    spec.write_text(spec.read_text().replace("2026-01-10T23:59:00Z", "2026-01-10T23:59:00"))
    naive = run_grader("check", "toy", str(db.parent / "hand-ins" / "ann_toy.ipynb"), "--assignments", str(broken))
    assert naive.returncode == 2 and "assignment.toml: late.deadline" in naive.stderr
    assert "UTC offset" in naive.stderr
