"""The course gradebook as files: the grader's own CSV, and what Canvas's and Moodle's grade imports take.

* ``course_csv_rows``: one row per enrolled student (id, name, email, section), a column per
  assignment with its final score (missing work 0, named in ``missing``), the total.
* ``canvas_rows``: Canvas's gradebook CSV: ``Student``, ``ID`` (Canvas's user id),
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment titled
  ``Name (id)`` with Canvas's assignment id (a title without one makes Canvas create the
  assignment), after a ``Points Possible`` row as Canvas's own export has.
* ``moodle_rows``: for Moodle's "Import grades from CSV": ``ID number`` and ``Email address``
  (the fields Moodle can identify a user by), then one column per assignment, nothing else.

Roster text is an instructor's, but it lands in spreadsheets: every cell goes through
``spreadsheet_cell`` so no name runs as a formula.
"""

from __future__ import annotations

import csv
from pathlib import Path

from grader.course import CourseTable
from grader.report.files import writable
from grader.report.format import score
from grader.report.untrusted import spreadsheet_cell

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_FIXED = ["ID number", "Email address"]


def course_csv_rows(table: CourseTable) -> list[list[object]]:
    rows: list[list[object]] = [["id", "name", "email", "section", *table.assignments, "total", "max_total",
                                 "missing", "errors", "adjusted"]]
    for row in table.rows:
        cells = [row.cells[name] for name in table.assignments]
        rows.append([spreadsheet_cell(row.student.id), spreadsheet_cell(row.student.name),
                     spreadsheet_cell(row.student.email), spreadsheet_cell(row.student.section),
                     *(score(cell.score) for cell in cells), score(row.total), score(table.max_total),
                     " ".join(name for name in table.assignments if row.cells[name].status == "missing"),
                     " ".join(name for name in table.assignments if row.cells[name].status == "error"),
                     " ".join(name for name in table.assignments if row.cells[name].adjusted)])
    return rows


def canvas_column(title: str, canvas_id: str | None) -> str:
    return f"{title} ({canvas_id})" if canvas_id else title


def canvas_rows(table: CourseTable, titles: dict[str, str], canvas_ids: dict[str, str]) -> list[list[object]]:
    columns = [canvas_column(titles.get(name, name), canvas_ids.get(name)) for name in table.assignments]
    rows: list[list[object]] = [[*CANVAS_FIXED, *columns],
                                ["    Points Possible", "", "", "", "", *(score(table.max_scores[name])
                                                                         for name in table.assignments)]]
    for row in table.rows:
        entry = row.student
        rows.append([spreadsheet_cell(entry.name), spreadsheet_cell(entry.canvas_id), spreadsheet_cell(entry.id),
                     spreadsheet_cell(entry.sis_login_id), spreadsheet_cell(entry.section),
                     *(score(row.cells[name].score) for name in table.assignments)])
    return rows


def moodle_rows(table: CourseTable, titles: dict[str, str]) -> list[list[object]]:
    rows: list[list[object]] = [[*MOODLE_FIXED, *(titles.get(name, name) for name in table.assignments)]]
    for row in table.rows:
        rows.append([spreadsheet_cell(row.student.id), spreadsheet_cell(row.student.email),
                     *(score(row.cells[name].score) for name in table.assignments)])
    return rows


def write_rows(rows: list[list[object]], path: str | Path) -> None:
    with open(writable(path), "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
