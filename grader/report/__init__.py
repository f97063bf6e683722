"""Turning verdicts into what people read, one module per format.

``terminal`` (rich tables, the progress bar), ``json_file``, ``csv_file``, ``html_page``,
``markdown`` (the CI summary and PR comment), ``junit``, ``workflow_commands`` (CI
annotations). Numbers are formatted by ``format`` and student text is escaped by
``untrusted``, for every format.
"""

from grader.report.csv_file import csv_rows, write_csv
from grader.report.files import writable
from grader.report.format import duration, final_score, fraction, score
from grader.report.html_page import common_failures, pass_rate_bars, render_html, score_histogram
from grader.report.json_file import json_text, write_json
from grader.report.junit import junit_xml
from grader.report.markdown import MAX_COMMENT_CHARS, comment_body, comment_marker, render_markdown
from grader.report.stats import PassRate, ScoreSummary, check_names, check_pass_rates, score_summary
from grader.report.terminal import (BatchProgress, CellLines, print_cell_errors, print_course, print_runs, print_check_feedback, print_grade_summary,
                                    print_history, print_set_aside, print_submission_detail, print_validation,
                                    public_score_line)
from grader.report.untrusted import markdown_text, visible_block, visible_line, xml_text
from grader.report.workflow_commands import MAX_ANNOTATIONS, annotations

__all__ = [
    "BatchProgress", "CellLines", "MAX_ANNOTATIONS", "MAX_COMMENT_CHARS", "PassRate", "ScoreSummary", "annotations",
    "check_names", "check_pass_rates", "comment_body", "comment_marker", "common_failures", "csv_rows", "duration",
    "final_score", "fraction", "json_text", "junit_xml", "markdown_text", "pass_rate_bars",
    "print_cell_errors", "print_check_feedback", "print_course", "print_runs", "print_grade_summary", "print_history", "print_set_aside", "print_submission_detail",
    "print_validation", "public_score_line", "render_html", "render_markdown", "score", "score_histogram",
    "score_summary", "visible_block", "visible_line", "writable", "write_csv", "write_json", "xml_text",
]
