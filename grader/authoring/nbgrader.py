"""nbgrader's master format, as its documentation defines it (``nbgrader generate_assignment``).

- cell metadata ``nbgrader``: ``solution``, ``grade``, ``grade_id``, ``points`` (``locked``, ``task``
  change nothing here);
- ``### BEGIN SOLUTION`` / ``### END SOLUTION`` in a code cell: the template gets a stub; a solution
  cell without them is replaced whole (a Markdown one by "YOUR ANSWER HERE");
- an autograder test cell (``grade`` and not ``solution``, code): one check worth its ``points`` that
  passes or fails as a whole, as nbgrader scores it; ``### BEGIN HIDDEN TESTS`` /
  ``### END HIDDEN TESTS`` make it hidden (the template keeps the visible part, as nbgrader's
  release does), otherwise it is public;
- a manually graded cell (``grade`` and ``solution``) gets no check: nothing here grades by hand.
"""

from __future__ import annotations

import re

from grader.authoring.model import AuthoredCheck, Master, TemplateCell
from grader.authoring.regions import STUB, Region, split_solutions, unsolved_mistakes, without_magics
from grader.authoring.translate import (StudentNames, module_imports, statements_body, top_level_definitions,
                                        unbound_names, without_nose)
from grader.errors import GraderError
from grader.mutants import PlantedMistake

BEGIN = re.compile(r"^\s*###?\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*###?\s*END SOLUTION\s*$")
BEGIN_HIDDEN = re.compile(r"^\s*###?\s*BEGIN HIDDEN TESTS\s*$")
END_HIDDEN = re.compile(r"^\s*###?\s*END HIDDEN TESTS\s*$")
TEXT_STUB = "YOUR ANSWER HERE"


def _meta(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_nbgrader(cells: list[dict]) -> bool:
    return any(_meta(cell).get("grade") or _meta(cell).get("solution") for cell in cells)


def _hidden_split(source: str, where: str) -> tuple[str, str, bool]:
    """(the visible tests, every test without the markers, whether any were hidden)."""
    visible, every, inside, hidden = [], [], False, False
    for line in source.splitlines():
        if BEGIN_HIDDEN.match(line):
            inside, hidden = True, True
        elif END_HIDDEN.match(line):
            inside = False
        else:
            every.append(line)
            if not inside:
                visible.append(line)
    if inside:
        raise GraderError(f"{where}: ### BEGIN HIDDEN TESTS is not closed; add ### END HIDDEN TESTS")
    return "\n".join(visible).rstrip(), "\n".join(every).rstrip(), hidden


def _check_name(grade_id: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", grade_id).strip("_") or "cell"
    name = name if name.startswith("test_") else f"test_{name}"
    unique, number = name, 2
    while unique in taken:
        unique, number = f"{name}_{number}", number + 1
    taken.add(unique)
    return unique


def read(cells: list[dict], assignment: str, where: str) -> Master:
    template: list[TemplateCell] = []
    reference: list[str] = []
    regions: list[Region] = []
    tests: list[tuple[dict, str, str]] = []  # (metadata, every test line, where)
    title = None
    for number, cell in enumerate(cells, start=1):
        meta, source, here = _meta(cell), cell["source"], f"{where}, cell {number}"
        if cell["cell_type"] == "markdown":
            if title is None and source.lstrip().startswith("#"):
                title = source.lstrip().splitlines()[0].lstrip("#").strip()
            text = TEXT_STUB if meta.get("solution") else split_solutions(source, BEGIN, END, here,
                                                                           stub=TEXT_STUB).template
            template.append(TemplateCell(kind="markdown", source=text))
            continue
        if cell["cell_type"] != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            visible, every, hidden = _hidden_split(source, here)
            template.append(TemplateCell(kind="code", source=visible))
            tests.append((meta | {"hidden": hidden}, without_magics(every), here))
            continue
        split = split_solutions(source, BEGIN, END, here)
        if meta.get("solution") and not split.regions:  # nbgrader replaces a solution cell without markers whole
            template.append(TemplateCell(kind="code", source=f"# YOUR CODE HERE\n{STUB}"))
        else:
            template.append(TemplateCell(kind="code", source=split.template))
        reference.append(split.reference)
        regions += split.regions
    reference_source = without_magics("\n\n\n".join(part for part in reference if part.strip()) + "\n")
    names = StudentNames.of(reference_source, f"{where} (its solution and code cells)")
    checks, taken, used = [], set(), set()
    earlier: list[tuple[set[str], str]] = []  # what earlier test cells define: in the kernel, later cells see it
    for meta, cell_code, here in tests:
        code = _with_earlier_definitions(cell_code, earlier, here)
        earlier += top_level_definitions(without_nose(cell_code), here)
        grade_id = str(meta.get("grade_id") or f"cell{len(checks) + 1}")
        try:
            points = float(meta.get("points") or 0)
        except (TypeError, ValueError):
            raise GraderError(f"{here}: nbgrader points {meta.get('points')!r} is not a number; fix the cell's "
                              "metadata") from None
        if points <= 0:
            continue  # nbgrader does not score it either
        name = _check_name(grade_id, taken)
        used |= set(names.used_by(code, here))
        shown = re.sub(r"[^\w .:-]", "_", grade_id)
        check_title = f"{shown}: the tests of this cell"
        checks.append(AuthoredCheck(
            name=name, title=check_title, title_ru=f"{shown}: тесты этой ячейки",
            visibility="hidden" if meta["hidden"] else "public", points=points,
            code=f'def {name}(student):\n    """{check_title}"""\n' + statements_body(code, names, here)))
    if not checks or not sum(check.points for check in checks):
        raise GraderError(f"{where}: no autograded test cell with points (nbgrader metadata grade: true, "
                          "points > 0); nothing to grade")
    mistakes = [PlantedMistake.model_validate(entry) for entry in unsolved_mistakes(reference_source, regions, used)]
    config = {"title": title or assignment}
    return Master(id=assignment, format="nbgrader", config=config, template=template, reference=reference_source,
                  imports=module_imports(reference_source, where), checks=checks, mistakes=mistakes)


def _with_earlier_definitions(code: str, earlier: list[tuple[set[str], str]], where: str) -> str:
    """``code`` after the definitions of earlier test cells it reads (and those they read)."""
    needed = set(unbound_names(without_nose(code), where))
    chosen: set[int] = set()
    grown = True
    while grown:
        grown = False
        for index, (names, source) in enumerate(earlier):
            if index not in chosen and names & needed:
                chosen.add(index)
                needed |= set(unbound_names(source, where))
                grown = True
    if not chosen:
        return code
    return "\n".join(earlier[index][1] for index in sorted(chosen)) + "\n" + code
