"""grader.report against hand-built verdicts: numbers, columns, shapes, and student text made inert.

No sandbox here: each format is fed Verdict objects built by hand, as the judge would
hand them over, and its output is read back the way its reader reads it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from rich.console import Console

from grader.models import CellError, CellResult, CheckResult, Verdict
from grader.report import (annotations, check_pass_rates, junit_xml, print_grade_summary, print_submission_detail,
                           render_html, render_markdown, score_summary, write_csv, write_json)

# A student's name, message and output carrying a screen clear, a carriage return, a line
# break, a NUL and a right-to-left override: what issue 24 saw reach the instructor.
HOSTILE = "\x1b[2J\rscore 10/10\n| fake | row |\x00\u202ecod.exe"
# The same text as every medium must show it: each acting character as its escape.
SHOWN = r"\x1b[2J\rscore 10/10\n| fake | row |\x00\u202ecod.exe"
ACTING = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def acting_characters(text: str, allowed: str = "\n") -> list[str]:
    """Control characters and bidi overrides in ``text``, other than the medium's own line breaks."""
    return [char for char in ACTING.findall(text) if char not in allowed]


def check(name: str, earned: float, points: float, message: str = "", visibility: str = "public") -> CheckResult:
    return CheckResult(name=name, title=name.removeprefix("test_").replace("_", " "), visibility=visibility,
                       score=earned, max_score=points, passed=earned == points, message=message, seconds=0.01)


def verdict(student: str, *checks: CheckResult, **fields) -> Verdict:
    fields.setdefault("submission", f"{student}.ipynb")
    return Verdict(assignment="hw1", student=student, status="graded", score=sum(c.score for c in checks),
                   max_score=sum(c.max_score for c in checks), checks=list(checks), device="cpu",
                   grader_version="0.1", started_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc), **fields)


def error_verdict(student: str, message: str, **fields) -> Verdict:
    return Verdict(assignment="hw1", submission=f"{student}.ipynb", student=student, status="error",
                   message=message, max_score=10, device="cpu", **fields)


def hostile_verdict() -> Verdict:
    return verdict(HOSTILE, check("test_arange", 0, 10, f"expected 1, got {HOSTILE}"),
                   cells=[CellResult(index=2, status="error", error=CellError(type="RuntimeError", message=HOSTILE,
                                                                              where=HOSTILE))],
                   stdout=f"hello\n{HOSTILE}\nbye\n", stderr=HOSTILE, layers={"bwrap": True})


def a_class() -> list[Verdict]:
    """Four submissions: 2, 4 and 10 points of 10, and one that could not be graded."""
    return [
        verdict("ann", check("test_a", 1, 1), check("test_b", 1, 3), check("test_c", 0, 6)),
        verdict("bo", check("test_a", 1, 1), check("test_b", 3, 3), check("test_c", 0, 6)),
        verdict("cy", check("test_a", 1, 1), check("test_b", 3, 3), check("test_c", 6, 6)),
        error_verdict("dee", "dee.ipynb is not valid JSON"),
    ]


def terminal(width: int = 300) -> Console:
    # No colours: any escape sequence in the output can only have come from the verdict.
    return Console(record=True, file=io.StringIO(), width=width, color_system=None, highlight=False)


# -- student text is inert in every medium -----------------------------------------------------------

def test_terminal_detail_view_shows_student_text_escaped_and_inert():
    console = terminal()
    print_submission_detail(hostile_verdict(), console)
    output = console.file.getvalue()

    assert acting_characters(output) == []
    assert acting_characters(console.export_text()) == []
    student_line = next(line for line in output.splitlines() if line.startswith("student "))
    assert SHOWN in student_line and f"file {SHOWN}.ipynb" in student_line
    assert re.search(r"status graded\s+score 0/10", output)  # the real score, on its own line
    assert f"expected 1, got {SHOWN}" in output  # the feedback cell, on one line
    assert f"RuntimeError: {SHOWN}" in output  # the code cells table
    # The output block keeps its own lines, but the CR, ESC, NUL and override are shown.
    assert "stdout (4 lines):" in output
    block = output.split("stdout (4 lines):\n")[1].splitlines()
    assert block[:4] == ["hello", r"\x1b[2J\rscore 10/10", r"| fake | row |\x00\u202ecod.exe", "bye"]


def test_terminal_summary_gives_each_verdict_one_row_whatever_its_name():
    names = [HOSTILE, "", "[red]markup[/red]", "two\nlines", "right\u202eleft"]
    verdicts = [verdict(name, check("test_a", 1, 1), submission=f"{index}.ipynb") for index, name in enumerate(names)]
    verdicts.append(error_verdict("eve", HOSTILE))
    console = terminal()
    print_grade_summary(verdicts, console)
    output = console.file.getvalue()

    assert acting_characters(output) == []
    rows = [line for line in output.splitlines() if re.search(r"│ +(1/1|0/10) +│", line)]
    assert len(rows) == len(verdicts)
    assert SHOWN in rows[0] and "1/1" in rows[0]
    assert "[red]markup[/red]" in rows[2] and r"two\nlines" in rows[3] and r"right\u202eleft" in rows[4]
    assert SHOWN in rows[5] and "error" in rows[5]  # an error's message, on its row


def test_markdown_shows_student_text_escaped_on_one_source_line():
    hostile = hostile_verdict()
    markdown = render_markdown(hostile, hostile.submission)

    assert acting_characters(markdown) == []
    # In the source every backslash is escaped too, so the reader sees SHOWN.
    shown_in_source = SHOWN.replace("\\", "\\\\").replace("|", "\\|").replace("[", "\\[")
    check_rows = [line for line in markdown.splitlines() if line.startswith("| ❌ |")]
    assert len(check_rows) == 1 and f"expected 1, got {shown_in_source}" in check_rows[0]
    cell_rows = [line for line in markdown.splitlines() if line.startswith("| 2 |")]
    assert len(cell_rows) == 1 and f"RuntimeError: {shown_in_source}" in cell_rows[0]
    assert f"Notebook {shown_in_source}.ipynb" in markdown
    assert not any(line.startswith("| fake") for line in markdown.splitlines())


def test_html_shows_student_text_escaped():
    page = render_html("hw1", [hostile_verdict(), error_verdict("eve", HOSTILE)])

    assert acting_characters(page) == []
    students = re.findall(r'<tr class="(?:graded|error)"><td>([^<]*)</td>', page)
    assert students == [SHOWN, "eve"]
    assert f'<td class="msg">{SHOWN}</td>' in page  # eve's error message
    assert f"<td>{SHOWN}.ipynb</td>" in page  # the slowest submissions' file column


def test_junit_shows_student_text_escaped():
    hostile = hostile_verdict()
    document = junit_xml(hostile)

    assert acting_characters(document) == []
    suite = ET.fromstring(document).find("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["submission"] == f"{SHOWN}.ipynb"
    failure = suite.find("testcase/failure")
    assert failure.get("message") == f"expected 1, got {SHOWN}"
    assert failure.text == f"expected 1, got {HOSTILE}".replace("\x1b", r"\x1b").replace("\r", r"\r") \
        .replace("\x00", r"\x00").replace("\u202e", r"\u202e")  # an element keeps its line break
    assert r"code cell 2: RuntimeError: \x1b[2J\rscore 10/10" in suite.find("system-err").text


def test_csv_shows_student_text_escaped_one_row_per_verdict(tmp_path):
    path = tmp_path / "hw1.csv"
    write_csv([hostile_verdict(), error_verdict("eve", HOSTILE)], path)
    raw = path.read_text(encoding="utf-8")

    assert acting_characters(raw.replace("\r\n", "")) == []  # only the CSV's own row ends
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [row["student"] for row in rows] == [SHOWN, "eve"]
    assert rows[0]["submission"] == f"{SHOWN}.ipynb" and rows[1]["message"] == SHOWN


def test_workflow_commands_show_student_text_escaped():
    hostile = hostile_verdict()
    commands = annotations(hostile, hostile.submission)

    assert len(commands) == 2 and all("\n" not in command for command in commands)
    assert acting_characters("".join(commands), allowed="") == []
    assert commands[0].endswith(r"::expected 1, got \x1b[2J\rscore 10/10%0A| fake | row |\x00\u202ecod.exe")


# -- numbers and shapes ----------------------------------------------------------------------------------

def test_summary_mean_and_median_count_only_graded_verdicts():
    console = terminal()
    print_grade_summary(a_class(), console)
    assert "4 submissions: mean 5.33, median 4, 1 error(s)" in console.file.getvalue()
    summary = score_summary(a_class())
    assert (summary.graded, summary.errors, round(summary.mean, 4), summary.median) == (3, 1, 5.3333, 4)


def test_summary_without_a_graded_verdict_says_how_many_errors():
    console = terminal()
    print_grade_summary([error_verdict("dee", "not JSON"), error_verdict("eve", "too big")], console)
    assert console.file.getvalue().rstrip().endswith("2 submissions, 2 error(s)")


def test_pass_rates_count_the_graded_verdicts_that_ran_each_check():
    verdicts = [*a_class(), verdict("fay", check("test_a", 0, 1))]  # fay's run has no test_b, test_c
    rates = check_pass_rates(verdicts)
    assert [(r.check, r.points, r.passed, r.graded) for r in rates] == [
        ("test_a", 1, 3, 4), ("test_b", 3, 2, 3), ("test_c", 6, 1, 3)]
    console = terminal()
    print_grade_summary(verdicts, console)
    output = console.file.getvalue()
    assert re.search(r"│ 1 │ test_a +│ +1 │ +3/4 \(75%\) │", output)
    assert re.search(r"│ 2 │ test_b +│ +3 │ +2/3 \(67%\) │", output)


def test_csv_columns_are_fixed_then_one_per_check_in_order(tmp_path):
    late = verdict("ann", check("test_a", 1, 1), check("test_b", 2, 3), submitted_at=datetime(2026, 1, 11, 1, 30,
                   tzinfo=timezone.utc), late_seconds=5400, penalty=0.25, raw_score=3.0)
    late = late.model_copy(update={"score": 2.25})
    short = verdict("bo", check("test_b", 3, 3))
    path = tmp_path / "hw1.csv"
    write_csv([late, short], path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["student", "submission", "status", "submitted_at", "late_hours", "penalty", "raw_score",
                       "test_a", "test_b", "score", "max_score", "message"]
    assert rows[1] == ["ann", "ann.ipynb", "graded", "2026-01-11T01:30:00+00:00", "1.5", "0.25", "3", "1", "2",
                       "2.25", "4", ""]
    assert rows[2] == ["bo", "bo.ipynb", "graded", "", "0.0", "0.0", "3", "", "3", "3", "3", ""]


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://e.example\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\r=1"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(tmp_path, name):
    path = tmp_path / "hw1.csv"
    write_csv([error_verdict(name, name)], path)
    with open(path, newline="", encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    for column in ("student", "submission", "message"):
        assert row[column].startswith(("'", "\\")) and not row[column].startswith(("=", "+", "-", "@")), row


def test_csv_leaves_ordinary_names_alone(tmp_path):
    path = tmp_path / "hw1.csv"
    write_csv([verdict("Zoë O'Neil", check("test_a", 1, 1))], path)
    with open(path, newline="", encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["student"] == "Zoë O'Neil"


def test_json_has_the_promised_shape(tmp_path):
    graded = verdict("ann", check("test_a", 1, 1), check("test_b", 0, 3, "shape is (2,), expected (3,)", "hidden"),
                     cells=[CellResult(index=1, status="ok"),
                            CellResult(index=2, status="error", error=CellError(type="NameError", message="x"))],
                     duration=1.23456)
    path = tmp_path / "hw1.json"
    write_json([graded, error_verdict("dee", "not JSON")], path)
    data = json.loads(path.read_text())
    assert data[0] == {
        "submission": "ann.ipynb", "student": "ann", "score": 1.0, "max_score": 4.0, "status": "graded",
        "checks": [{"name": "test_a", "score": 1.0, "max_score": 1.0, "passed": True, "message": "",
                    "visibility": "public"},
                   {"name": "test_b", "score": 0.0, "max_score": 3.0, "passed": False,
                    "message": "shape is (2,), expected (3,)", "visibility": "hidden"}],
        "cell_errors": [{"cell": 2, "status": "error", "error": "NameError: x"}],
        "device": "cpu", "duration": 1.235}
    assert data[1]["status"] == "error" and data[1]["message"] == "not JSON" and data[1]["checks"] == []


def test_json_writes_control_characters_as_escapes(tmp_path):
    path = tmp_path / "hw1.json"
    write_json([hostile_verdict()], path)
    raw = path.read_text()
    assert acting_characters(raw) == [] and "\\u001b[2J" in raw and "\\u202e" in raw
    assert json.loads(raw)[0]["student"] == HOSTILE  # data, kept exactly


def test_junit_carries_scores_and_points_as_properties():
    graded = verdict("ann", check("test_a", 1, 1), check("test_b", 0.5, 3, "off by one", "hidden"),
                     submission="hw1.ipynb", duration=2.5)
    suite = ET.fromstring(junit_xml(graded)).find("testsuite")
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("hw1", "2", "1", "0")
    assert {p.get("name"): p.get("value") for p in suite.find("properties")} == {
        "score": "1.5", "max_score": "4", "submission": "hw1.ipynb", "device": "cpu", "include_hidden": "true",
        "grader_version": "0.1"}
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert {p.get("name"): p.get("value") for p in cases["test_b"].find("properties")} == {
        "points": "0.5", "max_points": "3", "visibility": "hidden", "title": "b"}
    assert cases["test_b"].find("failure").get("message") == "off by one" and cases["test_a"].find("failure") is None


def test_junit_reports_an_ungraded_submission_as_one_error():
    suite = ET.fromstring(junit_xml(error_verdict("dee", "dee.ipynb is not valid JSON"))).find("testsuite")
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")
    error = suite.find("testcase[@name='submission']/error")
    assert error.get("message") == "dee.ipynb is not valid JSON" and error.get("type") == "not graded"


@pytest.mark.parametrize("hint", ["Hint", "Подсказка"])
def test_a_checks_hint_is_on_a_line_of_its_own_in_its_feedback_cell(hint):
    message = f"f(x) is 2, expected 3\n{hint}: add one\nand {HOSTILE}"
    console = terminal(width=200)
    print_submission_detail(verdict("ann", check("test_f", 0, 1, message)), console)
    lines = console.file.getvalue().splitlines()
    first = next(index for index, line in enumerate(lines) if "f(x) is 2, expected 3" in line)
    assert f"│ {hint}: add one\\nand {SHOWN}" in lines[first + 1]  # the next line of the same cell
    assert lines[first + 1].startswith("│   │") and acting_characters("\n".join(lines)) == []
    assert "expected 3\\n" not in lines[first]
