"""The gradebook on SQLite and on PostgreSQL (a real server), its schema migrations, concurrent writers."""

import shutil
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from conftest import REPO, TEST_ASSIGNMENTS, run_grader, write_notebook
from grader.errors import GraderError
from grader.api import grade_submissions
from grader.migrations import alembic_config, head_revision
from grader.models import CellError, CellResult, CheckResult, CodeCell, Verdict
from grader.store import Base, Gradebook

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 41\n"
PREVIOUS_SCHEMA_DB = REPO / "tests" / "data" / "gradebook_3492b8f.db"  # hw1 submissions graded by commit 3492b8f


def verdict(student: str, score: float, sha: str = "a" * 64, **extra) -> Verdict:
    return Verdict(
        assignment="hw9", submission=f"subs/{student}.ipynb", student=student, sha256=sha, status="graded",
        score=score, max_score=10, device="cpu", grader_version="9.9", checks_fingerprint="f" * 16,
        layers={"bubblewrap": True}, stdout="out é\n", started_at=datetime(2025, 3, 1, 12, tzinfo=timezone.utc),
        checks=[CheckResult(name="test_a", title="a", visibility="public", score=score, max_score=10,
                            passed=score == 10, message="" if score == 10 else "max abs diff 1 at index (0,)")],
        cells=[CellResult(index=1, status="ok"),
               CellResult(index=2, status="error", error=CellError(type="ValueError", message="bad"))], **extra)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def scalar(url: str, query: str):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(query)).scalar()
    finally:
        engine.dispose()


def test_runs_round_trip_and_queries(gradebook_url):
    book = Gradebook(gradebook_url)
    try:
        late = datetime(2025, 3, 2, 9, tzinfo=timezone.utc)
        book.record(verdict("ann", 5))
        book.record(verdict("ann", 9, sha="b" * 64, raw_score=10, submitted_at=late, late_seconds=3600,
                            penalty=0.1))
        book.record(verdict("bo", 7))
        assert book.count_runs() == 3
        latest = book.latest("hw9")
        assert [(v.student, v.score, v.raw_score, v.penalty, v.late_seconds) for v in latest] == [
            ("ann", 9, 10, 0.1, 3600), ("bo", 7, 7, 0, 0)]
        ann = latest[0]
        assert as_utc(ann.submitted_at) == late
        assert as_utc(ann.started_at) == datetime(2025, 3, 1, 12, tzinfo=timezone.utc)
        assert ann.checks[0].message == "max abs diff 1 at index (0,)" and ann.stdout == "out é\n"
        assert ann.cells[1].error.type == "ValueError" and ann.layers == {"bubblewrap": True}
        assert [v.score for v in book.history("hw9", "ann")] == [5, 9]
        found = book.unchanged("hw9", [("subs/bo.ipynb", "a" * 64)], "f" * 16, "9.9", True, "cpu")
        assert found.get(("subs/bo.ipynb", "a" * 64)) is not None and found[("subs/bo.ipynb", "a" * 64)].score == 7
        assert book.unchanged("hw9", [("subs/bo.ipynb", "a" * 64)], "f" * 16, "9.9", True, "cuda") == {}
        assert book.unchanged("hw9", [("subs/bo.ipynb", "c" * 64)], "f" * 16, "9.9", True, "cpu") == {}
    finally:
        book.close()


def test_grade_resumes_and_results_reads_it(gradebook_url, tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "ann.ipynb", CORRECT)
    write_notebook(folder / "bo.ipynb", HALF)
    first = grade_submissions("toy", [folder], db_url=gradebook_url, assignments_dir=TEST_ASSIGNMENTS)
    assert [(v.student, v.score) for v in first] == [("ann", 4), ("bo", 2)]
    started = []
    again = grade_submissions("toy", [folder], db_url=gradebook_url, assignments_dir=TEST_ASSIGNMENTS,
                              on_start=lambda to_grade, skipped: started.append((to_grade, skipped)))
    assert started == [(0, 2)] and [v.score for v in again] == [4, 2]
    assert scalar(gradebook_url, "select count(*) from runs") == 2
    shown = run_grader("results", "toy", "--db", gradebook_url)
    assert shown.returncode == 0, shown.stderr
    assert "ann" in shown.stdout and "4/4" in shown.stdout and "2/4" in shown.stdout


def test_fresh_gradebook_is_created_by_the_migrations_at_head(gradebook_url):
    Gradebook(gradebook_url).close()
    engine = create_engine(gradebook_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == head_revision() == "0006"
            # The migrations build exactly the schema the ORM models describe: a column added to the
            # models without a migration fails here.
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused_with_the_fix(gradebook_url):
    Gradebook(gradebook_url).close()
    engine = create_engine(gradebook_url)
    with engine.begin() as connection:
        connection.execute(text("update alembic_version set version_num = '0099'"))
    engine.dispose()
    with pytest.raises(GraderError, match=r"schema revision 0099, newer than this grader knows \(0006\); "
                                          r"upgrade grader: pip install -U grader"):
        Gradebook(gradebook_url)
    shown = run_grader("results", "toy", "--db", gradebook_url)
    assert shown.returncode == 2 and len(shown.stderr.strip().splitlines()) == 1
    assert "upgrade grader: pip install -U grader" in shown.stderr and "Traceback" not in shown.stderr
    assert scalar(gradebook_url, "select version_num from alembic_version") == "0099"  # left as it was


def test_previous_schema_sqlite_fixture_upgrades_in_place(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(PREVIOUS_SCHEMA_DB, db)
    url = f"sqlite:///{db}"
    assert scalar(url, "select count(*) from runs") == 5
    before = create_engine(url)
    with before.connect() as connection:
        rows = connection.execute(text("select r.id, s.student, r.score, r.status from runs r "
                                       "join submissions s on s.id = r.submission_id order by r.id")).all()
        checks = connection.execute(text("select count(*) from check_results")).scalar()
    before.dispose()

    shown = run_grader("results", "hw1", "--db", url)
    assert shown.returncode == 0, shown.stderr
    for _, student, score, _ in rows:
        assert student in shown.stdout
    assert "10/10" in shown.stdout and "5.5/10" in shown.stdout

    book = Gradebook(url)
    try:
        assert book.count_runs() == 5
        latest = {v.student: v for v in book.latest("hw1")}
        assert {student: (v.score, v.status) for student, v in latest.items()} == {
            student: (score, status) for _, student, score, status in rows}
        assert all(v.raw_score == v.score and v.late_seconds == 0 and v.penalty == 0 for v in latest.values())
        assert sum(len(v.checks) for v in latest.values()) == checks == 56
        book.record(verdict("new", 3))  # the upgraded gradebook takes new runs
        assert book.count_runs() == 6
    finally:
        book.close()
    assert scalar(url, "select version_num from alembic_version") == "0006"


def test_previous_schema_postgresql_upgrades_in_place(postgres_server):
    url = postgres_server.new_database()
    engine = create_engine(url)
    from alembic import command

    with engine.begin() as connection:  # the schema as commit 3492b8f created it, with rows
        command.upgrade(alembic_config(connection), "0001")
        connection.execute(text("drop table alembic_version"))
        connection.execute(text("insert into assignments (name, max_score) values ('hw9', 10)"))
        connection.execute(text("insert into submissions (assignment_id, student, path, sha256, first_seen) "
                                "values (1, 'ann', 'subs/ann.ipynb', 'aa', now())"))
        for score in (4, 8):
            connection.execute(text(
                "insert into runs (submission_id, status, message, score, max_score, include_hidden, duration, "
                "device, grader_version, checks_fingerprint, layers, cells, stdout, stderr, started_at) values "
                f"(1, 'graded', '', {score}, 10, true, 1.5, 'cpu', '0.1.0', 'ff', '{{}}', '[]', '', '', now())"))
    engine.dispose()
    book = Gradebook(url)
    try:
        assert [(v.score, v.raw_score, v.penalty) for v in book.history("hw9")] == [(4, 4, 0), (8, 8, 0)]
    finally:
        book.close()
    assert scalar(url, "select version_num from alembic_version") == "0006"


def test_two_grader_processes_share_one_postgresql_gradebook(postgres_server, tmp_path):
    url = postgres_server.new_database()  # fresh: both processes also race to create the schema
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for index in range(6):
            write_notebook(folder / f"{name}{index}.ipynb", CORRECT if index % 2 else HALF)
        folders.append(folder)
    command = [sys.executable, "-m", "grader.cli", "grade", "toy", "--db", url, "--workers", "1",
               "--assignments", str(TEST_ASSIGNMENTS)]
    processes = [subprocess.Popen([*command, str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=REPO) for folder in folders]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    assert scalar(url, "select count(*) from runs") == 12
    assert scalar(url, "select count(distinct path) from submissions") == 12
    assert scalar(url, "select count(*) from assignments") == 1
    book = Gradebook(url)
    try:
        scores = {v.student: v.score for v in book.latest("toy")}
    finally:
        book.close()
    assert scores == {f"{name}{index}": 4.0 if index % 2 else 2.0 for name in "ab" for index in range(6)}


def test_a_correct_notebook_that_prints_nul_is_stored_in_every_backend(gradebook_url, tmp_path):
    from grader.api import latest_results

    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "nul.ipynb", "print('a\\x00b')\n" + CORRECT)
    verdicts = grade_submissions("toy", [folder], db_url=gradebook_url, assignments_dir=TEST_ASSIGNMENTS)
    assert [(v.status, v.score) for v in verdicts] == [("graded", 4)]
    stored = latest_results("toy", gradebook_url)
    assert [(v.student, v.score) for v in stored] == [("nul", 4)] and "a\\x00b" in stored[0].stdout


def test_a_student_name_longer_than_the_column_is_stored_without_colliding(gradebook_url, tmp_path):
    from grader.api import latest_results

    folder = tmp_path / "subs"
    for suffix in ("a", "b"):
        moodle = folder / ("x" * 215 + suffix + "_1_assignsubmission_file_")
        moodle.mkdir(parents=True)
        write_notebook(moodle / "toy.ipynb", CORRECT)
    grade_submissions("toy", [folder], db_url=gradebook_url, assignments_dir=TEST_ASSIGNMENTS)
    stored = latest_results("toy", gradebook_url)
    assert len(stored) == 2 and all(len(v.student) <= 200 and v.score == 4 for v in stored)


def test_a_hidden_checks_student_message_survives_the_gradebook(gradebook_url):
    from grader.student_view import student_view

    hidden = CheckResult(name="test_h", title="h", visibility="hidden", score=0, max_score=2, passed=False,
                         message="max abs diff 0.25 at index (3,), where yours is 1.5",
                         student_message="softmax: your result is a tensor of shape (4, 10), dtype float32")
    with Gradebook(gradebook_url) as book:
        book.record(verdict("cy", 3).model_copy(update={"checks": [hidden]}))
        stored = book.latest("hw9", "cy")[0]
    assert stored.checks[0].message == hidden.message  # the instructor's view keeps everything
    assert student_view(stored, "safe").checks[0].message == hidden.student_message


def test_a_submission_another_gradebook_stored_meanwhile_is_found_not_duplicated(gradebook_url):
    # Each gradebook reads an assignment's submissions once; a row another grader adds afterwards fails
    # this one's insert, which then reads again and stores its run under the existing row.
    with Gradebook(gradebook_url) as ours, Gradebook(gradebook_url) as theirs:
        ours.record(verdict("ann", 5))
        theirs.record(verdict("bo", 6))
        ours.record(verdict("bo", 7))
        ours.record(verdict("cy", 8))
        assert [(v.student, v.score) for v in ours.history("hw9")] == [("ann", 5), ("bo", 6), ("bo", 7), ("cy", 8)]
    assert scalar(gradebook_url, "SELECT count(*) FROM submissions") == 3


def test_a_submission_stored_without_its_code_gets_it_from_a_later_run_and_keeps_it(gradebook_url):
    first, later = [CodeCell(index=1, source="x = 1")], [CodeCell(index=1, source="x = 2")]
    with Gradebook(gradebook_url) as book:
        book.record(verdict("ann", 5))
        assert book.submission_code("hw9", "subs/ann.ipynb", "a" * 64) is None
        book.record(verdict("ann", 6), first)
        book.record(verdict("ann", 7), later)
    with Gradebook(gradebook_url) as book:
        assert book.submission_code("hw9", "subs/ann.ipynb", "a" * 64) == first
        book.record(verdict("ann", 8), later)
        assert book.submission_code("hw9", "subs/ann.ipynb", "a" * 64) == first
