"""`grader report --html`: one self-contained page about an assignment's latest results.

No network, no script: charts are inline SVG. Everything a student controls (names, file
names, messages) is escaped.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

from grader.models import Verdict
from grader.report.format import adjustment_line, score
from grader.report.stats import PassRate, check_names, check_pass_rates, graded_only, score_summary
from grader.report.untrusted import html_text

BAR_COLOR = "#3b6fb6"
FAIL_COLOR = "#c0392b"
PASS_COLOR = "#2e8b57"


def score_histogram(verdicts: list[Verdict], max_score: float, width: int = 640, height: int = 220) -> str:
    """An SVG histogram of the final scores, one bar per point (or per tenth of the maximum)."""
    graded = [verdict.score for verdict in graded_only(verdicts)]
    bins = int(max_score) if 0 < max_score <= 20 and float(max_score).is_integer() else 10
    step = (max_score / bins) if max_score else 1
    counts = [0] * bins
    for final in graded:
        counts[min(int(final / step), bins - 1) if step else 0] += 1
    tallest = max(counts) or 1
    left, bottom, top = 40, 30, 20
    bar_width = (width - left - 10) / bins
    parts = [f'<svg class="histogram" role="img" aria-label="score distribution" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    plot = height - bottom - top
    for index, count in enumerate(counts):
        bar = plot * count / tallest
        x = left + index * bar_width
        low, high = index * step, (index + 1) * step
        label = f"{score(low)}–{score(high)}"
        parts.append(f'<rect class="bin" data-count="{count}" x="{x + 2:.1f}" y="{top + plot - bar:.1f}" '
                     f'width="{bar_width - 4:.1f}" height="{bar:.1f}" fill="{BAR_COLOR}">'
                     f'<title>{html_text(label)}: {count}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_width / 2:.1f}" y="{top + plot - bar - 3:.1f}" font-size="11" '
                         f'text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + bar_width / 2:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{html_text(score(low))}</text>')
    parts.append(f'<text x="{width - 10}" y="{height - 12}" font-size="10" text-anchor="end">'
                 f'{html_text(score(max_score))}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot}" x2="{width - 10}" y2="{top + plot}" stroke="#555"/>')
    parts.append("</svg>")
    return "".join(parts)


def pass_rate_bars(rates: list[PassRate], width: int = 640) -> str:
    row, label_width = 22, 300
    height = row * len(rates) + 10
    parts = [f'<svg class="pass-rates" role="img" aria-label="pass rate of each check" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">']
    span = width - label_width - 60
    for index, (name, _points, passed, total) in enumerate(rates):
        rate = passed / total if total else 0.0
        y = 5 + index * row
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'{html_text(name)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{span}" height="{row - 6}" fill="#eee"/>')
        parts.append(f'<rect class="rate" data-check="{html_text(name)}" data-rate="{rate:.3f}" x="{label_width}" '
                     f'y="{y + 3}" width="{span * rate:.1f}" height="{row - 6}" '
                     f'fill="{PASS_COLOR if rate >= 0.5 else FAIL_COLOR}"><title>{passed}/{total}</title></rect>')
        parts.append(f'<text x="{label_width + span + 6}" y="{y + 15}" font-size="12">{rate:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


_NUMBER = re.compile(r"(?<![A-Za-z_\d])-?\d+(\.\d+)?(e-?\d+)?")


def common_failures(verdicts: list[Verdict], limit: int = 10) -> list[tuple[str, str, int]]:
    """(check, message with numbers folded to #, how many) for the most frequent failures."""
    counter: Counter[tuple[str, str]] = Counter()
    for verdict in verdicts:
        for check in verdict.checks:
            if not check.passed and check.message:
                first = check.message.splitlines()[0]
                counter[(check.name, _NUMBER.sub("#", first)[:240])] += 1
    return [(name, message, count) for (name, message), count in counter.most_common(limit)]


def render_html(assignment: str, verdicts: list[Verdict]) -> str:
    names = check_names(verdicts)
    max_score = max((verdict.max_score for verdict in verdicts), default=0.0)
    graded = graded_only(verdicts)
    numbers = score_summary(verdicts)
    summary = (f"{numbers.submissions} students, {numbers.errors} error(s)" + (
        f"; mean {numbers.mean:.2f}, median {score(numbers.median)} of {score(max_score)}"
        if numbers.graded else ""))
    slowest = sorted(graded, key=lambda verdict: verdict.duration, reverse=True)[:10]
    failures = common_failures(verdicts)

    rows = []
    for verdict in verdicts:
        by_name = {check.name: check for check in verdict.checks}
        marks = "".join(
            '<td class="na">·</td>' if name not in by_name else
            ('<td class="pass" title="{0}">✓</td>' if by_name[name].passed else '<td class="fail" title="{0}">✗</td>')
            .format(html_text(by_name[name].message or name)) for name in names)
        late = f"−{verdict.penalty:.0%}" if verdict.penalty else ""
        changes = "; ".join(adjustment_line(each) for each in verdict.adjustments)
        final = (f'<td class="num adjusted" title="{html_text(changes)}">{score(verdict.score)} ✎</td>'
                 if verdict.adjustments else f'<td class="num">{score(verdict.score)}</td>')
        rows.append(f'<tr class="{html_text(verdict.status)}"><td>{html_text(verdict.student)}</td>'
                    f'{final}<td class="num">{score(verdict.max_score)}</td>'
                    f'<td class="num">{score(verdict.score_before_penalty)}</td><td>{late}</td>'
                    f'<td>{html_text(verdict.status)}</td>{marks}'
                    f'<td class="msg">{html_text(verdict.message if verdict.status == "error" else "")}</td></tr>')
    header = "".join(f'<th title="{html_text(name)}">{number}</th>' for number, name in enumerate(names, 1))
    legend = "".join(f"<li>{html_text(name)}</li>" for name in names)
    slow_rows = "".join(f"<tr><td>{html_text(v.student)}</td><td class='num'>{v.duration:.2f}</td>"
                        f"<td>{html_text(v.submission)}</td></tr>" for v in slowest)
    failure_rows = "".join(f"<tr><td class='num'>{count}</td><td>{html_text(name)}</td>"
                           f"<td>{html_text(message)}</td></tr>"
                           for name, message, count in failures)
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    changes = [(verdict.student, each) for verdict in verdicts for each in verdict.adjustments]
    adjusted_note = ("<h2>Changes to scores</h2><p>✎ a person changed the score (hover for what and why)</p>"
                     '<ul id="adjustments">' + "".join(f"<li>{html_text(student)}: {html_text(adjustment_line(each))}</li>"
                                                      for student, each in changes) + "</ul>") if changes else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{html_text(assignment)}: grading report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1200px; }}
h1 {{ margin-bottom: 0.2em; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ddd; padding: 3px 6px; }}
th {{ background: #f3f3f3; }} td.num {{ text-align: right; }}
td.pass {{ color: {PASS_COLOR}; text-align: center; }} td.fail {{ color: {FAIL_COLOR}; text-align: center; }}
td.na {{ color: #aaa; text-align: center; }} tr.error td {{ background: #fdecea; }}
td.msg {{ max-width: 420px; }} ol.legend {{ columns: 2; font-size: 13px; }}
.summary {{ color: #555; }}
</style></head><body>
<h1>{html_text(assignment)}: grading report</h1>
<p class="summary" id="summary">{html_text(summary)} · generated {generated}</p>
<h2>Score distribution</h2>
{score_histogram(verdicts, max_score)}
<h2>Pass rate of each check</h2>
{pass_rate_bars(check_pass_rates(verdicts))}
<h2>Most common failures</h2>
<table id="failures"><tr><th>count</th><th>check</th><th>message (numbers as #)</th></tr>{failure_rows}</table>
<h2>Slowest submissions</h2>
<table id="slowest"><tr><th>student</th><th>seconds</th><th>file</th></tr>{slow_rows}</table>
<h2>Students</h2>
<table id="students"><tr><th>student</th><th>score</th><th>of</th><th>raw</th><th>late</th><th>status</th>{header}
<th>message</th></tr>{"".join(rows)}</table>
{adjusted_note}<ol class="legend">{legend}</ol>
</body></html>
"""
