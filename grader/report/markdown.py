"""The Markdown summary `grader ci` writes to the step summary, stdout and the pull-request comment.

Built from the Verdict on the trusted side. Text that may come from the student goes
through ``markdown_text``: no student text can start a line of its own, so nothing a
student prints or raises can become a table row or a second hidden marker.
"""

from __future__ import annotations

from grader.models import Verdict
from grader.report.format import fraction
from grader.report.untrusted import markdown_text
from grader.sandbox.layers import LAYER_NAMES

MAX_COMMENT_CHARS = 60000  # a PR comment has a size limit (65536 on GitHub)


def comment_marker(assignment: str) -> str:
    """The hidden line that identifies this assignment's comment on a pull request."""
    return f"<!-- grader-ci:{assignment} -->"


def render_markdown(verdict: Verdict, notebook: str, hidden_not_run: int = 0) -> str:
    """The summary: score, a table of checks, the cells that raised, the sandbox layers."""
    lines: list[str] = []
    full = verdict.status == "graded" and verdict.score == verdict.max_score
    mark = "✅" if full else "❌"
    lines.append(f"### {mark} {verdict.assignment}: {fraction(verdict.score, verdict.max_score, ' / ')}")
    lines.append("")
    scope = "public and hidden checks" if verdict.include_hidden else "public checks only"
    if hidden_not_run:
        scope += f"; {hidden_not_run} hidden checks run at grading time"
    lines.append(f"Notebook {markdown_text(notebook, 300)} · {scope} · {verdict.device} · "
                 f"{verdict.duration:.1f} s")
    lines.append("")
    if verdict.status == "error":
        lines.append(f"**Not graded:** {markdown_text(verdict.message)}")
        lines.append("")
    if verdict.checks:
        lines.append("| | check | points | feedback |")
        lines.append("| :-: | --- | --: | --- |")
        for check in verdict.checks:
            title = markdown_text(check.title or check.name, 300)
            if check.visibility == "hidden":
                title += " *(hidden)*"
            lines.append(f"| {'✅' if check.passed else '❌'} | {title} | "
                         f"{fraction(check.score, check.max_score, ' / ')} | {markdown_text(check.message)} |")
        lines.append("")
    raised = [cell for cell in verdict.cells if cell.status != "ok"]
    if raised:
        lines.append("**Cells that did not run cleanly**")
        lines.append("")
        lines.append("| code cell | where | error |")
        lines.append("| --: | --- | --- |")
        for cell in raised:
            error = cell.error
            where = markdown_text(error.where or "", 200) if error else ""
            what = markdown_text(f"{error.type}: {error.message}", 500) if error else cell.status
            lines.append(f"| {cell.index} | {where} | {what} |")
        lines.append("")
    if verdict.layers:
        held = [key for key in LAYER_NAMES if verdict.layers.get(key)]
        missing = [key for key in LAYER_NAMES if not verdict.layers.get(key)]
        lines.append(f"<details><summary>Sandbox: {len(held)} of {len(LAYER_NAMES)} isolation layers held"
                     "</summary>")
        lines.append("")
        for key in LAYER_NAMES:
            lines.append(f"- {'✅' if key in held else '❌'} {key}: {LAYER_NAMES[key]}")
        if missing and verdict.layers.get("allowed_unisolated"):
            lines.append("- graded with --allow-unisolated")
        lines.append("")
        lines.append("</details>")
        lines.append("")
    lines.append(f"<sub>grader {verdict.grader_version} · checks {verdict.checks_fingerprint or '-'}</sub>")
    return "\n".join(lines) + "\n"


def comment_body(markdown: str, assignment: str) -> str:
    """The pull-request comment: the marker on the first line, then the summary (size-capped)."""
    body = comment_marker(assignment) + "\n" + markdown
    if len(body) > MAX_COMMENT_CHARS:
        body = body[:MAX_COMMENT_CHARS] + "\n\n*(cut: the full summary is in the job's log)*\n"
    return body
