"""Batches on a Dask cluster: same verdicts as a local batch, faults, doctor, a real tcp:// scheduler."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import REPO, TEST_ASSIGNMENTS, read_json, run_grader, write_notebook
from grader.api import grade_submissions

if os.environ.get("GRADER_TESTS_REQUIRE_ALL") != "1":
    pytest.importorskip("distributed", reason="the cluster extra is not installed: pip install -e '.[cluster]'")

CLUSTER_ASSIGNMENTS = Path(__file__).resolve().parent / "data" / "cluster_assignments"
CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 41\n"


def rows(url: str, query: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def comparable(items: list[dict]) -> list[dict]:
    return [{key: value for key, value in item.items() if key != "duration"} for item in items]


def test_local_cluster_into_postgresql_gives_the_local_batch_scores_and_resumes(tmp_path, postgres_server):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(5):
        write_notebook(folder / f"student{index}.ipynb", CORRECT if index % 2 == 0 else HALF)
    (folder / "broken.ipynb").write_text("{")
    local = grade_submissions("toy", [folder], db_url=f"sqlite:///{tmp_path / 'local.db'}", workers=1,
                              assignments_dir=TEST_ASSIGNMENTS)
    url = postgres_server.new_database()
    result = run_grader("grade", "toy", str(folder), "--cluster", "local:2", "--db", url, "--json",
                        str(tmp_path / "cluster.json"), "--assignments", str(TEST_ASSIGNMENTS))
    assert result.returncode == 0, result.stderr
    assert comparable(read_json(tmp_path / "cluster.json")) == comparable([v.public_json() for v in local])
    assert [(v.student, v.score) for v in local] == [
        ("broken", 0), ("student0", 4), ("student1", 2), ("student2", 4), ("student3", 2), ("student4", 4)]
    assert "mean 3.20" in result.stdout and "Traceback" not in result.stderr
    assert rows(url, "select count(*) from runs") == [(6,)]

    started = []
    again = grade_submissions("toy", [folder], db_url=url, cluster="local:2", assignments_dir=TEST_ASSIGNMENTS,
                              on_start=lambda to_grade, skipped: started.append((to_grade, skipped)))
    assert started == [(1, 5)]  # resumable as locally: only the unreadable file is looked at again
    assert [v.score for v in again] == [v.score for v in local]
    assert rows(url, "select count(*) from runs") == [(7,)]


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    slow = "import time\ntime.sleep(0.3)\n"  # keeps both workers busy, so the kill lands mid-task
    for index in range(40):
        write_notebook(folder / f"s{index:02d}.ipynb", slow + (CORRECT if index % 4 else HALF))
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    seen, killed = [], []

    def kill_a_worker_after_five(verdict):
        seen.append(verdict.submission)
        if len(seen) == 5:
            workers = multiprocessing.active_children()  # the LocalCluster's Dask worker processes
            assert len(workers) == 2
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append((workers[0].pid, len(seen)))

    verdicts = grade_submissions("toy", [folder], db_url=url, cluster="local:2", assignments_dir=TEST_ASSIGNMENTS,
                                 on_verdict=kill_a_worker_after_five)
    assert len(killed) == 1 and len(seen) == 40
    assert sorted(seen) == sorted(str(path) for path in folder.iterdir())  # each reported once
    assert [(v.student, v.status, v.score) for v in verdicts] == [
        (f"s{index:02d}", "graded", 4.0 if index % 4 else 2.0) for index in range(40)]
    stored = rows(url, "select s.path, count(*), min(r.score), min(r.status) from runs r "
                       "join submissions s on s.id = r.submission_id group by s.path order by s.path")
    assert stored == [(str(folder / f"s{index:02d}.ipynb"), 1, 4.0 if index % 4 else 2.0, "graded")
                      for index in range(40)]


def test_submissions_that_crash_every_worker_become_error_verdicts(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, answer in [("ok1", 42), ("judge_killer", 666), ("ok2", 42), ("worker_killer", 667), ("ok3", 41)]:
        write_notebook(folder / f"{name}.ipynb", f"def answer():\n    return {answer}\n")
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    verdicts = {v.student: v for v in grade_submissions("crashy", [folder], db_url=url, cluster="local:2",
                                                        assignments_dir=CLUSTER_ASSIGNMENTS)}
    assert {name: (v.status, v.score) for name, v in verdicts.items()} == {
        "ok1": ("graded", 1), "ok2": ("graded", 1), "ok3": ("graded", 0),
        "judge_killer": ("error", 0), "worker_killer": ("error", 0)}
    assert "the grading worker died twice while judging this submission" in verdicts["judge_killer"].message
    assert "every Dask worker that judged this submission died" in verdicts["worker_killer"].message
    assert rows(url, "select count(*), count(distinct submission_id) from runs") == [(5, 5)]


@pytest.fixture
def scheduler(tmp_path):
    """A real `dask scheduler` on loopback with two `dask worker`s; one lacks every isolation layer."""
    scheduler_file = tmp_path / "scheduler.json"
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                  stderr=subprocess.DEVNULL, cwd=tmp_path)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        for name, extra in [("sealed", {}), ("bare", {"GRADER_NO_BWRAP": "1", "GRADER_NO_LANDLOCK": "1"})]:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--name", name, "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"],
                env={**os.environ, **extra}, stderr=subprocess.DEVNULL, cwd=tmp_path))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_doctor_and_grade_on_a_tcp_scheduler_name_the_worker_without_isolation(tmp_path, scheduler):
    doctor = run_grader("doctor", "--cluster", scheduler)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    lines = doctor.stdout.splitlines()
    assert any(line.startswith("✓ sealed (tcp://127.0.0.1:") and "every layer grading needs" in line
               for line in lines), doctor.stdout
    assert any(line.startswith("✗ bare (tcp://127.0.0.1:") and "lacks" in line and "filesystem isolation" in line
               for line in lines), doctor.stdout

    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(6):
        write_notebook(folder / f"student{index}.ipynb", CORRECT)
    db = f"sqlite:///{tmp_path / 'grades.db'}"
    refused = run_grader("grade", "toy", str(folder), "--cluster", scheduler, "--db", db,
                         "--assignments", str(TEST_ASSIGNMENTS))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("error: Dask worker bare: this machine's sandbox lacks")
    assert "--allow-unisolated" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    # What the sealed worker judged before the batch stopped is stored, and only that.
    stored = rows(db, "select count(*), count(distinct submission_id), coalesce(min(score), 4) from runs")
    assert stored[0][0] == stored[0][1] < 6 and stored[0][2] == 4


def test_bad_cluster_addresses_are_one_line_errors(tmp_path):
    write_notebook(tmp_path / "a.ipynb", CORRECT)
    for address, expected in [("local:zero", "expected local:N"),
                              ("tcp://127.0.0.1:9", "cannot reach a Dask scheduler there")]:
        result = run_grader("grade", "toy", str(tmp_path), "--cluster", address, "--db",
                            f"sqlite:///{tmp_path / 'g.db'}", "--assignments", str(TEST_ASSIGNMENTS), timeout=120)
        assert result.returncode == 2 and expected in result.stderr, (address, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_without_cluster_dask_is_never_imported(tmp_path):
    write_notebook(tmp_path / "a.ipynb", CORRECT)
    code = ("import sys; from grader.api import grade_submissions; "
            f"grade_submissions('toy', [{str(tmp_path)!r}], db_url='sqlite:///{tmp_path}/g.db', "
            f"assignments_dir={str(TEST_ASSIGNMENTS)!r}); "
            "import grader.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
