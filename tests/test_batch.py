"""Parallel warm workers, resumable batches, and the CLI over them."""

import multiprocessing
import os
import signal
import sqlite3

from conftest import TEST_ASSIGNMENTS, read_json, run_grader, write_notebook
from grader.executors import JudgeJob, PoolExecutor
from grader.extract import extract_submission
from grader.api import grade_submissions
from grader.spec import load_assignment
from grader.verdicts import Grading

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 41\n"


def runs_in(db) -> int:
    return sqlite3.connect(db).execute("select count(*) from runs").fetchone()[0]


def test_two_workers_grade_like_one_and_resume_without_regrading(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(6):
        write_notebook(folder / f"student{index}.ipynb", CORRECT if index % 2 == 0 else HALF)
    (folder / "broken.ipynb").write_text("{")
    db = tmp_path / "grades.db"
    url = f"sqlite:///{db}"

    parallel = grade_submissions("toy", [folder], db_url=url, workers=2, assignments_dir=TEST_ASSIGNMENTS)
    serial = grade_submissions("toy", [folder], db_url=f"sqlite:///{tmp_path / 'serial.db'}", workers=1,
                               assignments_dir=TEST_ASSIGNMENTS)
    assert [(v.student, v.score, v.status) for v in parallel] == [(v.student, v.score, v.status) for v in serial]
    assert {v.student: v.score for v in parallel} == {
        "broken": 0, "student0": 4, "student1": 2, "student2": 4, "student3": 2, "student4": 4, "student5": 2}
    assert runs_in(db) == 7

    started = []
    again = grade_submissions("toy", [folder], db_url=url, workers=2, assignments_dir=TEST_ASSIGNMENTS,
                              on_start=lambda to_grade, skipped: started.append((to_grade, skipped)))
    assert started == [(1, 6)]  # only the unreadable file is looked at again
    assert runs_in(db) == 8
    assert [v.score for v in again] == [v.score for v in parallel]

    write_notebook(folder / "student1.ipynb", CORRECT)  # a resubmission is graded, the rest is not
    grade_submissions("toy", [folder], db_url=url, workers=2, assignments_dir=TEST_ASSIGNMENTS,
                      on_start=lambda to_grade, skipped: started.append((to_grade, skipped)))
    assert started[-1] == (2, 5)
    regraded = grade_submissions("toy", [folder], db_url=url, workers=1, regrade=True,
                                 assignments_dir=TEST_ASSIGNMENTS)
    assert len(regraded) == 7 and runs_in(db) == 8 + 2 + 7


def pool_of_two(device: str, allow_unisolated: bool = False) -> PoolExecutor:
    spec = load_assignment("toy", TEST_ASSIGNMENTS)
    job = JudgeJob(assignment="toy", assignments_dir=str(TEST_ASSIGNMENTS), include_hidden=True, device=device,
                   allow_unisolated=allow_unisolated)
    return PoolExecutor(job, Grading.of(spec, True, device), [device, device])


def test_killed_workers_cost_nothing_their_submissions_are_retried(tmp_path):
    spec = load_assignment("toy", TEST_ASSIGNMENTS)
    slow = "import time\ntime.sleep(1)\n" + CORRECT  # keeps the workers busy while we kill them
    units = [extract_submission(write_notebook(tmp_path / f"s{index}.ipynb", slow), spec) for index in range(5)]
    verdicts, killed = [], []

    def kill_workers_once(verdict):
        verdicts.append(verdict)
        if not killed:
            for process in multiprocessing.active_children():
                os.kill(process.pid, signal.SIGKILL)
                killed.append(process.pid)

    pool_of_two("cpu").judge(units, kill_workers_once)
    assert len(killed) == 2
    assert sorted(v.submission for v in verdicts) == sorted(unit.path for unit in units)
    assert all(v.status == "graded" and v.score == 4 for v in verdicts)


def test_workers_forked_from_the_pool_template_see_the_environment_of_each_run(tmp_path, monkeypatch):
    spec = load_assignment("toy", TEST_ASSIGNMENTS)
    units = [extract_submission(write_notebook(tmp_path / f"s{index}.ipynb", CORRECT), spec) for index in range(2)]

    def layers_of_a_run() -> set[bool]:
        verdicts = []
        pool_of_two("cpu", allow_unisolated=True).judge(units, verdicts.append)
        assert [v.score for v in verdicts] == [4, 4]
        return {v.layers["bubblewrap"] for v in verdicts}

    assert layers_of_a_run() == {True}  # the template starts here, with bubblewrap allowed
    monkeypatch.setenv("GRADER_NO_BWRAP", "1")
    assert layers_of_a_run() == {False}


def test_cli_grade_json_results_and_exit_codes(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "ann.ipynb", CORRECT)
    write_notebook(folder / "bo.ipynb", HALF)
    db = f"sqlite:///{tmp_path / 'g.db'}"
    result = run_grader("grade", "toy", str(folder), "--db", db, "--json", str(tmp_path / "out.json"),
                        "--assignments", str(TEST_ASSIGNMENTS), "--workers", "2")
    assert result.returncode == 0, result.stderr
    data = read_json(tmp_path / "out.json")
    assert [(item["student"], item["score"], item["max_score"], item["status"]) for item in data] == [
        ("ann", 4.0, 4.0, "graded"), ("bo", 2.0, 4.0, "graded")]
    assert set(data[1]["checks"][0]) >= {"name", "score", "max_score", "passed", "message"}
    assert "mean 3.00" in result.stdout

    shown = run_grader("results", "toy", "--db", db)
    assert shown.returncode == 0 and "ann" in shown.stdout and "2/4" in shown.stdout

    check = run_grader("check", "toy", str(folder / "bo.ipynb"), "--assignments", str(TEST_ASSIGNMENTS))
    assert check.returncode == 1
    assert "Public score: 1/2. 2 hidden checks run at grading time." in check.stdout
    assert run_grader("check", "toy", str(folder / "ann.ipynb"), "--assignments",
                      str(TEST_ASSIGNMENTS)).returncode == 0


def test_user_errors_are_one_line_with_exit_2(tmp_path):
    cases = [
        (["grade", "hw99", str(tmp_path)], "unknown assignment 'hw99'"),
        (["grade", "toy", str(tmp_path / "missing.ipynb"), "--assignments", str(TEST_ASSIGNMENTS)],
         "missing.ipynb: no such file or folder"),
        (["check", "toy", "--assignments", str(TEST_ASSIGNMENTS)], "no toy.ipynb in"),
        (["results", "toy", "--db", f"sqlite:///{tmp_path}/none.db", "--assignments", str(TEST_ASSIGNMENTS)],
         "no results for toy"),
        (["grade", "toy", str(tmp_path), "--db", "nosuchdialect://x", "--assignments", str(TEST_ASSIGNMENTS)],
         "cannot open the gradebook"),
    ]
    write_notebook(tmp_path / "x.ipynb", CORRECT)
    write_notebook(tmp_path / "y.ipynb", CORRECT)  # two notebooks, neither named toy.ipynb: check must ask
    for args, expected in cases:
        result = run_grader(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
