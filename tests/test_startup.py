"""The start-up's order, which timing alone would not pin: the sandboxes are launched before the
coordinator imports torch or opens the gradebook, pool workers take those sandboxes over instead
of launching their own, and the commands import nothing heavy before they need it.

Events come from ``grader.timeline`` ($GRADER_TIMELINE); speed itself is measured by
benchmarks/bench_startup.py, not here.
"""

import json
import os
import subprocess
import sys

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook
from grader.timeline import read

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 41\n"


def grader_with_timeline(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    path = tmp_path / "timeline.jsonl"
    done = subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=600, env=dict(os.environ, GRADER_TIMELINE=str(path)))
    return done, read(path)


def events(entries: list[dict], event: str, pid: int | None = None) -> list[dict]:
    return [entry for entry in entries if entry["event"] == event and (pid is None or entry["pid"] == pid)]


def test_importing_the_cli_and_the_api_imports_no_torch_pytest_sqlalchemy_or_nbformat():
    probe = ("import sys, grader.cli, grader.api; print(sorted(m for m in ('torch', 'pytest', 'sqlalchemy', "
             "'alembic', 'nbformat', 'jsonschema', 'grader.doctor', 'grader.validation', 'grader.ci', 'dask') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.replace("'", '"')) == []


def test_a_pool_batch_launches_every_sandbox_from_the_coordinator_before_torch_and_the_gradebook(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(4):
        write_notebook(folder / f"student{index}.ipynb", CORRECT if index % 2 == 0 else HALF)
    done, entries = grader_with_timeline(tmp_path, "grade", "toy", str(folder), "--db",
                                         f"sqlite:///{tmp_path / 'grades.db'}", "--workers", "2",
                                         "--json", str(tmp_path / "out.json"), "--assignments", str(TEST_ASSIGNMENTS))
    assert done.returncode == 0, done.stderr
    coordinator = events(entries, "cli.start")[0]["pid"]
    launches = events(entries, "sandbox.launch")
    assert len(launches) == 2 and {entry["pid"] for entry in launches} == {coordinator}
    assert not any(entry["torch"] for entry in launches)
    gradebook = events(entries, "gradebook.open", coordinator)[0]
    assert all(entry["t"] < gradebook["t"] for entry in launches)
    ready = events(entries, "sandbox.ready")
    assert len(ready) == 2 and coordinator not in {entry["pid"] for entry in ready}  # the workers took them over
    verdicts = json.loads((tmp_path / "out.json").read_text())
    assert sorted((v["student"], v["score"]) for v in verdicts) == [
        ("student0", 4), ("student1", 2), ("student2", 4), ("student3", 2)]


def test_a_one_worker_batch_launches_its_sandbox_before_the_coordinator_imports_torch(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(2):
        write_notebook(folder / f"student{index}.ipynb", CORRECT if index == 0 else HALF)
    done, entries = grader_with_timeline(tmp_path, "grade", "toy", str(folder), "--db",
                                         f"sqlite:///{tmp_path / 'grades.db'}", "--workers", "1",
                                         "--json", str(tmp_path / "out.json"), "--assignments", str(TEST_ASSIGNMENTS))
    assert done.returncode == 0, done.stderr
    coordinator = events(entries, "cli.start")[0]["pid"]
    launches = events(entries, "sandbox.launch")
    assert [(entry["pid"], entry["torch"]) for entry in launches] == [(coordinator, False)]
    assert launches[0]["t"] < events(entries, "gradebook.open", coordinator)[0]["t"]
    assert launches[0]["t"] < events(entries, "judge.imported", coordinator)[0]["t"]
    verdicts = json.loads((tmp_path / "out.json").read_text())
    assert sorted((v["student"], v["score"]) for v in verdicts) == [("student0", 4), ("student1", 2)]


def test_check_launches_its_sandbox_before_importing_torch(tmp_path):
    notebook = write_notebook(tmp_path / "toy.ipynb", CORRECT)
    done, entries = grader_with_timeline(tmp_path, "check", "toy", str(notebook), "--assignments",
                                         str(TEST_ASSIGNMENTS))
    assert done.returncode == 0, done.stdout + done.stderr
    coordinator = events(entries, "cli.start")[0]["pid"]
    launches = events(entries, "sandbox.launch")
    assert [(entry["pid"], entry["torch"]) for entry in launches] == [(coordinator, False)]
    assert launches[0]["t"] < events(entries, "judge.imported", coordinator)[0]["t"]


def test_an_up_to_date_gradebook_opens_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'grades.db'}"
    probe = ("import sys; from grader.store import Gradebook; Gradebook(sys.argv[1], create=True).close(); "
             "print('alembic' in sys.modules)")
    made = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, cwd=REPO, timeout=120)
    opened = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert (made.stdout.strip(), opened.stdout.strip()) == ("True", "False"), made.stderr + opened.stderr


def test_a_resume_with_every_submission_unchanged_starts_no_sandbox_and_prints_the_stored_results(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(3):
        write_notebook(folder / f"student{index}.ipynb", CORRECT if index != 1 else HALF)
    grade = ["grade", "toy", str(folder), "--db", f"sqlite:///{tmp_path / 'grades.db'}", "--workers", "2",
             "--json", str(tmp_path / "out.json"), "--assignments", str(TEST_ASSIGNMENTS)]
    (tmp_path / "first").mkdir()
    first, first_entries = grader_with_timeline(tmp_path / "first", *grade)
    assert first.returncode == 0, first.stderr
    assert len(events(first_entries, "sandbox.launch")) == 2
    done, entries = grader_with_timeline(tmp_path, *grade)
    assert done.returncode == 0, done.stderr
    assert [entry["event"] for entry in entries if entry["event"].startswith(("sandbox.", "pool.", "batch."))] == []
    assert "3 unchanged since their last stored run" in done.stdout
    assert "student1" in done.stdout and "3 submissions: mean 3.33" in done.stdout
    verdicts = json.loads((tmp_path / "out.json").read_text())
    assert sorted((v["student"], v["score"]) for v in verdicts) == [("student0", 4), ("student1", 2), ("student2", 4)]


def test_a_resume_with_one_changed_submission_launches_its_sandboxes_before_the_gradebook_opens(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for index in range(3):
        write_notebook(folder / f"student{index}.ipynb", CORRECT)
    grade = ["grade", "toy", str(folder), "--db", f"sqlite:///{tmp_path / 'grades.db'}", "--workers", "2",
             "--json", str(tmp_path / "out.json"), "--assignments", str(TEST_ASSIGNMENTS)]
    (tmp_path / "first").mkdir()
    first, _ = grader_with_timeline(tmp_path / "first", *grade)
    assert first.returncode == 0, first.stderr
    write_notebook(folder / "student2.ipynb", HALF)
    done, entries = grader_with_timeline(tmp_path, *grade)
    assert done.returncode == 0, done.stderr
    coordinator = events(entries, "cli.start")[0]["pid"]
    launches = events(entries, "sandbox.launch")
    assert [(entry["pid"], entry["torch"]) for entry in launches] == [(coordinator, False)] * 2
    assert all(entry["t"] < events(entries, "gradebook.open", coordinator)[0]["t"] for entry in launches)
    assert "2 unchanged since their last stored run" in done.stdout
    verdicts = json.loads((tmp_path / "out.json").read_text())
    assert sorted((v["student"], v["score"]) for v in verdicts) == [("student0", 4), ("student1", 4), ("student2", 2)]
