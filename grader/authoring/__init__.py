"""`grader author`: one master notebook in, an assignment folder out (or a report of what drifted).

Three formats are read (one module each): ours (:mod:`grader.authoring.ours`), nbgrader's
(:mod:`grader.authoring.nbgrader`) and otter's (:mod:`grader.authoring.otter`); each gives a
:class:`~grader.authoring.model.Master`, which :mod:`grader.authoring.writer` renders.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from grader.authoring import nbgrader, otter, ours, writer
from grader.authoring.model import Master
from grader.errors import GraderError

FORMATS = ("auto", "grader", "nbgrader", "otter")


class AuthoringReport(BaseModel):
    assignment: str
    format: Literal["grader", "nbgrader", "otter"]
    folder: str
    files: list[str]
    checks: int
    points: float
    mistakes: int
    differences: list[str] = []  # --check: what no longer matches the master; empty when it does
    untranslated: list[str] = []  # public texts the master gives no Russian for (shown in English)
    manual: list[str] = []  # questions the master grades by hand: not scored here

    @property
    def up_to_date(self) -> bool:
        return not self.differences


def read_master(source: Path, assignment: str, fmt: str = "auto") -> Master:
    """The master notebook ``source`` as a :class:`Master`, in its own format or ``fmt``."""
    if fmt not in FORMATS:
        raise GraderError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if not source.is_file():
        raise GraderError(f"{source}: no such file; name the master notebook: grader author MASTER.ipynb OUT_DIR")
    try:
        notebook = json.loads(source.read_text(encoding="utf-8"))
        cells = [{"cell_type": cell["cell_type"], "metadata": cell.get("metadata") or {},
                  "source": "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]}
                 for cell in notebook["cells"]]
        metadata = notebook.get("metadata") or {}
        language = str((metadata.get("kernelspec") or {}).get("language")
                       or (metadata.get("language_info") or {}).get("name") or "python")
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise GraderError(f"{source}: not a readable notebook ({error}); save it again from Jupyter") from None
    if language.lower() != "python":
        raise GraderError(f"{source}: a {language} notebook; grader author reads Python masters only "
                          "(the checks run Python)")
    if fmt == "auto":
        fmt = ("nbgrader" if nbgrader.is_nbgrader(cells) else "otter" if otter.is_otter(cells)
               else "grader" if ours.is_ours(cells) else None)
        if fmt is None and otter.is_otter_v0(cells):
            raise GraderError(f"{source}: otter's v0 format (BEGIN QUESTION in a Markdown code block); grader author "
                              "reads v1 (raw cells # BEGIN QUESTION ...): convert it with "
                              "python3 -m otter.assign.v0.convert, then author the converted notebook")
        if fmt is None:
            raise GraderError(f"{source}: no grader, nbgrader or otter markers found; see docs/writing-checks.md, "
                              "\"One master notebook\"")
    reader = {"grader": ours.read, "nbgrader": nbgrader.read, "otter": otter.read}[fmt]
    return reader(cells, assignment, str(source))


def author_assignment(source: str | Path, out: str | Path, check: bool = False, fmt: str = "auto",
                      force: bool = False) -> AuthoringReport:
    """What `grader author` does: write ``out`` (``.../assignments/<id>``) and ``../../reference_solutions/<id>.py``
    from the master notebook ``source``; with ``check``, write nothing and report what differs. A folder
    that grader author did not write is not replaced unless ``force``."""
    source, out = Path(source), Path(out)
    assignment = out.resolve().name
    if out.resolve().parent.name != "assignments":
        raise GraderError(f"{out}: name the assignment's folder inside an assignments/ folder, e.g. "
                          f"assignments/{assignment}; the reference solution goes to reference_solutions/ beside it")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", assignment):
        raise GraderError(f"{out}: an assignment's folder is named with letters, digits, _ and - only "
                          "(its name is the assignment's id), e.g. assignments/hw6")
    try:
        master = read_master(source, assignment, fmt)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise GraderError(f"{source}: {where}: {first['msg']}; fix the master notebook") from None
    files = writer.render(master, source.name)
    course = out.resolve().parent.parent
    differences = writer.differences(files, course, assignment) if check else []
    if check:
        differences += [f"assignments/{assignment}/{name}: differs from the master's {Path(path).name}"
                        for name, path in master.files.items()
                        if not (out / name).is_file() or (out / name).read_bytes() != Path(path).read_bytes()]
    if not check:
        spec_file = out / "assignment.toml"
        if spec_file.is_file() and not force and not spec_file.read_text(errors="replace").startswith(
                writer.CHECK_HEADER.split("{", 1)[0]):
            raise GraderError(f"{spec_file} was not written by grader author; writing would replace a hand-made "
                              "assignment: name a new folder, or pass --force")
        writer.write(files, course, assignment)
        for name, path in master.files.items():  # support files the master lists, copied as they are
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(path).read_bytes())
    return AuthoringReport(assignment=assignment, format=master.format, folder=str(out), files=sorted(files),
                           checks=len(master.checks), points=master.points, mistakes=len(master.mistakes),
                           differences=differences, untranslated=untranslated(master),
                           manual=master.manual)


def untranslated(master: Master) -> list[str]:
    """The public checks' texts a student reads (titles, literal hints and fail() messages) that the
    master gives no Russian for."""
    import ast

    russian = dict(master.catalogue_ru)
    russian.update({check.title: check.title_ru for check in master.checks if check.title_ru})
    missing: list[str] = []
    for check in master.checks:
        if check.visibility != "public":
            continue
        texts = [check.title]
        for node in ast.walk(ast.parse(check.helpers + "\n" + check.code)):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                arguments = node.args[:2] if name == "fail" else node.args[:1] if name == "tr" else []
                arguments += [keyword.value for keyword in node.keywords if keyword.arg == "hint"]
                texts += [argument.value for argument in arguments
                          if isinstance(argument, ast.Constant) and isinstance(argument.value, str)]
        missing += [text for text in texts if text not in russian and text not in missing]
    return missing
