"""What `grader ci` writes: a Markdown summary, workflow annotations and JUnit XML.

Everything here is built from the Verdict on the trusted side. Any text that may come
from the student (an exception message, a value echoed in a check's feedback) is escaped
for where it lands: a Markdown table cell, a workflow command, an XML attribute. No
student text can start a line of its own, so nothing a student prints or raises can
become a `::error` command, a table row or a second hidden marker.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from grader.models import Verdict
from grader.sandbox.layers import LAYER_NAMES

MAX_MESSAGE_CHARS = 1500  # per table cell: a PR comment has a size limit (65536 on GitHub)
MAX_COMMENT_CHARS = 60000
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_XML_INVALID = re.compile(r"[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Markdown punctuation that can act inside a table cell: emphasis, code spans, links and
# images, cell breaks, strikethrough, math. (HTML is escaped separately; list and heading
# markers only act at the start of a line, where untrusted text never is.)
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|~$])")


def comment_marker(assignment: str) -> str:
    """The hidden line that identifies this assignment's comment on a pull request."""
    return f"<!-- grader-ci:{assignment} -->"


def _score(value: float) -> str:
    return f"{value:g}"


def plain_text(text: str, limit: int | None = None) -> str:
    """One line of text without control characters (ANSI escapes, NUL, carriage returns)."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[:limit] + " …"
    return text


def markdown_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Untrusted text made inert inside a Markdown table cell, on one source line.

    HTML is escaped (no tags, no `<!-- -->` markers), Markdown punctuation is
    backslash-escaped (no links, images, code spans or `|` cell breaks), `@` cannot
    mention anyone, and line breaks become `<br>` so the text never starts a line.
    """
    text = plain_text(text, limit)
    text = html.escape(text, quote=False)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    text = text.replace("@", "@&#8203;")
    return "<br>".join(line.strip() for line in text.split("\n"))


def render_markdown(verdict: Verdict, notebook: str, hidden_not_run: int = 0) -> str:
    """The summary: score, a table of checks, the cells that raised, the sandbox layers."""
    lines: list[str] = []
    full = verdict.status == "graded" and verdict.score == verdict.max_score
    mark = "✅" if full else "❌"
    lines.append(f"### {mark} {verdict.assignment}: {_score(verdict.score)} / {_score(verdict.max_score)}")
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
                         f"{_score(check.score)} / {_score(check.max_score)} | {markdown_text(check.message)} |")
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


def _command_data(text: str) -> str:
    # The escaping GitHub's own toolkit applies to a workflow command's message.
    return plain_text(text, MAX_MESSAGE_CHARS).replace("%", "%25").replace("\n", "%0A")


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def annotations(verdict: Verdict, notebook: str) -> list[str]:
    """GitHub workflow commands: an error per failed check, a warning per cell that raised."""
    file = _command_property(notebook)
    commands: list[str] = []
    if verdict.status == "error":
        commands.append(f"::error file={file},title={_command_property(verdict.assignment + ': not graded')}::"
                        f"{_command_data(verdict.message)}")
    failed = [check for check in verdict.checks if not check.passed]
    for check in failed[:MAX_ANNOTATIONS]:
        title = f"{verdict.assignment}: {check.title or check.name} ({_score(check.score)}/{_score(check.max_score)})"
        commands.append(f"::error file={file},title={_command_property(title)}::"
                        f"{_command_data(check.message or 'the check failed')}")
    for cell in [cell for cell in verdict.cells if cell.status != "ok"][:MAX_ANNOTATIONS]:
        detail = f"{cell.error.type}: {cell.error.message}" if cell.error else cell.status
        commands.append(f"::warning file={file},title={_command_property(f'code cell {cell.index}')}::"
                        f"{_command_data(detail)}")
    return commands


def xml_text(text: str, limit: int | None = None) -> str:
    """Text XML 1.0 can hold (ElementTree escapes markup but writes NUL and escapes as they are)."""
    text = _XML_INVALID.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + " …"
    return text


def junit_xml(verdict: Verdict) -> str:
    """One <testsuite> (the assignment), one <testcase> per check, points in <properties>."""
    failures = sum(1 for check in verdict.checks if not check.passed)
    errors = 1 if verdict.status == "error" else 0
    tests = len(verdict.checks) + errors
    suites = ET.Element("testsuites", name="grader ci", tests=str(tests), failures=str(failures),
                        errors=str(errors), time=f"{verdict.duration:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=verdict.assignment, tests=str(tests), failures=str(failures),
                          errors=str(errors), skipped="0", time=f"{verdict.duration:.3f}",
                          timestamp=verdict.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("score", _score(verdict.score)), ("max_score", _score(verdict.max_score)),
                        ("submission", xml_text(verdict.submission, 500)), ("device", verdict.device),
                        ("include_hidden", str(verdict.include_hidden).lower()),
                        ("grader_version", verdict.grader_version)):
        ET.SubElement(properties, "property", name=name, value=value)
    if verdict.status == "error":
        case = ET.SubElement(suite, "testcase", classname=verdict.assignment, name="submission", time="0")
        error = ET.SubElement(case, "error", message=xml_text(verdict.message, 500), type="not graded")
        error.text = xml_text(verdict.message)
    for check in verdict.checks:
        case = ET.SubElement(suite, "testcase", classname=verdict.assignment, name=check.name,
                             time=f"{check.seconds:.3f}")
        case_properties = ET.SubElement(case, "properties")
        ET.SubElement(case_properties, "property", name="points", value=_score(check.score))
        ET.SubElement(case_properties, "property", name="max_points", value=_score(check.max_score))
        ET.SubElement(case_properties, "property", name="visibility", value=check.visibility)
        ET.SubElement(case_properties, "property", name="title", value=xml_text(check.title, 500))
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=xml_text(check.message or "the check failed", 500),
                                    type="check failed")
            failure.text = xml_text(check.message)
    raised = [cell for cell in verdict.cells if cell.status != "ok"]
    if raised:
        system_err = ET.SubElement(suite, "system-err")
        system_err.text = xml_text("\n".join(
            f"code cell {cell.index}: " + (f"{cell.error.type}: {cell.error.message}" if cell.error else cell.status)
            for cell in raised))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
