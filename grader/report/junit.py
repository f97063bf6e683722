"""`grader ci --junit`: one <testsuite> (the assignment), one <testcase> per check, points as properties.

Student text goes through ``xml_attribute`` (one line) or ``xml_text`` (lines kept).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.models import Verdict
from grader.report.format import score
from grader.report.untrusted import xml_attribute, xml_text


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
    for name, value in (("score", score(verdict.score)), ("max_score", score(verdict.max_score)),
                        ("submission", xml_attribute(verdict.submission, 500)), ("device", verdict.device),
                        ("include_hidden", str(verdict.include_hidden).lower()),
                        ("grader_version", verdict.grader_version)):
        ET.SubElement(properties, "property", name=name, value=value)
    if verdict.status == "error":
        case = ET.SubElement(suite, "testcase", classname=verdict.assignment, name="submission", time="0")
        error = ET.SubElement(case, "error", message=xml_attribute(verdict.message, 500), type="not graded")
        error.text = xml_text(verdict.message)
    for check in verdict.checks:
        case = ET.SubElement(suite, "testcase", classname=verdict.assignment, name=check.name,
                             time=f"{check.seconds:.3f}")
        case_properties = ET.SubElement(case, "properties")
        ET.SubElement(case_properties, "property", name="points", value=score(check.score))
        ET.SubElement(case_properties, "property", name="max_points", value=score(check.max_score))
        ET.SubElement(case_properties, "property", name="visibility", value=check.visibility)
        ET.SubElement(case_properties, "property", name="title", value=xml_attribute(check.title, 500))
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=xml_attribute(check.message or "the check failed", 500),
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
