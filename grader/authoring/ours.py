"""Our master format: markers in ordinary code cells (docs/writing-checks.md, "One master notebook").

- a code cell starting ``# grader: config``: the rest is assignment.toml, each line commented
  (``# title = "Tensors"``), with ``[[mistake]]`` tables for mistakes.toml;
- ``# BEGIN SOLUTION`` / ``# END SOLUTION`` lines in a code cell: the template gets a stub that
  raises NotImplementedError, the reference solution keeps the code;
- a code cell starting ``# grader: check public points=2`` (or ``hidden``): one pytest function
  using the ``student``, ``reference`` and ``device`` fixtures; ``# ru: ...`` gives its title in
  Russian and ``# ru "English" = "Русский"`` any other text it shows;
- a code cell starting ``# grader: skip``: the instructor's own, in neither output;
- a code cell starting ``# grader: template``: the students' own (a cell to try their functions), in
  the template only (its marker line removed), never run as part of the reference solution;
- every other cell goes to the template (and, if code, to the reference; Markdown to the README).
"""

from __future__ import annotations

import ast
import re
import tomllib

from grader.authoring.model import AuthoredCheck, Master, TemplateCell
from grader.authoring.regions import split_solutions, unsolved_mistakes, without_magics
from grader.authoring.translate import StudentNames, module_imports, parse
from grader.errors import GraderError
from grader.mutants import PlantedMistake

CONFIG = re.compile(r"^\s*#\s*grader:\s*config\s*$")
CHECK = re.compile(r"^\s*#\s*grader:\s*check\b(?P<rest>.*)$")
SKIP = re.compile(r"^\s*#\s*grader:\s*skip\s*$")
TEMPLATE_ONLY = re.compile(r"^\s*#\s*grader:\s*template\s*$")
CHECK_ARGS = re.compile(r"^\s+(?P<visibility>public|hidden)\s+points\s*=\s*(?P<points>\d+(?:\.\d+)?)\s*$")
BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
RU_TITLE = re.compile(r"^\s*#\s*ru:\s*(?P<text>.+?)\s*$")
RU_ENTRY = re.compile(r"^\s*#\s*ru\s+(?P<entry>\".*)$")


def is_ours(cells: list[dict]) -> bool:
    return any(cell["cell_type"] == "code" and (CONFIG.match(_first_line(cell)) or CHECK.match(_first_line(cell)))
               for cell in cells)


def _first_line(cell: dict) -> str:
    source = cell["source"]
    return source.lstrip("\n").split("\n", 1)[0]


def read(cells: list[dict], assignment: str, where: str) -> Master:
    config: dict = {}
    template: list[TemplateCell] = []
    reference: list[str] = []
    regions = []
    checks: list[AuthoredCheck] = []
    catalogue: dict[str, str] = {}
    catalogue_hidden: dict[str, str] = {}  # hidden checks' texts: never in the public catalogue students get
    for number, cell in enumerate(cells, start=1):
        source, first = cell["source"], _first_line(cell)
        here = f"{where}, cell {number}"
        if cell["cell_type"] == "markdown":
            template.append(TemplateCell(kind="markdown", source=source))
        elif cell["cell_type"] != "code" or SKIP.match(first):
            continue
        elif CONFIG.match(first):
            config = _config(source, here)
        elif CHECK.match(first):
            check, entries = _check(source, CHECK.match(first).group("rest"), here)
            checks.append(check)
            (catalogue if check.visibility == "public" else catalogue_hidden).update(entries)
        elif TEMPLATE_ONLY.match(first):
            marker_and_rest = source.lstrip("\n").split("\n", 1)
            template.append(TemplateCell(kind="code", source=marker_and_rest[1] if len(marker_and_rest) > 1 else ""))
        else:
            split = split_solutions(source, BEGIN, END, here)
            template.append(TemplateCell(kind="code", source=split.template))
            reference.append(split.reference)
            regions += split.regions
    reference_source = without_magics("\n\n\n".join(part for part in reference if part.strip()) + "\n")
    names = StudentNames.of(reference_source, f"{where} (its code cells)")
    declared = config.pop("mistake", [])
    used = {name for check in checks for name in names.callables if re.search(rf"\.{name}\(", check.code)}
    mistakes = [PlantedMistake.model_validate(entry) for entry in declared + unsolved_mistakes(
        reference_source, regions, used - {entry.get("name", "") for entry in declared})]
    if not checks:
        raise GraderError(f"{where}: no check cells; add a code cell starting # grader: check public points=1")
    return Master(id=assignment, format="grader", config=config, template=template, reference=reference_source,
                  imports=module_imports(reference_source, where), checks=checks, mistakes=_unique(mistakes),
                  catalogue_ru=catalogue, catalogue_ru_hidden=catalogue_hidden)


def _unique(mistakes: list[PlantedMistake]) -> list[PlantedMistake]:
    seen: set[str] = set()
    kept = []
    for mistake in mistakes:
        if mistake.name not in seen:
            seen.add(mistake.name)
            kept.append(mistake)
    return kept


def _config(source: str, where: str) -> dict:
    lines = source.splitlines()[1:]
    text = "\n".join(re.sub(r"^\s*# ?", "", line) for line in lines)
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GraderError(f"{where}: the config cell is not TOML in comments ({error}); fix that line") from None
    for key in ("notebook", "points"):
        if key in config:
            raise GraderError(f"{where}: leave {key} out of the config cell; grader author writes it")
    return config


def _check(source: str, rest: str, where: str) -> tuple[AuthoredCheck, dict[str, str]]:
    match = CHECK_ARGS.match(rest)
    if not match:
        raise GraderError(f"{where}: write the check cell's first line as # grader: check public points=2 "
                          "(or hidden)")
    lines = source.lstrip("\n").splitlines()[1:]
    title_ru, entries = None, {}
    for line in lines:
        if RU_TITLE.match(line):
            title_ru = RU_TITLE.match(line).group("text")
        elif RU_ENTRY.match(line):
            try:
                entries.update(tomllib.loads(RU_ENTRY.match(line).group("entry")))
            except tomllib.TOMLDecodeError as error:
                raise GraderError(f"{where}: {line.strip()!r} is not # ru \"English\" = \"Русский\" ({error})") from None
    code = "\n".join(line for line in lines if not RU_TITLE.match(line) and not RU_ENTRY.match(line)).strip("\n")
    tree = parse(code, where)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    if len(functions) != 1:
        raise GraderError(f"{where}: a check cell holds exactly one def test_...(student, reference, device); "
                          f"found {len(functions)}")
    function = functions[0]
    docstring = ast.get_docstring(function)
    if not docstring:
        raise GraderError(f"{where}: {function.name} needs a docstring; its first line is the check's title")
    if any("points" in ast.unparse(decorator) for decorator in function.decorator_list):
        raise GraderError(f"{where}: give the points on the cell's first line only, not as a decorator")
    lines = code.splitlines()
    start = (function.decorator_list[0].lineno if function.decorator_list else function.lineno) - 1
    helpers = "\n".join(lines[:start])
    after = "\n".join(lines[function.end_lineno:])
    check = AuthoredCheck(name=function.name, title=docstring.strip().splitlines()[0].strip(),
                          visibility=match.group("visibility"), points=float(match.group("points")),
                          code="\n".join(lines[start:function.end_lineno]),
                          helpers=(helpers.strip() + "\n\n" + after.strip()).strip(), title_ru=title_ru)
    return check, entries
