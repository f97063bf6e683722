"""An assignment folder from a :class:`Master`: every file as text, then written or compared.

Paths are relative to the course folder (``OUT_DIR/../..``): ``assignments/<id>/...`` and
``reference_solutions/<id>.py``. The output depends only on the master, so `grader author
--check` can render again and compare byte for byte.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.authoring.model import AuthoredCheck, Master

CHECK_HEADER = ("# Written by `grader author` from the master notebook {master}; edit the master, then run\n"
                "# grader author {master} assignments/{id}  (grader author --check says whether this file is stale)\n")


def render(master: Master, master_name: str) -> dict[str, str]:
    home = f"assignments/{master.id}"
    header = CHECK_HEADER.format(master=master_name, id=master.id)
    files = {
        f"{home}/assignment.toml": header + dump_toml(_spec(master)),
        f"{home}/README.md": master.readme(),
        f"{home}/{master.id}.ipynb": _template(master),
        f"reference_solutions/{master.id}.py": header + master.reference,
    }
    for visibility in ("public", "hidden"):
        checks = [check for check in master.checks if check.visibility == visibility]
        if checks:
            files[f"{home}/checks/{visibility}/test_{master.id}_{visibility}.py"] = header + _check_file(master, checks)
    public = [check for check in master.checks if check.visibility == "public"]
    if public:
        files[f"{home}/checks/public/messages.ru.toml"] = header + _catalogue(public, master.catalogue_ru, "public")
    hidden = [check for check in master.checks if check.visibility == "hidden"]
    if any(check.title_ru for check in hidden) or master.catalogue_ru_hidden:
        files[f"{home}/checks/hidden/messages.ru.toml"] = header + _catalogue(hidden, master.catalogue_ru_hidden,
                                                                              "hidden")
    if master.mistakes:
        files[f"{home}/mistakes.toml"] = header + _mistakes(master)
    return files


def owned_folders(assignment: str) -> list[str]:
    """Folders whose check files and catalogues the author writes, so a stale one is its to report."""
    return [f"assignments/{assignment}/checks/public", f"assignments/{assignment}/checks/hidden"]


def _spec(master: Master) -> dict:
    spec = {"title": master.config.get("title", master.id), "notebook": f"{master.id}.ipynb",
            "points": _number(master.points)}
    spec.update({key: value for key, value in master.config.items() if key != "title"})
    return spec


def _number(value: float) -> int | float:
    return int(round(value)) if abs(value - round(value)) < 1e-9 else value


def _template(master: Master) -> str:
    cells = []
    for number, cell in enumerate(master.template, start=1):
        made = new_code_cell(cell.source) if cell.kind == "code" else new_markdown_cell(cell.source)
        made["id"] = f"cell-{number}"
        cells.append(made)
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return nbformat.writes(notebook) + "\n"


def _check_file(master: Master, checks: list[AuthoredCheck]) -> str:
    imports = ["import pytest"]
    for line in master.imports:
        if line not in imports:
            imports.append(line)
    imports.append("from grader.assertions import expect_close, expect_equal, fail")
    imports.append("from grader.authoring.runtime import (assignment_folder, expect_same_output, failure_message,\n"
                   "                                      reference_output, student_callable, student_environment,\n"
                   "                                      student_value, use_student)")
    imports.append("from grader.replay import recorded")
    if master.format != "grader":  # nbgrader's and otter's tests use torch.optim on the student's objects
        imports.append("from grader.authoring.runtime import torch_objects_in_the_sandbox")
        imports.append("")
        imports.append("torch_objects_in_the_sandbox(globals())")
    lines = imports + [""]
    for check in checks:
        lines.append("")
        if check.helpers:
            lines += [check.helpers, "", ""]
        lines.append(f"@pytest.mark.points({_number(check.points)!r})")
        lines.append(check.code)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _catalogue(checks: list[AuthoredCheck], texts: dict[str, str], visibility: str) -> str:
    entries = {check.title: check.title_ru for check in checks if check.title_ru}
    entries.update(texts)
    used_by = "grader check --lang ru" if visibility == "public" else "grader grade --lang ru; never released"
    lines = [f"# Russian for the {visibility} checks ({used_by}): derived from the master notebook."]
    lines += [f"{_string(english)} = {_string(russian)}" for english, russian in entries.items()]
    return "\n".join(lines) + "\n"


def _mistakes(master: Master) -> str:
    lines = ["# Planted mistakes for `grader validate`: edits to the reference solution, each must lose points."]
    for mistake in master.mistakes:
        lines += ["", "[[mistake]]", f"name = {_string(mistake.name)}", f"description = {_string(mistake.description)}"]
        for edit in mistake.edits:
            lines += ["[[mistake.edit]]", f"find = {_string(edit.find)}", f"replace = {_string(edit.replace)}"]
            if edit.occurrence is not None:
                lines.append(f"occurrence = {edit.occurrence}")
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise ValueError(f"{value!r} is not a TOML value this writer knows")


def dump_toml(data: dict, prefix: str = "") -> str:
    """A dict of scalars, lists of scalars and tables as TOML (what assignment.toml holds)."""
    plain = [f"{key} = {_value(value)}" for key, value in data.items() if not isinstance(value, dict)]
    text = "\n".join(plain) + ("\n" if plain else "")
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}{key}"
            text += f"\n[{name}]\n" + dump_toml(value, prefix=f"{name}.")
    return text


def write(files: dict[str, str], course: Path, assignment: str) -> list[str]:
    """Write ``files`` under ``course``; remove the check files of earlier runs that are no longer made."""
    for folder in owned_folders(assignment):
        for path in sorted((course / folder).glob("*")) if (course / folder).is_dir() else []:
            relative = path.relative_to(course).as_posix()
            if path.is_file() and relative not in files and (path.suffix == ".py" or path.name.startswith("messages.")):
                path.unlink()
    for relative, text in files.items():
        path = course / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(files)


def differences(files: dict[str, str], course: Path, assignment: str) -> list[str]:
    """What differs between the folder and what the master makes now, one line each."""
    found = []
    for relative, text in sorted(files.items()):
        path = course / relative
        if not path.is_file():
            found.append(f"{relative}: missing")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"{relative}: differs from what the master makes")
    for folder in owned_folders(assignment):
        if (course / folder).is_dir():
            for path in sorted((course / folder).iterdir()):
                relative = path.relative_to(course).as_posix()
                if path.is_file() and relative not in files and (path.suffix == ".py"
                                                                 or path.name.startswith("messages.")):
                    found.append(f"{relative}: not made by the master (an old check file?)")
    mistakes = f"assignments/{assignment}/mistakes.toml"
    if mistakes not in files and (course / mistakes).is_file():
        found.append(f"{mistakes}: not made by the master")
    return found
