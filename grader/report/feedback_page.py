"""`grader feedback`: one student's page, HTML (self-contained, no script, no network) or Markdown.

The page shows what ``grader.feedback.student_visible`` left of the verdict, in the language
``grader.i18n`` is set to: the score and late penalty, every check (a hidden one: title,
pass/fail and points), the cells that raised, the student's own code with those cells
marked, and the changes a person made to the score with their reasons. Everything from the
student (their name, file, code, error messages) is escaped for the medium.
"""

from __future__ import annotations

import re

from grader.feedback.view import StudentFeedback
from grader.i18n import tr
from grader.models import Adjustment, CellResult, Verdict
from grader.report.format import duration, score
from grader.report.untrusted import html_block, html_text, markdown_text, visible_block

PASS_COLOR = "#2e8b57"
FAIL_COLOR = "#c0392b"


def _raised(verdict: Verdict) -> dict[int, CellResult]:
    return {cell.index: cell for cell in verdict.cells if cell.status != "ok"}


def _cell_problem(cell: CellResult) -> str:
    if cell.error is None:
        if cell.status == "timeout":
            return tr("ran out of time")
        return tr("the process died") if cell.status == "crashed" else cell.status
    first = cell.error.message.splitlines()[0] if cell.error.message else ""
    where = f" ({cell.error.where})" if cell.error.where else ""
    return f"{cell.error.type}: {first}{where}"


def _score_lines(verdict: Verdict) -> list[str]:
    """The score, then how it was reached: raw score, lateness and penalty, changes by a person."""
    lines = [tr("Score: {score} of {max_score}", score=score(verdict.score), max_score=score(verdict.max_score))]
    if verdict.status == "graded" and (verdict.penalty or verdict.adjustments):
        lines.append(tr("Points from the checks: {raw}", raw=score(verdict.score_before_penalty)))
    if verdict.late_seconds > 0:
        lines.append(tr("Handed in {late} after the deadline: late penalty {penalty}",
                        late=duration(verdict.late_seconds), penalty=f"{verdict.penalty:.0%}"))
    return lines


def _check_message(check) -> str:
    if check.visibility == "hidden":
        return tr("hidden check: only whether it passed is shown")
    return tr(check.message) if check.message else ""


def _adjustment_text(adjustment: Adjustment, verdict: Verdict) -> str:
    titles = {check.name: tr(check.title or check.name) for check in verdict.checks}
    what = titles.get(adjustment.check, adjustment.check) if adjustment.check else tr("the total")
    if adjustment.kind == "void_drop":
        change = tr("{what} no longer counts, for everyone", what=what)
    elif adjustment.kind == "void_full":
        change = tr("{what}: full points for everyone", what=what)
    else:
        change = tr("{what}: {old} → {new}", what=what, old=score(adjustment.old_points or 0),
                    new=score(adjustment.new_points or 0))
    return change


# -- HTML -------------------------------------------------------------------------------------------

def render_feedback_html(feedback: StudentFeedback) -> str:
    verdict = feedback.verdict
    raised = _raised(verdict)
    parts = [f"<h1>{html_text(feedback.title)}</h1>",
             f'<p class="who">{html_text(tr("Student"))}: <b id="student">{html_text(verdict.student)}</b> · '
             f'{html_text(tr("file"))}: <code>{html_text(verdict.submission)}</code> · '
             f'{html_text(tr("graded"))} {verdict.started_at:%Y-%m-%d %H:%M UTC}</p>']
    score_lines = _score_lines(verdict)
    parts.append(f'<p class="score" id="score">{html_text(score_lines[0])}</p>')
    parts += [f'<p class="detail">{html_text(line)}</p>' for line in score_lines[1:]]
    if verdict.status == "error":
        parts.append(f'<h2>{html_text(tr("Your submission could not be graded"))}</h2>'
                     f'<p class="error" id="error">{html_text(tr(verdict.message))}</p>')
    if verdict.checks:
        rows = []
        for check in verdict.checks:
            mark = "✓" if check.passed else "✗"
            css = "pass" if check.passed else "fail"
            adjusted = " *" if any(a.check == check.name for a in verdict.adjustments) else ""
            # A hidden check is named by its title alone: its function's name is the checks' business.
            named = f' data-check="{html_text(check.name)}"' if check.visibility == "public" else ""
            rows.append(f'<tr class="{css} {check.visibility}"{named}>'
                        f'<td class="mark">{mark}</td><td>{html_text(tr(check.title or check.name))}</td>'
                        f'<td class="num">{score(check.score)}/{score(check.max_score)}{adjusted}</td>'
                        f'<td class="msg">{html_block(_check_message(check))}</td></tr>')
        parts.append(f'<h2>{html_text(tr("Checks"))}</h2><table id="checks"><tr><th></th>'
                     f'<th>{html_text(tr("check"))}</th><th>{html_text(tr("points"))}</th>'
                     f'<th>{html_text(tr("feedback"))}</th></tr>{"".join(rows)}</table>')
    if verdict.adjustments:
        items = "".join(f'<li class="adjustment">{html_text(_adjustment_text(a, verdict))} — '
                        f'{html_text(tr("reason"))}: {html_text(a.reason)} ({html_text(a.by)}, '
                        f'{a.at:%Y-%m-%d})</li>' for a in verdict.adjustments)
        parts.append(f'<h2>{html_text(tr("Changes to your score"))}</h2><ul id="adjustments">{items}</ul>')
    if raised:
        items = "".join(f'<li><a href="#cell-{index}">{html_text(tr("code cell {index}", index=index))}</a>: '
                        f'<span class="err">{html_text(_cell_problem(cell))}</span></li>'
                        for index, cell in sorted(raised.items()))
        parts.append(f'<h2>{html_text(tr("Cells that raised an error"))}</h2><ul id="cell-errors">{items}</ul>')
    if feedback.code is not None:
        cells = []
        for cell in feedback.code:
            problem = raised.get(cell.index)
            note = (f'<div class="raised-note">{html_text(tr("this cell raised"))}: '
                    f'{html_text(_cell_problem(problem))}</div>' if problem else "")
            cells.append(f'<div class="cell{" raised" if problem else ""}" id="cell-{cell.index}">'
                         f'<div class="label">{html_text(tr("code cell {index}", index=cell.index))}</div>'
                         f'<pre>{html_block(cell.source)}</pre>{note}</div>')
        parts.append(f'<h2>{html_text(tr("Your code"))}</h2><div id="code">{"".join(cells)}</div>')
    elif verdict.status == "graded":
        parts.append(f'<p class="detail">{html_text(tr("Your code was graded before the gradebook kept code."))}</p>')
    lang = html_text(_language())
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{html_text(feedback.title)} — {html_text(verdict.student)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; color: #222; max-width: 960px; padding: 0 1em; }}
h2 {{ margin-top: 1.5em; border-bottom: 1px solid #ddd; }}
.score {{ font-size: 1.5em; font-weight: bold; }} .detail, .who {{ color: #555; }}
table {{ border-collapse: collapse; font-size: 14px; width: 100%; }}
td, th {{ border: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }}
th {{ background: #f3f3f3; }} td.num {{ text-align: right; white-space: nowrap; }}
tr.pass td.mark {{ color: {PASS_COLOR}; }} tr.fail td.mark {{ color: {FAIL_COLOR}; }}
td.msg {{ white-space: pre-wrap; }} tr.hidden td.msg {{ color: #777; font-style: italic; }}
.error, .err {{ color: {FAIL_COLOR}; }}
.cell {{ border-left: 4px solid #ccc; margin: 0.8em 0; padding-left: 0.6em; }}
.cell.raised {{ border-left-color: {FAIL_COLOR}; background: #fdf3f2; }}
.cell .label {{ font-size: 12px; color: #777; }}
.raised-note {{ color: {FAIL_COLOR}; font-size: 13px; padding-bottom: 0.4em; }}
pre {{ background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 13px; margin: 0.2em 0; }}
</style></head><body>
{chr(10).join(parts)}
</body></html>
"""


def _language() -> str:
    from grader.i18n import current_language

    return current_language()


# -- Markdown ---------------------------------------------------------------------------------------

def _fence(code: str) -> str:
    """A code fence longer than any run of backticks in ``code``, so the code cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _markdown_lines(text: str) -> str:
    """A message's lines inside one table cell: each escaped, joined by <br> (the only markup added)."""
    return "<br>".join(markdown_text(line) for line in text.replace("\r\n", "\n").split("\n"))


def render_feedback_markdown(feedback: StudentFeedback) -> str:
    verdict = feedback.verdict
    raised = _raised(verdict)
    lines = [f"# {markdown_text(feedback.title)}", "",
             f"{markdown_text(tr('Student'))}: **{markdown_text(verdict.student)}** · "
             f"{markdown_text(tr('file'))}: {markdown_text(verdict.submission)} · "
             f"{markdown_text(tr('graded'))} {verdict.started_at:%Y-%m-%d %H:%M UTC}", ""]
    score_lines = _score_lines(verdict)
    lines += [f"**{markdown_text(score_lines[0])}**", ""] + [f"{markdown_text(line)}  " for line in score_lines[1:]]
    if verdict.status == "error":
        lines += ["", f"## {markdown_text(tr('Your submission could not be graded'))}", "",
                  markdown_text(tr(verdict.message))]
    if verdict.checks:
        lines += ["", f"## {markdown_text(tr('Checks'))}", "",
                  f"| | {markdown_text(tr('check'))} | {markdown_text(tr('points'))} | {markdown_text(tr('feedback'))} |",
                  "| --- | --- | ---: | --- |"]
        for check in verdict.checks:
            adjusted = " \\*" if any(a.check == check.name for a in verdict.adjustments) else ""
            lines.append(f"| {'✓' if check.passed else '✗'} | {markdown_text(tr(check.title or check.name))} | "
                         f"{score(check.score)}/{score(check.max_score)}{adjusted} | "
                         f"{_markdown_lines(_check_message(check))} |")
    if verdict.adjustments:
        lines += ["", f"## {markdown_text(tr('Changes to your score'))}", ""]
        lines += [f"- {markdown_text(_adjustment_text(a, verdict))} — {markdown_text(tr('reason'))}: "
                  f"{markdown_text(a.reason)} "
                  f"({markdown_text(a.by)}, {a.at:%Y-%m-%d})" for a in verdict.adjustments]
    if raised:
        lines += ["", f"## {markdown_text(tr('Cells that raised an error'))}", ""]
        lines += [f"- {markdown_text(tr('code cell {index}', index=index))}: {markdown_text(_cell_problem(cell))}"
                  for index, cell in sorted(raised.items())]
    if feedback.code is not None:
        lines += ["", f"## {markdown_text(tr('Your code'))}"]
        for cell in feedback.code:
            problem = raised.get(cell.index)
            label = tr("code cell {index}", index=cell.index)
            if problem:
                label += f" — {tr('this cell raised')}: {_cell_problem(problem)}"
            source = visible_block(cell.source)
            fence = _fence(source)
            lines += ["", f"{'**✗** ' if problem else ''}{markdown_text(label)}", "", f"{fence}python", source, fence]
    return "\n".join(lines) + "\n"

