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
from grader.authoring.regions import Region, split_solutions, unsolved_mistakes, without_magics
from grader.authoring.translate import (StudentNames, defined_names, module_imports, statements_body,
                                        top_level_definitions, with_earlier_definitions, without_nose)
from grader.errors import GraderError
from grader.mutants import PlantedMistake

# nbgrader finds its delimiters whatever the comment characters before them (# BEGIN SOLUTION, ### BEGIN SOLUTION)
BEGIN = re.compile(r"^\s*#*\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#*\s*END SOLUTION\s*$")
BEGIN_HIDDEN = re.compile(r"^\s*#*\s*BEGIN HIDDEN TESTS\s*$")
END_HIDDEN = re.compile(r"^\s*#*\s*END HIDDEN TESTS\s*$")
TEXT_STUB = "YOUR ANSWER HERE"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # what nbgrader writes


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
    code_cells: list[str] = []  # the master's code cells, test cells too: what its kernel ran (the reference)
    student_code: list[str] = []  # the code cells students write or keep (their names are reached by proxy)
    regions: list[Region] = []
    # (metadata, every test line, where, the definitions available to it): in cell order, so a test sees
    # what earlier test cells and read-only cells defined, as in the kernel
    tests: list[tuple[dict, str, str, list[tuple[set[str], str]]]] = []
    trusted: list[tuple[set[str], str]] = []  # functions of read-only cells and definitions of test cells
    manual: list[str] = []
    unlocked_code: list[str] = []
    locked_functions: set[str] = set()
    title = None
    for number, cell in enumerate(cells, start=1):
        meta, source, here = _meta(cell), cell["source"], f"{where}, cell {number}"
        if meta.get("grade") or meta.get("task"):
            _manual_note(meta, cell, here, manual)
        if cell["cell_type"] == "markdown":
            if title is None and source.lstrip().startswith("#"):
                title = source.lstrip().splitlines()[0].lstrip("#").strip()
            if meta.get("solution"):
                split = split_solutions(source, BEGIN, END, here, stub=TEXT_STUB)
                text = split.template if split.regions else TEXT_STUB
            else:
                text = split_solutions(source, BEGIN, END, here, stub=TEXT_STUB).template
            template.append(TemplateCell(kind="markdown", source=text))
            continue
        if cell["cell_type"] != "code":
            continue
        if meta.get("grade") and not meta.get("solution"):
            visible, every, hidden = _hidden_split(source, here)
            every = without_nose(without_magics(every))
            template.append(TemplateCell(kind="code", source=visible))
            code_cells.append(every)
            tests.append((meta | {"hidden": hidden}, every, here, list(trusted)))
            trusted += top_level_definitions(without_nose(every), here)
            continue
        split = split_solutions(source, BEGIN, END, here, stub=CODE_STUB)
        if meta.get("solution") and not split.regions:  # nbgrader replaces a solution cell without markers whole
            template.append(TemplateCell(kind="code", source=CODE_STUB))
        else:
            template.append(TemplateCell(kind="code", source=split.template))
        code_cells.append(without_nose(split.reference))  # a setup cell's nose import too: the reference runs here
        regions += split.regions
        student_code.append(split.reference)
        if meta.get("locked") and not meta.get("solution"):
            # nbgrader puts a read-only cell back as the master has it before grading: its functions are the
            # instructor's, run here (a test may pass them the student's functions)
            functions = [(defined, text) for defined, text in top_level_definitions(without_magics(split.reference),
                                                                                    here)
                         if text.lstrip().startswith(("def ", "async def ", "@"))]
            trusted += functions
            locked_functions |= set().union(*(defined for defined, _ in functions)) if functions else set()
        else:
            unlocked_code.append(split.reference)
    # "# %%" keeps each cell a cell when the reference is graded as a .py (a planted mistake's failing test
    # cell does not stop the cells after it)
    reference_source = without_magics("\n\n\n# %%\n".join(part for part in code_cells if part.strip()) + "\n")
    student_source = without_magics("\n\n\n".join(part for part in student_code if part.strip()) + "\n")
    names = StudentNames.of(student_source, f"{where} (its solution and code cells)")
    unlocked = StudentNames.of(without_magics("\n\n\n".join(part for part in unlocked_code if part.strip()) + "\n"),
                               where)
    names.callables -= locked_functions - unlocked.callables
    stubbed = set().union(*(defined_names(cell.source) for cell in template if cell.kind == "code"))
    names.written = names.callables - stubbed
    checks, taken, used = [], set(), set()
    for meta, cell_code, here, available in tests:
        code = with_earlier_definitions(cell_code, available, here)
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
                  imports=module_imports(reference_source, where), checks=checks, mistakes=mistakes, manual=manual)


def _manual_note(meta: dict, cell: dict, where: str, manual: list[str]) -> None:
    """A cell nbgrader scores by hand (a manually graded answer or a task): named, worth nothing here."""
    if not (meta.get("task") or (meta.get("grade") and (meta.get("solution") or cell["cell_type"] != "code"))):
        return
    try:
        points = float(meta.get("points") or 0)
    except (TypeError, ValueError):
        raise GraderError(f"{where}: nbgrader points {meta.get('points')!r} is not a number; fix the cell's "
                          "metadata") from None
    kind = "task" if meta.get("task") else "manually graded answer"
    manual.append(f"{meta.get('grade_id') or where} ({kind}, {points:g} points, {where.rsplit(', ', 1)[-1]}): graded "
                  "by hand in nbgrader; not scored here, grade it yourself (grader override)")
