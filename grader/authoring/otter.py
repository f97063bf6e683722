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

import ast
import re

from grader.authoring.model import AuthoredCheck, Master, TemplateCell
from grader.authoring.regions import STUB, Region, SplitCell, enclosing, unsolved_mistakes, without_magics
from grader.authoring.translate import (StudentNames, module_imports, parse, split_last_expression,
                                        statements_body, top_level_definitions, with_earlier_definitions,
                                        without_nose)
from grader.errors import GraderError
from grader.mutants import PlantedMistake

BOUNDARY = re.compile(r"^\s*#\s*(?P<kind>ASSIGNMENT CONFIG|BEGIN QUESTION|END QUESTION|BEGIN SOLUTION|END SOLUTION|"
                      r"BEGIN TESTS|END TESTS|BEGIN PROMPT|END PROMPT)\s*$", re.IGNORECASE)
IGNORE_CELL = re.compile(r"^\s*##\s*ignore\s*##", re.IGNORECASE)  # first line: the cell is in neither output
IGNORE_LINE = re.compile(r"#\s*IGNORE\s*$")  # a line ending so is in neither output (nor the tests)
BEGIN_IGNORE = re.compile(r"^\s*#\s*BEGIN\s*IGNORE\s*$", re.IGNORECASE)
END_IGNORE = re.compile(r"#\s*END IGNORE\s*$")
BEGIN_PROMPT = re.compile(r"""^\s*(?:\w+\s*=\s*)?(?:\"\"\"|\'\'\'|\"|\')\s*#\s*BEGIN PROMPT\s*$""")
END_PROMPT = re.compile(r"""^\s*(?:\"\"\"|\'\'\'|\"|\');?\s*#\s*END PROMPT\s*$""")
NO_PROMPT_LINE = re.compile(r"^(?P<code>.*?)\s*#\s*SOLUTION NO PROMPT\s*$")
SEED_LINE = re.compile(r"^(?P<code>.*?)\s*#\s*SEED\s*$")
CODE_BOUNDARIES = {"ASSIGNMENT CONFIG", "BEGIN QUESTION", "END QUESTION", "BEGIN TESTS", "END TESTS"}
BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION(?:\s+NO PROMPT)?\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")
# A line ending in "# SOLUTION": an assignment keeps its target (x = ...), a return its keyword, any other
# line becomes "..." at its indentation.
INLINE = re.compile(r"^(?P<code>(?P<keep>\s*(?:[\w.\[\]\'\", ]+?\s*(?:[-+*/%@&|^]|//|\*\*)?=(?!=)\s*"
                    r"|return\s+|yield\s+)?)\S.*?)\s*#\s*SOLUTION\s*$")
HIDDEN = re.compile(r"^\s*#\s*HIDDEN\s*$")
TEST_CONFIG = re.compile(r'^\s*(?:\w+\s*=\s*)?("""|\'\'\'|"|\')\s*#\s*BEGIN\s*TEST\s*CONFIG\s*\n(?P<yaml>.*?)\n\s*'
                         r'("""|\'\'\'|"|\');?\s*#\s*END\s*TEST\s*CONFIG\s*(\n|$)', re.DOTALL | re.IGNORECASE)
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
    kind = match.group("kind").upper()
    if cell["cell_type"] == "code" and kind not in CODE_BOUNDARIES:
        return None  # a code cell's own # BEGIN SOLUTION line is a region, not a block
    return kind, rest


def _without_ignored(source: str, where: str) -> str:
    """``source`` less its ``# IGNORE`` lines and ``# BEGIN IGNORE`` ... ``# END IGNORE`` blocks, as otter
    assign strips them from both notebooks and the tests."""
    kept, inside = [], False
    for line in source.splitlines():
        if IGNORE_LINE.search(line.rstrip()) and not END_IGNORE.search(line.rstrip()):
            continue
        if END_IGNORE.search(line.rstrip()):
            if not inside:
                raise GraderError(f"{where}: # END IGNORE without # BEGIN IGNORE; add it or remove this line")
            inside = False
            continue
        if inside:
            continue
        if BEGIN_IGNORE.match(line):
            inside = True
            continue
        kept.append(line)
    if inside:
        raise GraderError(f"{where}: # BEGIN IGNORE is not closed; add # END IGNORE")
    return "\n".join(kept)


def _split(source: str, where: str) -> SplitCell:
    """A solution cell as otter assign splits it: ``# BEGIN SOLUTION`` regions become a stub (``NO PROMPT``:
    nothing, unless that leaves the cell unparseable), ``x = 2 # SOLUTION`` becomes ``x = ...``, a
    ``# SOLUTION NO PROMPT`` line goes, a ``\"\"\" # BEGIN PROMPT`` ... ``\"\"\" # END PROMPT`` string's lines are
    the student's and not the reference's; a ``# SEED`` line stays in both (otter seeds each cell at
    grading time; here the student's notebook keeps the seed)."""
    split = _split_lines(source, where, drop_no_prompt=True)
    try:
        ast.parse(split.template)
    except SyntaxError:
        return _split_lines(source, where, drop_no_prompt=False)
    return split


def _split_lines(source: str, where: str, drop_no_prompt: bool) -> SplitCell:
    template: list[str] = []
    reference: list[str] = []
    regions: list[Region] = []
    inside: list[str] | None = None
    indent, no_prompt, prompt = "", False, False
    for line in source.splitlines():
        if prompt:
            if END_PROMPT.match(line):
                prompt = False
            else:
                template.append(line)
            continue
        if inside is None and BEGIN_PROMPT.match(line):
            prompt = True
            continue
        if inside is None and BEGIN.match(line):
            inside, indent = [], re.match(r"\s*", line).group(0)
            no_prompt = "NO PROMPT" in line.upper()
            continue
        if inside is not None:
            if END.match(line):
                function, owner = enclosing(reference, indent)
                regions.append(Region("".join(inside), indent, function, owner))
                if not (no_prompt and drop_no_prompt):
                    template += [f"{indent}# YOUR CODE HERE", f"{indent}{STUB}"]
                inside = None
            else:
                inside.append(line + "\n")
                reference.append(line)
            continue
        match = NO_PROMPT_LINE.match(line)
        if match:
            reference.append(match.group("code").rstrip())
            continue
        match = SEED_LINE.match(line)
        if match:
            reference.append(match.group("code").rstrip())
            template.append(match.group("code").rstrip())
            continue
        match = INLINE.match(line + "\n")
        if match:
            reference.append(match.group("code").rstrip())
            template.append((match.group("keep") or re.match(r"\s*", line).group(0)) + "...")
            continue
        template.append(line)
        reference.append(line)
    if inside is not None:
        raise GraderError(f"{where}: # BEGIN SOLUTION is not closed; add its # END SOLUTION line")
    if prompt:
        raise GraderError(f"{where}: a \"\"\" # BEGIN PROMPT string is not closed; add its \"\"\" # END PROMPT line")
    return SplitCell("\n".join(template).rstrip("\n"), "\n".join(reference).rstrip("\n"), regions)


V0_QUESTION = re.compile(r"^\s*```+\s*\n\s*BEGIN (QUESTION|ASSIGNMENT)\b", re.MULTILINE)
PLUGIN = re.compile(r"#\s*BEGIN PLUGIN\b")


def is_otter_v0(cells: list[dict]) -> bool:
    return any(cell["cell_type"] == "markdown" and V0_QUESTION.search(cell["source"]) for cell in cells)


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
        self.messages: list[tuple[str | None, str | None]] = []  # each case's success and failure message
        self.where = where
        if isinstance(self.points, dict):  # points: {each: 2}: every case is worth that
            if set(self.points) != {"each"}:
                raise GraderError(f"{where}: points: {self.points!r}; write a number, a list (one per test case) "
                                  "or each: N")
            self.each = self.points["each"]
            self.points = None
        else:
            self.each = None

    def case_points(self) -> list[float]:
        """Each case's points, by otter's rule."""
        given = [points for _, _, points, _ in self.cases]
        total = self.points
        if self.each is not None:
            total = self._number(self.each) * len(self.cases)
        if isinstance(total, list):
            if len(total) != len(self.cases):
                raise GraderError(f"{self.where}: points lists {len(total)} values for {len(self.cases)} test cases")
            return [float(value) for value in total]
        if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))):
            raise GraderError(f"{self.where}: points: {total!r} is not a number or a list of numbers")
        for value, (_, _, _, here) in zip(given, self.cases):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise GraderError(f"{here}: the test config's points: {value!r} is not a number; fix the cell")
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

    def _number(self, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GraderError(f"{self.where}: points: {value!r} is not a number; fix the question's config")
        return float(value)

    def worth(self) -> float:
        """What the question is worth (a manual one: its points, as otter counts them)."""
        if self.cases:
            return sum(self.case_points())
        if self.each is not None:
            return 0.0
        if isinstance(self.points, list):
            return sum(self._number(value) for value in self.points)
        return self._number(self.points) if self.points is not None else 1.0


def _case(source: str, where: str) -> tuple[str, bool, float | None, str | None, str | None]:
    """(code, hidden, points, success message, failure message) of one test cell."""
    lines = source.strip("\n").splitlines()
    hidden = False
    if lines and lines[0].lstrip().startswith("#") and re.search(r"\bhidden\b", lines[0], re.IGNORECASE):
        hidden, lines = True, lines[1:]  # otter: a first comment line naming "hidden"
    code = "\n".join(lines)
    points, messages = None, (None, None)
    match = TEST_CONFIG.match(code)
    if match:
        config = _yaml(match.group("yaml"), where)
        unknown = set(config) - {"hidden", "points", "success_message", "failure_message"}
        if unknown:
            raise GraderError(f"{where}: the test config has {', '.join(sorted(map(str, unknown)))}; otter knows "
                              "hidden, points, success_message and failure_message")
        hidden = bool(config.get("hidden", hidden))
        points = config.get("points")
        messages = tuple(str(config[key]) if config.get(key) is not None else None
                         for key in ("success_message", "failure_message"))
        code = code[match.end():]
    return without_magics(_without_ignored(code, where)).strip("\n"), hidden, points, *messages


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
        if IGNORE_CELL.match(source.lstrip("\n").split("\n", 1)[0]):
            continue  # ## Ignore ##: in neither notebook
        if cell["cell_type"] == "code":
            source = _without_ignored(source, here)
            if PLUGIN.search(source):
                raise GraderError(f"{here}: otter's student-facing plugins (# BEGIN PLUGIN) are not supported here; "
                                  "remove the plugin block from the master")
        if cell["cell_type"] == "markdown":
            if title is None and source.lstrip().startswith("#"):
                title = source.lstrip().splitlines()[0].lstrip("#").strip()
            template.append(TemplateCell(kind="markdown", source=MARKDOWN_ANSWER if block == "solution" else source))
        elif cell["cell_type"] != "code":
            continue
        elif block == "tests":
            code, hidden, points, success, failure = _case(source, here)
            if code.strip():
                question.cases.append((code, hidden, points, here))
                question.messages.append((success, failure))
        else:
            split = _split(source, here)
            template.append(TemplateCell(kind="code", source=split.template))
            reference.append(split.reference)
            regions += split.regions
    reference_source = without_magics("\n\n\n".join(part for part in reference if part.strip()) + "\n")
    names = StudentNames.of(reference_source, f"{where} (its solution and code cells)")
    checks: list[AuthoredCheck] = []
    used: set[str] = set()
    manual: list[str] = []
    exception_based = isinstance(config.get("tests"), dict) and config["tests"].get("ok_format") is False
    for question in questions:
        if question.manual:
            manual.append(f"{question.name} (manual, {question.worth():g} points, {question.where.rsplit(', ', 1)[-1]}): "
                          "graded by hand in otter; not scored here, grade it yourself (grader override)")
        if question.manual or not question.cases:
            continue
        points = question.case_points()
        earlier: list[tuple[set[str], str]] = []  # otter runs a question's cases in one environment
        for index, ((code, hidden, _, here), worth, (_, failure)) in enumerate(
                zip(question.cases, points, question.messages), start=1):
            if not exception_based:
                own = code
                code = with_earlier_definitions(code, earlier, here)
                earlier += top_level_definitions(without_nose(own), here)
            used |= set(names.used_by(without_nose(code), here))
            if exception_based:  # the test function's parameters (and env["name"]) name the student's globals
                used |= {node.arg if isinstance(node, ast.arg) else node.value for node in ast.walk(parse(code, here))
                         if isinstance(node, ast.arg) or isinstance(node, ast.Constant) and isinstance(node.value, str)}
            if worth > 0:
                check = (_exception_check if exception_based else _check)(
                    question.name, index, len(question.cases), code, hidden, worth, names, here)
                if failure:
                    check = _with_failure_message(check, failure)
                checks.append(check)
    if not checks:
        raise GraderError(f"{where}: no question has test cases with points (# BEGIN QUESTION, then # BEGIN TESTS); "
                          "nothing to grade")
    mistakes = [PlantedMistake.model_validate(entry) for entry in unsolved_mistakes(reference_source, regions, used)]
    files = _support_files(config, where)
    settings = {"title": title or str(config.get("name") or assignment)}
    if files:
        settings["support_files"] = sorted(files)
    return Master(id=assignment, format="otter", config=settings, files=files,
                  template=template, reference=reference_source, imports=module_imports(reference_source, where),
                  checks=checks, mistakes=mistakes, manual=manual)


def _support_files(config: dict, where: str) -> dict[str, str]:
    """ASSIGNMENT CONFIG ``files`` (relative to the master's folder) as support files students get."""
    from pathlib import Path, PurePosixPath

    if config.get("autograder_files"):
        raise GraderError(f"{where}: ASSIGNMENT CONFIG autograder_files is not supported (every file the notebook "
                          "reads goes to students too here); move them to files: or out of the master")
    listed = config.get("files") or []
    if not isinstance(listed, list) or not all(isinstance(name, str) for name in listed):
        raise GraderError(f"{where}: ASSIGNMENT CONFIG files: {listed!r}; list file paths, e.g. files: [data.csv]")
    found: dict[str, str] = {}
    for name in listed:
        relative = PurePosixPath(name)
        path = Path(where).parent / name
        if relative.is_absolute() or ".." in relative.parts or not path.is_file():
            raise GraderError(f"{where}: ASSIGNMENT CONFIG files: {name} is not a file beside the master (a path "
                              "relative to its folder); fix the entry")
        found[relative.as_posix()] = str(path)
    return found


def _with_failure_message(check: AuthoredCheck, message: str) -> AuthoredCheck:
    """The check, its failure shown with the test config's failure_message first (as otter shows it)."""
    docstring_end = check.code.index('"""', check.code.index('"""') + 3) + 4
    header, body = check.code[:docstring_end], check.code[docstring_end:]
    wrapped = (f"    with failure_message({message!r}):\n"
               + "\n".join("    " + line if line.strip() else "" for line in body.splitlines()))
    return check.model_copy(update={"code": header + wrapped})


def _exception_check(question: str, index: int, count: int, code: str, hidden: bool, points: float,
                     names: StudentNames, where: str) -> AuthoredCheck:
    """An exception-based test case (``tests: ok_format: false``): the cell defines one test function, which
    otter calls with the student's globals named by its parameters (``env``: all of them)."""
    tree = parse(without_nose(code), where)
    functions = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        raise GraderError(f"{where}: an exception-based test cell (tests: ok_format: false) defines a test function, "
                          "e.g. def test_shape(x): assert x.shape == (3,); add one")
    function = functions[0]
    slug = re.sub(r"[^A-Za-z0-9_]", "_", question)
    name = f"test_{slug}_{index}"
    title = f"{question}: test case {index} of {count}"
    parameters = [argument.arg for argument in function.args.args + function.args.kwonlyargs]
    # otter calls it with the student's globals of those names (env: all of them), a missing one failing it
    arguments = ", ".join(f"{parameter}=student_environment(student)" if parameter == "env"
                          else f"{parameter}=student_environment(student)[{parameter!r}]" for parameter in parameters)
    body = code + f"\n{function.name}({arguments})"
    inner = StudentNames(set(), set(), names.imported)
    return AuthoredCheck(name=name, title=title, title_ru=f"{question}: тест {index} из {count}",
                         visibility="hidden" if hidden else "public", points=points,
                         code=f'def {name}(student):\n    """{title}"""\n' + statements_body(body, inner, where))


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
                   "    with assignment_folder(__file__):  # the reference reads the support files from there\n"
                   f"        return reference_output({helper}({', '.join(names.binding(each, 'reference') for each in used)}))")
        got = f"{helper}({', '.join(names.binding(each) for each in used)})"
        body = (header + "    use_student(student)\n" + f"    expect_same_output({got}, recorded(reference, {helper}_reference),\n"
                f"                       what={expression!r}, show_expected={not hidden})")
    return AuthoredCheck(name=name, title=title, title_ru=f"{question}: тест {index} из {count}",
                         visibility="hidden" if hidden else "public", points=points, code=body, helpers=helpers)
