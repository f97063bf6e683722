"""What the service writes on a pull request (or a pushed commit): the verdict as a student may see it."""

from __future__ import annotations

from datetime import datetime

from grader.ci.forge import redact
from grader.models import Verdict
from grader.spec import FeedbackPolicy
from grader.student_view import student_view
from grader.report import render_markdown

MAX_COMMENT_CHARS = 60000


def marker(assignment: str) -> str:
    """Not `grader ci`'s marker: the service never edits a comment the student's own CI job wrote."""
    return f"<!-- grader-serve:{assignment} -->"


def hidden_checks_for_students(verdict: Verdict, policy: FeedbackPolicy | str = "safe") -> Verdict:
    """The verdict as a student may read it: hidden checks under the assignment's ``[feedback] hidden``
    policy (by default title, pass/fail, points and only facts about the student's own result)."""
    return student_view(verdict, policy)


def limit_line(limit_text: str, used: int, next_at: datetime | None) -> str:
    when = "now" if next_at is None else f"after {next_at:%Y-%m-%d %H:%M} UTC"
    return f"Rate limit: {limit_text} ({used} used; the next push is graded {when})."


def graded_body(verdict: Verdict, notebook: str, sha: str, limit: str, secrets: list[str],
                policy: FeedbackPolicy | str = "safe") -> str:
    shown = hidden_checks_for_students(verdict, policy)
    lines = [marker(verdict.assignment),
             f"**Grading service** · commit `{sha[:12]}` · hidden checks show pass/fail and points only", "",
             render_markdown(shown, notebook), limit]
    return _capped(redact("\n".join(lines) + "\n", secrets))


NOTICE_START = "<!-- grader-serve:notice -->"
NOTICE_END = "<!-- grader-serve:/notice -->"


def waiting_body(assignment: str, sha: str, limit: str, secrets: list[str], previous: str | None = None) -> str:
    """A push over the rate limit: a notice on top, and the last graded results kept below it."""
    lines = [marker(assignment), NOTICE_START,
             f"**Grading service** · commit `{sha[:12]}` waits: it is over the rate limit.", "", limit, NOTICE_END]
    last = last_results(previous, assignment) if previous else ""
    if last:
        lines += ["", "---", "", "**Last graded:**", "", last]
    return _capped(redact("\n".join(lines) + "\n", secrets))


def last_results(body: str, assignment: str) -> str:
    """The results part of one of our comments: without its marker and without an earlier notice."""
    text = body.split("\n", 1)[1] if body.startswith(marker(assignment)) and "\n" in body else ""
    if NOTICE_START in text and NOTICE_END in text:
        text = text.split(NOTICE_END, 1)[1]
        text = text.split("**Last graded:**", 1)[1] if "**Last graded:**" in text else ""
    return text.strip()


def _capped(body: str) -> str:
    if len(body) > MAX_COMMENT_CHARS:
        body = body[:MAX_COMMENT_CHARS] + "\n\n*(cut)*\n"
    return body
