"""Pull the code out of a submission: a notebook's code cells, or a ``.py`` file.

IPython syntax never runs: ``%magic`` and ``!shell`` lines become ``pass``, a cell magic
drops its cell (``%%time``-like magics keep their body), ``obj?`` help lines go too.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat

from grader.models import CodeCell, ExtractedSubmission
from grader.spec import AssignmentSpec


class ExtractionError(Exception):
    """The file is not a submission we can read; the message is one line for the report."""


BODY_KEEPING_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_HELP_LINE = re.compile(r"^\s*\??[A-Za-z_][\w.]*\?{1,2}\s*$")
_PY_CELL_MARKER = re.compile(r"^#\s*(%%|In\s*\[.*\]\s*:)")


def student_name(path: Path, spec: AssignmentSpec) -> str:
    from grader.intake.identity import identify, shown_name  # the one place that decides a student

    return identify(shown_name(path.name), spec).student


def neutralise(source: str) -> tuple[str, list[str]]:
    """Return the cell's code with IPython-only syntax replaced, and notes of what was replaced."""
    notes: list[str] = []
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic in BODY_KEEPING_CELL_MAGICS:
            notes.append(f"%%{magic} removed, cell body kept")
            lines = [""] + lines[1:]
        else:
            notes.append(f"%%{magic} cell not run")
            return "pass" + "\n" * max(len(lines) - 1, 0), notes
    output = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")):
            notes.append(f"not run: {stripped[:60]}")
            output.append(f"{indent}pass")
        elif _ASSIGNED_MAGIC.match(line):
            match = _ASSIGNED_MAGIC.match(line)
            notes.append(f"not run: {stripped[:60]}")
            output.append(f"{match.group(1)}{match.group(2)} = None")
        elif _HELP_LINE.match(line):
            notes.append(f"not run: {stripped[:60]}")
            output.append(f"{indent}pass")
        else:
            output.append(line)
    return "\n".join(output), notes


def _read_limited(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ExtractionError(f"{path}: no such file") from None
    except OSError as error:
        raise ExtractionError(f"{path}: cannot read ({error.strerror})") from None
    if size > max_bytes:
        raise ExtractionError(f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit "
                              "for a submission; clear the outputs (Kernel > Restart & Clear Output) and save")
    with path.open("rb") as handle:
        return handle.read(max_bytes + 1)


def notebook_cells(raw: bytes, path: Path) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExtractionError(f"{path}: not a notebook (not UTF-8 text); hand in the .ipynb file saved "
                              "by Jupyter") from None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise ExtractionError(f"{path}: not a notebook (invalid JSON at line {error.lineno}, column "
                              f"{error.colno}); re-save it from Jupyter") from None
    except RecursionError:
        raise ExtractionError(f"{path}: not a notebook (JSON nested too deeply); re-save it from Jupyter") from None
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for malformed notebooks
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise ExtractionError(f"{path}: not a valid notebook ({reason}); re-save it from Jupyter") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ExtractionError(f"{path}: not a valid notebook (no cells); re-save it from Jupyter")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        sources.append(str(source))
    return sources


def python_cells(raw: bytes, path: Path) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExtractionError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    cells: list[list[str]] = [[]]
    for line in text.splitlines():
        if _PY_CELL_MARKER.match(line) and cells[-1]:
            cells.append([])
        cells[-1].append(line)
    return ["\n".join(lines) for lines in cells if any(line.strip() for line in lines)]


def extract_submission(path: str | Path, spec: AssignmentSpec) -> ExtractedSubmission:
    path = Path(path)
    if path.is_dir():
        raise ExtractionError(f"{path}: is a folder, not a notebook")
    raw = _read_limited(path, int(spec.extraction.max_notebook_mb * 1e6))
    if path.suffix == ".py":
        kind, sources = "python", python_cells(raw, path)
    else:
        kind, sources = "notebook", notebook_cells(raw, path)
    cells, notes, digest = [], [], hashlib.sha256()
    for index, source in enumerate(sources, start=1):
        code, cell_notes = neutralise(source)
        notes.extend(f"cell {index}: {note}" for note in cell_notes)
        cells.append(CodeCell(index=index, source=code))
        digest.update(code.encode())
        digest.update(b"\0")
    return ExtractedSubmission(path=str(path), student=student_name(path, spec), sha256=digest.hexdigest(),
                               kind=kind, cells=cells, notes=notes)
