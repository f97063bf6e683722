"""otter-grader's master format (v1, ``otter assign``), as its documentation defines it.

Boundary cells (raw cells; a Markdown cell with the same first line is read too): ``# ASSIGNMENT CONFIG``
(YAML), ``# BEGIN QUESTION`` (YAML: ``name``, ``points``, ``manual``) / ``# END QUESTION``,
``# BEGIN SOLUTION`` / ``# END SOLUTION``, ``# BEGIN TESTS`` / ``# END TESTS``, ``# BEGIN PROMPT`` /
``# END PROMPT``. Inside code, ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines and ``... # SOLUTION``
line endings mark what the template does not get.

Each code cell between ``# BEGIN TESTS`` and ``# END TESTS`` is one test case: ``# HIDDEN`` as its first
line hides it, and a triple-quoted ``# BEGIN TEST CONFIG`` ... ``# END TEST CONFIG`` block may give its ``points``
and ``hidden``. A question's points are spread over its cases by otter's rule (``resolve_test_file_points``: a list, one
per case; a number, what the cases that give none have left, shared equally; no number, 1 point shared
by the cases that give none, or 0 each where some case gives points).
Otter expects a case's printed output to be what the master printed; here a case that ends with an
expression passes when the student's value equals the reference's value of that expression,
computed at grading time (nothing depends on saved outputs).
"""

from __future__ import annotations

import re

from grader.authoring.model import AuthoredCheck, Master, TemplateCell
from grader.authoring.regions import Region, split_solutions, unsolved_mistakes, without_magics
from grader.authoring.translate import (StudentNames, module_imports, split_last_expression, statements_body,
                                        without_nose)
from grader.errors import GraderError
from grader.mutants import PlantedMistake

BOUNDARY = re.compile(r"^\s*#\s*(?P<kind>ASSIGNMENT CONFIG|BEGIN QUESTION|END QUESTION|BEGIN SOLUTION|END SOLUTION|"
                      r"BEGIN TESTS|END TESTS|BEGIN PROMPT|END PROMPT)\s*$")
CODE_BOUNDARIES = {"ASSIGNMENT CONFIG", "BEGIN QUESTION", "END QUESTION", "BEGIN TESTS", "END TESTS"}
BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION(?:\s+NO PROMPT)?\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
# A line ending in "# SOLUTION": an assignment keeps its target (x = ...), a return its keyword, any other
# line becomes "..." at its indentation.
INLINE = re.compile(r"^(?P<code>(?P<keep>\s*(?:[\w.\[\]\'\", ]+?\s*(?:[-+*/%@&|^]|//|\*\*)?=(?!=)\s*"
                    r"|return\s+|yield\s+)?)\S.*?)\s*#\s*SOLUTION\s*$")
HIDDEN = re.compile(r"^\s*#\s*HIDDEN\s*$")
TEST_CONFIG = re.compile(r'^\s*"""\s*#\s*BEGIN TEST CONFIG\s*\n(?P<yaml>.*?)\n\s*"""\s*#\s*END TEST CONFIG\s*\n?',
                         re.DOTALL)
MARKDOWN_ANSWER = "_Type your answer here, replacing this text._"


def _boundary(cell: dict) -> tuple[str, str] | None:
    """(kind, the YAML after the first line) when ``cell`` is a boundary cell."""
    text = cell["source"].strip()
    if cell["cell_type"] == "markdown":
        text = re.sub(r"^<!--\s*|\s*-->$", "", text).strip().strip("`").strip()
    first, _, rest = text.partition("\n")
    match = BOUNDARY.match(first)
    if not match:
        return None
    kind = match.group("kind")
    if cell["cell_type"] == "code" and kind not in CODE_BOUNDARIES:
        return None  # a code cell's own # BEGIN SOLUTION line is a region, not a block
    return kind, rest


def is_otter(cells: list[dict]) -> bool:
    return any((_boundary(cell) or ("",))[0] in ("ASSIGNMENT CONFIG", "BEGIN QUESTION") for cell in cells)


def _yaml(text: str, where: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as error:
        raise GraderError(f"{where}: not valid YAML ({str(error).splitlines()[0]}); fix the cell") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GraderError(f"{where}: expected YAML keys (name: q1, points: 2), got {type(data).__name__}")
    return data


class _Question:
    def __init__(self, config: dict, where: str):
        self.name = str(config.get("name") or "")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise GraderError(f"{where}: the question needs a name (name: q1) of letters, digits, _ . -")
        self.points = config.get("points")
        self.manual = bool(config.get("manual"))
        self.cases: list[tuple[str, bool, float | None, str]] = []  # (code, hidden, points, where)
        self.where = where

    def case_points(self) -> list[float]:
        """Each case's points, by otter's rule."""
        given = [points for _, _, points, _ in self.cases]
        total = self.points
        if isinstance(total, list):
            if len(total) != len(self.cases):
                raise GraderError(f"{self.where}: points lists {len(total)} values for {len(self.cases)} test cases")
            return [float(value) for value in total]
        if total is not None and not isinstance(total, (int, float)):
            raise GraderError(f"{self.where}: points: {total!r} is not a number or a list of numbers")
        specified = sum(value for value in given if value is not None)
        unspecified = sum(value is None for value in given)
        if total is not None:
            if specified > total + 1e-9:
                raise GraderError(f"{self.where}: the test cases give {specified:g} points, more than the "
                                  f"question's {total:g}")
            share = (total - specified) / unspecified if unspecified else 0.0
        elif all(value in (0, None) for value in given):  # no points anywhere: the question is worth 1
            share = 1 / unspecified if unspecified else 0.0
        else:  # some cases give points: the others are worth nothing
            share = 0.0
        return [float(value) if value is not None else share for value in given]


def _case(source: str, where: str) -> tuple[str, bool, float | None]:
    lines = source.strip("\n").splitlines()
    hidden = False
    if lines and HIDDEN.match(lines[0]):
        hidden, lines = True, lines[1:]
    code = "\n".join(lines)
    points = None
    match = TEST_CONFIG.match(code)
    if match:
        config = _yaml(match.group("yaml"), where)
        hidden = bool(config.get("hidden", hidden))
        points = config.get("points")
        code = code[match.end():]
    return without_magics(code).strip("\n"), hidden, points


def read(cells: list[dict], assignment: str, where: str) -> Master:
    template: list[TemplateCell] = []
    reference: list[str] = []
    regions: list[Region] = []
    questions: list[_Question] = []
    question: _Question | None = None
    block = None  # "solution", "tests", "prompt" or None
    config: dict = {}
    title = None
    for number, cell in enumerate(cells, start=1):
        here = f"{where}, cell {number}"
        boundary = _boundary(cell) if cell["cell_type"] in ("raw", "markdown", "code") else None
        if boundary:
            kind, rest = boundary
            if kind == "ASSIGNMENT CONFIG":
                config = _yaml(rest, here)
            elif kind == "BEGIN QUESTION":
                question = _Question(_yaml(rest, here), here)
                questions.append(question)
                block = None
            elif kind == "END QUESTION":
                question, block = None, None
            elif kind.startswith("BEGIN"):
                if question is None and kind == "BEGIN TESTS":
                    raise GraderError(f"{here}: # BEGIN TESTS outside a question; put it after # BEGIN QUESTION")
                block = kind.split()[1].lower()  # solution, tests, prompt
            else:
                block = None
            continue
        source = cell["source"]
        if cell["cell_type"] == "markdown":
            if title is None and source.lstrip().startswith("#"):
                title = source.lstrip().splitlines()[0].lstrip("#").strip()
            template.append(TemplateCell(kind="markdown", source=MARKDOWN_ANSWER if block == "solution" else source))
        elif cell["cell_type"] != "code":
            continue
        elif block == "tests":
            code, hidden, points = _case(source, here)
            if code.strip():
                question.cases.append((code, hidden, points, here))
        else:
            split = split_solutions(source, BEGIN, END, here, inline=INLINE)
            template.append(TemplateCell(kind="code", source=split.template))
            reference.append(split.reference)
            regions += split.regions
    reference_source = without_magics("\n\n\n".join(part for part in reference if part.strip()) + "\n")
    names = StudentNames.of(reference_source, f"{where} (its solution and code cells)")
    checks: list[AuthoredCheck] = []
    used: set[str] = set()
    for question in questions:
        if question.manual or not question.cases:
            continue
        points = question.case_points()
        for index, ((code, hidden, _, here), worth) in enumerate(zip(question.cases, points), start=1):
            used |= set(names.used_by(without_nose(code), here))
            if worth > 0:
                checks.append(_check(question.name, index, len(question.cases), code, hidden, worth, names, here))
    if not checks:
        raise GraderError(f"{where}: no question has test cases with points (# BEGIN QUESTION, then # BEGIN TESTS); "
                          "nothing to grade")
    mistakes = [PlantedMistake.model_validate(entry) for entry in unsolved_mistakes(reference_source, regions, used)]
    return Master(id=assignment, format="otter", config={"title": title or str(config.get("name") or assignment)},
                  template=template, reference=reference_source, imports=module_imports(reference_source, where),
                  checks=checks, mistakes=mistakes)


def _check(question: str, index: int, count: int, code: str, hidden: bool, points: float, names: StudentNames,
           where: str) -> AuthoredCheck:
    slug = re.sub(r"[^A-Za-z0-9_]", "_", question)
    name = f"test_{slug}_{index}"
    title = f"{question}: test case {index} of {count}"
    before, expression = split_last_expression(without_nose(code), where)
    header = f'def {name}(student, reference):\n    """{title}"""\n'
    if expression is None:
        body = header + statements_body(code, names, where)
        helpers = ""
    else:
        used = names.used_by(without_nose(code), where)
        helper = f"_{slug}_{index}"
        inner = (before.strip("\n") + "\n" if before.strip() else "") + f"return ({expression})"
        helpers = (f"def {helper}({', '.join(used)}):\n" + "\n".join("    " + line if line.strip() else ""
                                                                        for line in inner.splitlines())
                   + f"\n\n\ndef {helper}_reference(reference):\n"
                   f"    return reference_output({helper}({', '.join(names.binding(each, 'reference') for each in used)}))")
        got = f"{helper}({', '.join(names.binding(each) for each in used)})"
        body = (header + "    use_student(student)\n" + f"    expect_same_output({got}, recorded(reference, {helper}_reference),\n"
                f"                       what={expression!r}, show_expected={not hidden})")
    return AuthoredCheck(name=name, title=title, title_ru=f"{question}: тест {index} из {count}",
                         visibility="hidden" if hidden else "public", points=points, code=body, helpers=helpers)
