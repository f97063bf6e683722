"""Pull the code out of a submission: a notebook's code cells, or a ``.py`` file.

Only code is kept: outputs and attachments are dropped while the JSON is parsed, so a
notebook full of plots costs what its code costs; the code itself is capped (cells and
bytes). Lines are split where Python splits them (``\\n``, ``\\r\\n``, ``\\r``), never
on the other breaks ``str.splitlines`` knows (U+2028 in a pasted comment, form feeds).

IPython syntax never runs: ``%magic`` and ``!shell`` lines become ``pass``, a cell magic
drops its cell (``%%time``-like magics keep their body), ``obj?`` help lines go too. One
cell magic is carried out instead: ``%%writefile NAME`` (``-a`` to append) becomes code
that writes its file into the sandbox's working folder, as Jupyter would have.

The assignment's support files (``support_files`` in assignment.toml) travel with the
submission as one set-up cell, run first, that writes them into the working folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shlex
import warnings
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from grader.models import CodeCell, ExtractedSubmission
from grader.spec import AssignmentSpec


class ExtractionError(Exception):
    """The file is not a submission we can read; the message is one line for the report."""


# The code a submission may hand in: far above any honest homework (a course notebook has some
# 50 code cells and 20 kB of code), far below what makes the sandbox's cell-by-cell run a burden.
MAX_CODE_CELLS = 1000
MAX_CODE_BYTES = 2_000_000

BODY_KEEPING_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
FILE_WRITING_CELL_MAGICS = {"writefile", "file"}  # %%file is IPython's older name for %%writefile
_ASSIGNED_MAGIC = re.compile(r"^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[!%]")
_HELP_LINE = re.compile(r"^\s*\??[A-Za-z_][\w.]*\?{1,2}\s*$")
_PY_CELL_MARKER = re.compile(r"^#\s*(%%|In\s*\[.*\]\s*:)")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line ends of Python's tokenizer, and no others
_SAFE_FILE_NAME = re.compile(r"^[\w.\-/]+$")


class SourceCell(NamedTuple):
    """A code cell as read from the file, before IPython syntax is neutralised."""

    source: str
    position: int | None = None
    execution_count: int | None = None


def student_name(path: Path, spec: AssignmentSpec) -> str:
    from grader.intake.identity import identify, shown_name  # the one place that decides a student

    return identify(shown_name(path.name), spec).student


def split_lines(source: str) -> list[str]:
    """``source.splitlines()`` as Python's tokenizer sees lines: U+2028, form feeds etc. stay in their line."""
    lines = _LINE_BREAK.split(source)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def writefile_target(magic_line: str) -> tuple[str, bool] | None:
    """(file name, append) for ``%%writefile [-a] NAME`` naming a file inside the working folder, else None."""
    try:
        words = shlex.split(magic_line.strip()[2:])
    except ValueError:
        return None
    if not words or words[0] not in FILE_WRITING_CELL_MAGICS:
        return None
    append = any(word in ("-a", "--append") for word in words[1:])
    names = [word for word in words[1:] if word not in ("-a", "--append")]
    if len(names) != 1 or not _SAFE_FILE_NAME.match(names[0]):  # no $var, {var}, ~ or options we do not know
        return None
    name = PurePosixPath(names[0])
    if name.is_absolute() or ".." in name.parts or names[0].startswith("-") or not name.name:
        return None
    return str(name), append


def _writefile_code(name: str, body: str, append: bool) -> str:
    mode = "a" if append else "w"
    return (f"with __import__('builtins').open({name!r}, {mode!r}, encoding='utf-8') as __grader_file:\n"
            f"    __grader_file.write({body!r})\n"
            "del __grader_file\n"
            "__import__('importlib').invalidate_caches()\n")


def neutralise(source: str) -> tuple[str, list[str]]:
    """Return the cell's code with IPython-only syntax replaced, and notes of what was replaced."""
    notes: list[str] = []
    lines = split_lines(source)
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(maxsplit=1)[0] if lines[0].strip() != "%%" else ""
        if magic in BODY_KEEPING_CELL_MAGICS:
            notes.append(f"%%{magic} removed, cell body kept")
            lines = [""] + lines[1:]
        elif magic in FILE_WRITING_CELL_MAGICS and writefile_target(lines[0]):
            name, append = writefile_target(lines[0])
            first_break = _LINE_BREAK.search(source)
            body = source[first_break.end():] if first_break else ""
            notes.append(f"%%{magic} {name}: the file is written into the working folder")
            return _writefile_code(name, body, append), notes
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


def _without_outputs(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object as parsed, less a cell's outputs and attachments (they are not code).

    Called as each object is finished, so a cell's plots are freed before the next cell is read.
    """
    item = dict(pairs)
    if "cell_type" in item:
        if "outputs" in item:
            item["outputs"] = []  # nbformat wants the key on a code cell
        item.pop("attachments", None)
    return item


def _parse_notebook(text: str, path: Path) -> dict:
    try:
        data = json.loads(text, object_pairs_hook=_without_outputs)
    except json.JSONDecodeError as error:
        raise ExtractionError(f"{path}: not a notebook (invalid JSON at line {error.lineno}, column "
                              f"{error.colno}); re-save it from Jupyter") from None
    except RecursionError:
        raise ExtractionError(f"{path}: not a notebook (JSON nested too deeply); re-save it from Jupyter") from None
    if not isinstance(data, dict):
        raise ExtractionError(f"{path}: not a valid notebook (not a JSON object); re-save it from Jupyter")
    # A version-4 notebook is read as it is (its cells' shape is checked by the caller); nbformat
    # upgrades older ones. nbformat's schema validation is not run: it only logged its findings (and
    # warned on stderr, MissingIDFieldWarning), and over 100,000 cells it took seconds.
    major, minor = data.get("nbformat", 1), data.get("nbformat_minor", 0)
    if major == 4:
        return data
    import nbformat  # only for notebooks older than version 4: it imports jsonschema, a tenth of a second

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if major not in nbformat.versions:
                raise ValueError(f"unsupported nbformat version {str(major)[:20]}")
            notebook = nbformat.versions[major].to_notebook_json(data, minor=minor)
            return nbformat.convert(notebook, 4)
    except Exception as error:  # nbformat raises several kinds for malformed notebooks
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
        raise ExtractionError(f"{path}: not a valid notebook ({reason}); re-save it from Jupyter") from None


def read_notebook_code(raw: bytes, path: Path) -> list[SourceCell]:
    """The code cells of a notebook file, with where the student sees each one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExtractionError(f"{path}: not a notebook (not UTF-8 text); hand in the .ipynb file saved "
                              "by Jupyter") from None
    notebook = _parse_notebook(text, path)
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ExtractionError(f"{path}: not a valid notebook (no cells); re-save it from Jupyter")
    found = []
    for position, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        count = cell.get("execution_count")
        count = count if type(count) is int and 0 <= count < 10**9 else None
        found.append(SourceCell(str(source), position, count))
    return found


def notebook_cells(raw: bytes, path: Path) -> list[str]:
    return [cell.source for cell in read_notebook_code(raw, path)]


def python_cells(raw: bytes, path: Path) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ExtractionError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    cells: list[list[str]] = [[]]
    for line in split_lines(text):
        if _PY_CELL_MARKER.match(line) and cells[-1]:
            cells.append([])
        cells[-1].append(line)
    return ["\n".join(lines) for lines in cells if any(line.strip() for line in lines)]


def check_code_size(path: Path, cells: list[SourceCell]) -> None:
    if len(cells) > MAX_CODE_CELLS:
        raise ExtractionError(f"{path} has {len(cells)} code cells; the limit is {MAX_CODE_CELLS} "
                              "(merge small cells or delete scratch cells)")
    try:
        size = sum(len(cell.source.encode("utf-8")) for cell in cells)
    except UnicodeEncodeError:
        raise ExtractionError(f"{path}: its code holds a character that is not valid text (a lone surrogate); "
                              "re-save it from Jupyter") from None
    if size > MAX_CODE_BYTES:
        raise ExtractionError(f"{path} has {size / 1e6:.1f} MB of code; the limit is {MAX_CODE_BYTES / 1e6:g} MB "
                              "of code (outputs do not count; load data from a file instead of pasting it)")


def support_files_cell(spec: AssignmentSpec) -> CodeCell | None:
    """The set-up cell that writes the assignment's support files (read-only) into the working folder."""
    files = spec.student_support_files()
    if not files:
        return None
    entries = "".join(f"    ({name!r}, {base64.b64encode(path.read_bytes()).decode()!r}),\n" for name, path in files)
    source = ("def __grader_write_support_files(files):\n"
              "    import base64, os\n"
              "    for name, data in files:\n"
              "        if os.path.dirname(name):\n"
              "            os.makedirs(os.path.dirname(name), exist_ok=True)\n"
              "        with open(name, 'wb') as handle:\n"
              "            handle.write(base64.b64decode(data))\n"
              "        os.chmod(name, 0o444)\n"
              f"__grader_write_support_files([\n{entries}])\n"
              "del __grader_write_support_files\n")
    return CodeCell(index=0, source=source, setup=True)


def extract_submission(path: str | Path, spec: AssignmentSpec) -> ExtractedSubmission:
    path = Path(path)
    if path.is_dir():
        raise ExtractionError(f"{path}: is a folder, not a notebook")
    raw = _read_limited(path, int(spec.extraction.max_notebook_mb * 1e6))
    if path.suffix == ".py":
        kind = "python"
        sources = [SourceCell(source, index) for index, source in enumerate(python_cells(raw, path), start=1)]
    else:
        kind, sources = "notebook", read_notebook_code(raw, path)
    del raw
    return build_submission(str(path), student_name(path, spec), kind, sources, spec)


def python_submission(label: str, student: str, text: str, spec: AssignmentSpec) -> ExtractedSubmission:
    """Python source held in memory (a planted mistake), extracted as a ``.py`` file of that text would be."""
    cells = python_cells(text.encode("utf-8"), Path(label))
    return build_submission(label, student, "python",
                            [SourceCell(source, index) for index, source in enumerate(cells, start=1)], spec)


def build_submission(path: str, student: str, kind: str, sources: list[SourceCell],
                     spec: AssignmentSpec) -> ExtractedSubmission:
    """The cells the sandbox runs (support files first, IPython syntax neutralised) and their hash."""
    check_code_size(Path(path), sources)
    cells, notes, digest = [], [], hashlib.sha256()
    setup = support_files_cell(spec)
    if setup is not None:
        cells.append(setup)
        digest.update(setup.source.encode())
        digest.update(b"\0")
    for index, found in enumerate(sources, start=1):
        code, cell_notes = neutralise(found.source)
        cell = CodeCell(index=index, source=code, position=found.position, execution_count=found.execution_count)
        notes.extend(f"{cell.label}: {note}" for note in cell_notes)
        cells.append(cell)
        digest.update(code.encode())
        digest.update(b"\0")
    return ExtractedSubmission(path=path, student=student, sha256=digest.hexdigest(), kind=kind, cells=cells,
                               notes=notes)
