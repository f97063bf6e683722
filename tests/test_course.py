"""The course: a roster, one row per enrolled student across assignments, runs excluded, LMS exports."""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3

import pytest

from conftest import run_grader
from test_feedback import ANN, BO, COURSE, COURSE_ASSIGNMENTS, CY, LATE, ON_TIME, notebook

from grader import api
from grader.course import load_roster
from grader.errors import GraderError

ROSTER = COURSE / "roster.csv"
COMMON = ("--assignments", str(COURSE_ASSIGNMENTS))
# course as graded: Ann 6, bo 2.8 (late), cy 1, dee an error row, "demo" matches nobody; eve hands in nothing.
# course2: Ann 6 and eve (as her GitHub login eve-gh) 1; everyone else missing.


def grade(db: str, assignment: str, folder) -> None:
    result = run_grader("grade", assignment, str(folder), "--db", db, *COMMON, "--workers", "1")
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course")
    db = f"sqlite:///{tmp / 'graded.db'}"
    first = tmp / "course"
    notebook(first / "Ann Lee_101_assignsubmission_file_" / "course.ipynb", ANN, ON_TIME)
    notebook(first / "bo.ipynb", BO, LATE)
    notebook(first / "cy.ipynb", CY, ON_TIME)
    notebook(first / "demo.ipynb", ANN, ON_TIME)  # the README's demo row: nobody on the roster
    (first / "dee.ipynb").write_text("not json")
    grade(db, "course", first)
    second = tmp / "course2"
    notebook(second / "Ann Lee_101_assignsubmission_file_" / "course2.ipynb", ANN, ON_TIME)
    notebook(second / "eve-gh.ipynb", CY, ON_TIME)
    grade(db, "course2", second)
    return tmp


@pytest.fixture
def db(graded_course, tmp_path):
    shutil.copy(graded_course / "graded.db", tmp_path / "grades.db")
    return f"sqlite:///{tmp_path / 'grades.db'}"


def cells(table) -> dict[str, list]:
    return {row.student.id: [(row.cells[name].score, row.cells[name].status) for name in table.assignments]
            + [row.total] for row in table.rows}


def test_one_row_per_enrolled_student_with_every_assignment_and_the_total(db):
    table = api.course_results(db, assignments_dir=COURSE_ASSIGNMENTS)
    assert table.assignments == ["course", "course2"] and table.max_scores == {"course": 6, "course2": 6}
    assert cells(table) == {
        "s001": [(6, "graded"), (6, "graded"), 12],
        "s002": [(2.8, "graded"), (0, "missing"), 2.8],
        "s003": [(1, "graded"), (0, "missing"), 1],
        "s004": [(0, "error"), (0, "missing"), 0],
        "s005": [(0, "missing"), (1, "graded"), 1]}
    assert [(each.assignment, each.student) for each in table.unmatched] == [("course", "demo")]


def test_results_course_prints_the_table_missing_work_and_who_matched_nobody(db):
    result = run_grader("results", "--course", "--db", db, *COMMON)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"│ s001\s+│ Ann Lee\s+│ A\s+│\s+6 │\s+6 │\s+12 │", out)
    assert re.search(r"│ s002\s+│ Bo Chen\s+│ A\s+│\s+2\.8 │\s+0 missing │\s+2\.8 │", out)
    assert re.search(r"│ s004\s+│ Dee Evans\s+│ B\s+│\s+0 error │\s+0 missing │\s+0 │", out)
    assert "course /6" in out and "total /12" in out
    assert "1 submission(s) match nobody on the roster" in out
    assert re.search(r"course: demo \(.*demo\.ipynb\)", out)


def test_export_course_csv_has_a_column_per_assignment_and_the_total(db, tmp_path):
    result = run_grader("export", "--course", "--csv", str(tmp_path / "course.csv"), "--db", db, *COMMON)
    assert result.returncode == 0, result.stderr
    assert "5 enrolled students, 2 assignment(s)" in result.stdout and "course: demo" in result.stdout
    rows = list(csv.reader(open(tmp_path / "course.csv", encoding="utf-8")))
    assert rows[0] == ["id", "name", "email", "section", "course", "course2", "total", "max_total", "missing",
                       "errors", "adjusted"]
    assert rows[1:] == [
        ["s001", "Ann Lee", "ann@uni.edu", "A", "6", "6", "12", "12", "", "", ""],
        ["s002", "Bo Chen", "bo@uni.edu", "A", "2.8", "0", "2.8", "12", "course2", "", ""],
        ["s003", "Cy Diaz", "cy@uni.edu", "B", "1", "0", "1", "12", "course2", "", ""],
        ["s004", "Dee Evans", "dee@uni.edu", "B", "0", "0", "0", "12", "course2", "course", ""],
        ["s005", "Eve Fox", "eve@uni.edu", "B", "0", "1", "1", "12", "course", "", ""]]


def test_an_override_shows_in_the_course_table(db):
    api.override_score("course", "cy", check="test_scale_small", points=1, reason="r", by="TA", db_url=db)
    table = api.course_results(db, assignments_dir=COURSE_ASSIGNMENTS)
    cy = next(row for row in table.rows if row.student.id == "s003")
    assert (cy.cells["course"].score, cy.cells["course"].adjusted, cy.total) == (2, True, 2)


def runs_in(db: str) -> int:
    return sqlite3.connect(db.removeprefix("sqlite:///")).execute("select count(*) from runs").fetchone()[0]


def test_excluding_a_run_is_recorded_and_takes_it_out_of_the_course(db, tmp_path):
    demo = next(run for run in api.assignment_runs("course", db) if run.student == "demo")
    before = runs_in(db)
    result = run_grader("runs", "course", "--exclude", str(demo.run_id), "--reason", "README demo", "--by", "prof",
                        "--db", db)
    assert result.returncode == 0, result.stderr
    assert f"run {demo.run_id} of demo excluded" in result.stdout
    assert re.search(rf"run {demo.run_id} \(demo\): #\d+ run excluded by prof on [\d-]+ [\d:]+: README demo",
                     result.stdout)
    assert "5 runs, 1 excluded" in result.stdout
    assert runs_in(db) == before  # nothing deleted
    assert api.course_results(db, assignments_dir=COURSE_ASSIGNMENTS).unmatched == []
    assert "demo" not in {verdict.student for verdict in api.latest_results("course", db)}
    api.exclude_run("course", demo.run_id, undo=True, by="prof", db_url=db)
    assert [each.student for each in api.course_results(db, assignments_dir=COURSE_ASSIGNMENTS).unmatched] == ["demo"]


def test_excluding_a_resubmission_makes_the_previous_run_count_again(db, tmp_path):
    again = tmp_path / "again"
    notebook(again / "cy.ipynb", ANN, ON_TIME)  # cy resubmits a correct notebook: 6
    grade(db, "course", again)
    assert {v.student: v.score for v in api.latest_results("course", db)}["cy"] == 6
    newest = max(run.run_id for run in api.assignment_runs("course", db) if run.student == "cy")
    api.exclude_run("course", newest, reason="handed in after the solutions were out", by="prof", db_url=db)
    assert {v.student: v.score for v in api.latest_results("course", db)}["cy"] == 1
    history = run_grader("history", "course", "cy", "--db", db).stdout
    assert "graded (excluded)" in history and "2 runs" in history and "✎" not in history
    with pytest.raises(GraderError, match=rf"run {newest} is already excluded"):
        api.exclude_run("course", newest, reason="again", by="prof", db_url=db)


def test_canvas_export_has_canvas_columns_points_possible_and_titled_assignment_columns(db, tmp_path):
    path = tmp_path / "canvas.csv"
    result = run_grader("export", "--course", "--format", "canvas", "--canvas-id", "course=48213", "--csv", str(path),
                        "--db", db, *COMMON)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Course toy: scaling (48213)",
                       "Course toy 2: scaling again"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "6", "6"]
    assert rows[2] == ["Ann Lee", "9001", "s001", "alee", "A", "6", "6"]
    assert rows[3] == ["Bo Chen", "9002", "s002", "bchen", "A", "2.8", "0"]
    assert len(rows) == 2 + 5
    assert "1 submission(s) match nobody on the roster" in result.stdout and "course: demo" in result.stdout


def test_moodle_export_identifies_users_by_id_number_and_email_only(db, tmp_path):
    path = tmp_path / "moodle.csv"
    result = run_grader("export", "course", "--format", "moodle", "--csv", str(path), "--db", db, *COMMON)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(open(path, encoding="utf-8")))
    assert rows[0] == ["ID number", "Email address", "Course toy: scaling"]
    assert rows[1:] == [["s001", "ann@uni.edu", "6"], ["s002", "bo@uni.edu", "2.8"], ["s003", "cy@uni.edu", "1"],
                        ["s004", "dee@uni.edu", "0"], ["s005", "eve@uni.edu", "0"]]


def test_roster_matches_moodle_names_aliases_and_ids():
    roster = load_roster(ROSTER)
    assert roster.match("Ann Lee (101)").id == "s001"  # Moodle's "Full Name (participant id)"
    assert roster.match("eve-gh").id == "s005" and roster.match("  CY  ").id == "s003"
    assert roster.match("bo@uni.edu").id == "s002" and roster.match("9004").id == "s004"
    assert roster.match("demo") is None


@pytest.mark.parametrize("text, message", [
    ("name,email\nAnn,a@x\n", "the roster needs the columns id, name in its first row (missing id)"),
    ("id,name,aliases\ns1,Ann,ann\ns2,Bo,ann\n", "line 3: 'ann' already names s1 (line 2); an id, email or alias "
                                                 "must name one student"),
    ("id,name\ns1,Ann\ns1,Bo\n", "the id 's1' is given twice; each student once"),
    ("id,name\n,Ann\n", "line 2: a student needs an id and a name"),
])
def test_roster_problems_are_one_line_naming_the_file(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(GraderError) as raised:
        load_roster(path)
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_a_missing_roster_names_where_it_was_looked_for(db, tmp_path):
    result = run_grader("results", "--course", "--db", db, "--assignments", str(COURSE_ASSIGNMENTS),
                        "--roster", str(tmp_path / "nope.csv"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no roster at {tmp_path / 'nope.csv'}: write roster.csv beside assignments/ (columns id,name,email,"
        "section,aliases) or pass --roster FILE"]


def extended_course(tmp_path, extensions: str = "", roster_column: str = ""):
    """A copy of the course folder with ``[late.extensions]`` lines and/or a roster column added."""
    copy = tmp_path / "extended"
    shutil.copytree(COURSE, copy)
    spec = copy / "assignments" / "course" / "assignment.toml"
    if extensions:
        spec.write_text(spec.read_text() + "\n[late.extensions]\n" + extensions + "\n")
    if roster_column:
        header, *rows = (copy / "roster.csv").read_text().splitlines()
        name, values = roster_column.split("=", 1)
        column = dict(pair.split(":", 1) for pair in values.split(","))
        (copy / "roster.csv").write_text("\n".join(
            [f"{header},{name}"] + [f"{row},{column.get(row.split(',')[0], '')}" for row in rows]) + "\n")
    return copy / "assignments"


def stored_penalty(db: str, student: str) -> float:
    return sqlite3.connect(db.removeprefix("sqlite:///")).execute(
        "select r.penalty from runs r join submissions s on s.id = r.submission_id where s.student = ? "
        "order by r.id desc", (student,)).fetchone()[0]


def test_an_extension_in_the_assignment_recomputes_a_stored_penalty(db, tmp_path):
    extended = extended_course(tmp_path, extensions="s002 = 2026-06-05T00:00:00+00:00")  # bo, by roster id
    bo = {v.student: v for v in api.latest_results("course", db, assignments_dir=extended)}["bo"]
    assert (bo.score_before_penalty, bo.penalty, bo.late_seconds, bo.score) == (4, 0, 0, 4)
    assert {v.student: v.score for v in api.latest_results("course", db, assignments_dir=COURSE_ASSIGNMENTS)}["bo"] == 2.8
    assert stored_penalty(db, "bo") == 0.3  # the stored run is as graded; the view is today's policy
    table = api.course_results(db, assignments_dir=extended)
    assert next(row for row in table.rows if row.student.id == "s002").cells["course"].score == 4
    show = run_grader("show", "course", "bo", "--db", db, "--assignments", str(extended))
    assert "score 4/6   graded" in show.stdout and "on time" in show.stdout


def test_a_roster_deadline_column_is_that_students_extension(db, tmp_path):
    extended = extended_course(tmp_path, roster_column="deadline_course=s002:2026-06-02T12:00:00+00:00")
    bo = {v.student: v for v in api.latest_results("course", db, assignments_dir=extended)}["bo"]
    assert (bo.penalty, bo.score) == (0.1, 3.6)  # 1 day late against their own deadline


def test_grading_with_an_extension_stores_the_extended_penalty(tmp_path):
    extended = extended_course(tmp_path, extensions="bo = 2026-06-04T00:00:00+00:00")
    notebook(tmp_path / "in" / "bo.ipynb", BO, LATE)
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_grader("grade", "course", str(tmp_path / "in"), "--db", db, "--assignments", str(extended),
                        "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert stored_penalty(db, "bo") == 0


def test_an_extension_without_a_utc_offset_is_one_line_naming_the_file(db, tmp_path):
    extended = extended_course(tmp_path, extensions="bo = 2026-06-04T00:00:00")
    result = run_grader("results", "course", "--db", db, "--assignments", str(extended))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {extended / 'course' / 'assignment.toml'}: late.extensions: Value error, bo: give the deadline "
        "with its UTC offset, e.g. 2026-12-03T23:59:00+03:00; fix the file"]


def test_a_student_may_be_named_by_their_roster_id_or_alias(db):
    show = run_grader("show", "course", "s001", "--db", db, *COMMON)
    assert show.returncode == 0, show.stderr
    assert "student Ann Lee (101)" in show.stdout
    record, final = api.override_score("course", "cydiaz", check="test_scale_small", points=1, reason="r", by="TA",
                                       db_url=db, assignments_dir=COURSE_ASSIGNMENTS)
    assert (record.student, final.student, final.score) == ("cy", "cy", 2)
    undone = run_grader("override", "course", "s003", "--undo", "--db", db, *COMMON)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.startswith(f"#{record.id + 1} cy: undid #{record.id} (test_scale_small); final score 1/6")


def test_moodle_feedback_zip_packs_students_the_roster_gives_a_moodle_id(db, tmp_path):
    import zipfile

    extended = extended_course(tmp_path, roster_column="moodle_id=s002:202")
    out = tmp_path / "pages"
    result = run_grader("feedback", "course", str(out), "--zip", "moodle", "--db", db, "--assignments", str(extended))
    assert result.returncode == 0, result.stderr
    assert sorted(zipfile.ZipFile(out / "course-feedback-moodle.zip").namelist()) == [
        "Ann Lee_101_assignfeedback_file_/course-feedback.html", "Bo Chen_202_assignfeedback_file_/course-feedback.html"]
    assert "3 not packed" in result.stdout  # cy, dee and the demo row


def test_canvas_column_takes_the_assignments_canvas_id_from_its_toml(db, tmp_path):
    extended = extended_course(tmp_path)
    spec = extended / "course2" / "assignment.toml"
    spec.write_text('canvas_id = "48214"\n' + spec.read_text())
    path = tmp_path / "canvas.csv"
    result = run_grader("export", "--course", "--format", "canvas", "--csv", str(path), "--db", db,
                        "--assignments", str(extended))
    assert result.returncode == 0, result.stderr
    assert next(csv.reader(open(path, encoding="utf-8")))[5:] == ["Course toy: scaling",
                                                                   "Course toy 2: scaling again (48214)"]


def test_feedback_gives_one_page_per_enrolled_student_under_two_names(db, tmp_path):
    again = tmp_path / "again"
    notebook(again / "cydiaz.ipynb", ANN, ON_TIME)  # cy again, under their other alias: the newest counts
    grade(db, "course", again)
    out = tmp_path / "pages"
    result = run_grader("feedback", "course", str(out), "--db", db, *COMMON)
    assert result.returncode == 0, result.stderr
    assert "5 feedback pages written" in result.stdout  # Ann, bo, cy (once), dee, and demo who matches nobody
    pages = {path.name.split("-")[0]: path.read_text() for path in out.iterdir()}
    assert "cy" not in pages and '<p class="score" id="score">Score: 6 of 6</p>' in pages["cydiaz"]
