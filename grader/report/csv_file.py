"""`grader export --csv`: one row per student, a column per check, the raw and final scores."""

from __future__ import annotations

import csv
from pathlib import Path

from grader.models import Verdict
from grader.report.files import writable
from grader.report.format import adjustment_line, score
from grader.report.stats import check_names
from grader.report.untrusted import spreadsheet_cell

FIXED_COLUMNS_BEFORE = ["student", "submission", "status", "submitted_at", "late_hours", "penalty", "raw_score"]
FIXED_COLUMNS_AFTER = ["score", "max_score", "message"]


def csv_rows(verdicts: list[Verdict]) -> list[list[object]]:
    """The header, then one row per verdict."""
    names = check_names(verdicts)
    # Where a person changed a score: one more column saying what, by whom and why (absent otherwise).
    adjusted = any(verdict.adjustments for verdict in verdicts)
    rows: list[list[object]] = [[*FIXED_COLUMNS_BEFORE, *names, *FIXED_COLUMNS_AFTER,
                                 *(["adjustments"] if adjusted else [])]]
    for verdict in verdicts:
        by_name = {check.name: check.score for check in verdict.checks}
        rows.append([
            spreadsheet_cell(verdict.student), spreadsheet_cell(verdict.submission), verdict.status,
            verdict.submitted_at.isoformat() if verdict.submitted_at else "",
            round(verdict.late_seconds / 3600, 2), verdict.penalty, score(verdict.score_before_penalty),
            *(score(by_name[name]) if name in by_name else "" for name in names),
            score(verdict.score), score(verdict.max_score),
            spreadsheet_cell(verdict.message if verdict.status == "error" else ""),
            *([spreadsheet_cell("; ".join(adjustment_line(each) for each in verdict.adjustments))] if adjusted else [])])
    return rows


def write_csv(verdicts: list[Verdict], path: str | Path) -> None:
    with open(writable(path), "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(csv_rows(verdicts))
