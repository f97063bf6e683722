"""Overrides, their undoing, voided checks and regrades: a small class graded for real, every view's numbers."""

from __future__ import annotations

import csv
import re
import shutil

import pytest

from conftest import run_grader
from test_feedback import ANN, BO, CY, COURSE_ASSIGNMENTS, LATE, ON_TIME, notebook

from grader import api
from grader.errors import GraderError

# As graded (see test_feedback): Ann 6/6; bo raw 4 (lost test_scale_keeps_dtype, 2 points), late 30% → 2.8;
# cy 1 (only test_name); dee an error row.


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("overrides")
    hand_ins = tmp / "hand-ins"
    notebook(hand_ins / "ann.ipynb", ANN, ON_TIME)
    notebook(hand_ins / "bo.ipynb", BO, LATE)
    notebook(hand_ins / "cy.ipynb", CY, ON_TIME)
    (hand_ins / "dee.ipynb").write_text("not json")
    result = run_grader("grade", "course", str(hand_ins), "--db", f"sqlite:///{tmp / 'graded.db'}",
                        "--assignments", str(COURSE_ASSIGNMENTS), "--workers", "1")
    assert result.returncode == 0, result.stderr
    return tmp


@pytest.fixture
def db(graded_class, tmp_path):
    """A fresh copy of the graded class's gradebook for each test: changes never leak between tests."""
    shutil.copy(graded_class / "graded.db", tmp_path / "grades.db")
    return f"sqlite:///{tmp_path / 'grades.db'}"


def finals(db) -> dict[str, tuple[float, float]]:
    return {verdict.student: (verdict.score, verdict.max_score) for verdict in api.latest_results("course", db)}


def cli(*args: str) -> str:
    result = run_grader(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_an_override_of_a_check_shows_in_every_view(db, tmp_path):
    record, final = api.override_score("course", "cy", check="test_scale_small", points=1,
                                       reason="doubling was what the handout said", by="TA Kim", db_url=db)
    assert (record.kind, record.old_points, record.points, record.by) == ("override", 0, 1, "TA Kim")
    assert (final.score, final.max_score) == (2, 6)
    assert finals(db) == {"ann": (6, 6), "bo": (2.8, 6), "cy": (2, 6), "dee": (0, 6)}

    results = cli("results", "course", "--db", db)
    assert re.search(r"│ cy\s+│\s+2/6 ✎ │", results)
    assert re.search(r"│ ann\s+│\s+6/6 │", results)
    assert "✎ a person changed this score" in results
    show = cli("show", "course", "cy", "--db", db)
    assert "score 2/6 ✎" in show
    assert f"adjusted #{record.id} test_scale_small 0 → 1 by TA Kim on" in show
    assert "doubling was what the handout said" in show
    assert "2/6 ✎" in cli("history", "course", "cy", "--db", db)

    cli("export", "course", "--csv", str(tmp_path / "course.csv"), "--db", db)
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "course.csv", encoding="utf-8"))}
    assert (rows["cy"]["test_scale_small"], rows["cy"]["raw_score"], rows["cy"]["score"]) == ("1", "2", "2")
    assert "test_scale_small 0 → 1 by TA Kim" in rows["cy"]["adjustments"] and rows["ann"]["adjustments"] == ""

    cli("report", "course", "--html", str(tmp_path / "report.html"), "--db", db)
    report = (tmp_path / "report.html").read_text()
    assert re.search(r'<tr class="graded"><td>cy</td><td class="num adjusted" title="#\d+ test_scale_small 0 → 1 '
                     r'by TA Kim[^"]*">2 ✎</td>', report)
    assert re.search(r'<li>cy: #\d+ test_scale_small 0 → 1 by TA Kim on [\d-]+ [\d:]+: doubling was what the handout said'
                     r'</li>', report)

    cli("feedback", "course", str(tmp_path / "pages"), "--db", db, "--assignments", str(COURSE_ASSIGNMENTS))
    page = next(path.read_text() for path in (tmp_path / "pages").iterdir() if path.name.startswith("cy-"))
    assert '<p class="score" id="score">Score: 2 of 6</p>' in page
    assert ('<li class="adjustment">scale: a small vector: 0 → 1 — reason: doubling was what the handout said '
            '(TA Kim, ') in page
    assert '<td class="num">1/1 *</td>' in page


def test_the_late_penalty_applies_to_the_overridden_raw_score(db):
    _, final = api.override_score("course", "bo", check="test_scale_keeps_dtype", points=2, reason="float32 is fine",
                                  by="TA", db_url=db)
    assert (final.score_before_penalty, final.penalty, final.score) == (6, 0.3, 4.2)


def test_a_total_override_replaces_the_final_score(db):
    record, final = api.override_score("course", "dee", points=5, reason="graded the PDF by hand", by="prof",
                                       db_url=db)
    assert (record.kind, record.old_points, final.score, final.status) == ("total", 0, 5, "error")
    assert "total 0 → 5 by prof" in cli("show", "course", "dee", "--db", db)


def test_undo_appends_its_reversal_and_restores_the_score(db):
    first, _ = api.override_score("course", "cy", check="test_scale_small", points=1, reason="a", by="TA", db_url=db)
    api.override_score("course", "cy", check="test_scale_hidden_values", points=2, reason="b", by="TA", db_url=db)
    assert finals(db)["cy"] == (4, 6)
    undo, final = api.override_score("course", "cy", check="test_scale_small", undo=True, by="TA", db_url=db)
    assert (undo.kind, undo.reverses, final.score) == ("undo", first.id, 3)
    log = api.adjustment_log("course", db)
    assert [(row.kind, row.check) for row in log] == [
        ("override", "test_scale_small"), ("override", "test_scale_hidden_values"), ("undo", "test_scale_small")]
    listing = cli("override", "course", "--list", "--db", db)
    assert f"(reverses #{first.id})" in listing and "3 changes" in listing
    with pytest.raises(GraderError, match="nothing to undo: cy has no override in effect in course for test_scale_small"):
        api.override_score("course", "cy", check="test_scale_small", undo=True, by="TA", db_url=db)


def test_a_regrade_that_changes_an_overridden_checks_verdict_flags_it_for_review(db, tmp_path):
    api.override_score("course", "cy", check="test_scale_small", points=1, reason="close enough", by="TA", db_url=db)
    api.override_score("course", "ann", check="test_name", points=0, reason="copied", by="TA", db_url=db)
    fixed = tmp_path / "resubmitted"
    notebook(fixed / "cy.ipynb", ANN, ON_TIME)  # cy now passes test_scale_small on their own
    notebook(fixed / "ann.ipynb", ANN, ON_TIME)  # ann unchanged: test_name still passes
    result = run_grader("grade", "course", str(fixed), "--db", db, "--assignments", str(COURSE_ASSIGNMENTS),
                        "--workers", "1", "--regrade")
    assert result.returncode == 0, result.stderr
    latest = {verdict.student: verdict for verdict in api.latest_results("course", db)}
    assert [(a.check, a.needs_review) for a in latest["cy"].adjustments] == [("test_scale_small", True)]
    assert [(a.check, a.needs_review) for a in latest["ann"].adjustments] == [("test_name", False)]
    assert (latest["cy"].score, latest["ann"].score) == (6, 5)  # the override is kept, and flagged
    assert re.search(r"│ cy\s+│\s+6/6 ✎! │", cli("results", "course", "--db", db))
    assert "[needs review: a regrade changed this check's verdict]" in cli("show", "course", "cy", "--db", db)


def test_void_check_give_full_then_drop_recompute_everyones_score(db):
    record, verdicts = api.void_check("course", "test_scale_keeps_dtype", mode="full", reason="tolerance too tight",
                                      by="prof", db_url=db)
    assert record.kind == "void_full" and record.student is None
    assert finals(db) == {"ann": (6, 6), "bo": (4.2, 6), "cy": (3, 6), "dee": (0, 6)}
    api.void_check("course", "test_scale_keeps_dtype", mode="full", undo=True, by="prof", db_url=db)
    assert finals(db) == {"ann": (6, 6), "bo": (2.8, 6), "cy": (1, 6), "dee": (0, 6)}
    api.void_check("course", "test_scale_keeps_dtype", mode="drop", reason="a broken check", by="prof", db_url=db)
    assert finals(db) == {"ann": (4, 4), "bo": (2.8, 4), "cy": (1, 4), "dee": (0, 4)}
    output = cli("void-check", "course", "test_name", "--give-full", "--reason", "everyone asked", "--db", db)
    assert "test_name: full points for everyone" in output and re.search(r"│ cy\s+│\s+1/4 ✎ │", output)
    assert [row.kind for row in api.adjustment_log("course", db)] == ["void_full", "undo", "void_drop", "void_full"]


@pytest.mark.parametrize("args, message", [
    (["override", "course", "cy", "--check", "test_name", "--points", "1"],
     "error: an override needs its reason: --reason 'regraded by hand: the plot is right'"),
    (["override", "course", "cy", "--check", "test_nme", "--points", "1", "--reason", "r"],
     "error: no check 'test_nme' in cy's latest course run; its checks: test_scale_small, test_name, "
     "test_scale_hidden_values, test_scale_keeps_dtype"),
    (["override", "course", "cy", "--check", "test_name", "--points", "3", "--reason", "r"],
     "error: --points 3: test_name is worth 0 to 1"),
    (["override", "course", "cyy", "--total", "3", "--reason", "r"],
     "error: no student 'cyy' in the course results of {db}; did you mean cy?"),
    (["void-check", "course", "test_name", "--reason", "r"],
     "error: choose one: --give-full (everyone gets its points) or --drop (it counts for nobody)"),
    (["void-check", "course", "test_nam", "--drop", "--reason", "r"],
     "error: no check 'test_nam' in the course results; did you mean test_name?"),
])
def test_user_errors_are_one_line_and_change_nothing(db, args, message):
    result = run_grader(*args, "--db", db)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message.format(db=db)]
    assert api.adjustment_log("course", db) == []


@pytest.mark.parametrize("args", [["show", "course", "cy"], ["override", "course", "cy", "--total", "3", "--reason", "r"]])
def test_a_student_whose_every_run_is_excluded_gets_one_line(db, args):
    cy = next(run for run in api.assignment_runs("course", db) if run.student == "cy")
    api.exclude_run("course", cy.run_id, reason="demo run", by="prof", db_url=db)
    result = run_grader(*args, "--db", db)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: cy has no course run that counts (every one is excluded); see them with grader runs course, "
        "count one again with grader runs course --include RUN_ID"]
    assert [record.kind for record in api.adjustment_log("course", db)] == ["exclude_run"]


def test_an_override_names_the_run_that_counts_not_an_excluded_newer_one(db, tmp_path):
    notebook(tmp_path / "again" / "cy.ipynb", CY, ON_TIME)
    result = run_grader("grade", "course", str(tmp_path / "again"), "--db", db, "--assignments",
                        str(COURSE_ASSIGNMENTS), "--workers", "1", "--regrade")
    assert result.returncode == 0, result.stderr
    first, newer = [run.run_id for run in api.assignment_runs("course", db) if run.student == "cy"]
    api.exclude_run("course", newer, reason="a test run", by="prof", db_url=db)
    record, final = api.override_score("course", "cy", check="test_scale_small", points=1, reason="r", by="TA",
                                       db_url=db)
    assert (record.run_id, final.run_id) == (first, first)
