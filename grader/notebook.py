"""`grader.check("hw2")` in a notebook cell (and ``%grader check hw2``): the public checks on the notebook
the student is editing, the same sandbox and messages as `grader check`, shown as an HTML table.

Which notebook is graded, said with the result:

- the one named, or the one the kernel's session names (Jupyter and JupyterLab set ``__session__``,
  VS Code ``__vsc_ipynb_file__``), or ``hw2.ipynb`` in the kernel's folder: the *saved* file, with the
  time it was saved and whether the cell run last is in it (unsaved edits are not graded);
- otherwise the cells this kernel has run, in the order they ran;
- in Colab the notebook lives in Drive: the student names its path under the mounted Drive.
"""

from __future__ import annotations

import html
import os
import sys
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from grader.i18n import tr
from grader.models import CellProgress, Verdict

CHECK_CALL_MARKERS = ("grader.check(", "%grader", "%load_ext grader")


class GradedSource(BaseModel):
    """What was graded, as the result says it."""
    path: str
    kind: str  # "saved" (a notebook file), "kernel" (the cells this kernel ran) or "live" (Colab's open notebook)
    saved_at: datetime | None = None
    up_to_date: bool | None = None  # whether the cell run last is in the saved file (None: cannot tell)


class NotebookCheck:
    """A check's result in a notebook: HTML in Jupyter, text anywhere else."""

    def __init__(self, verdict: Verdict, source: GradedSource, hidden_checks: int):
        self.verdict, self.source, self.hidden_checks = verdict, source, hidden_checks

    def source_line(self) -> str:
        if self.source.kind == "live":
            return tr("graded the notebook open in Colab, as it is now")
        if self.source.kind == "kernel":
            return tr("graded the cells this kernel has run, in the order they ran (no saved notebook was found)")
        saved = self.source.saved_at.strftime("%H:%M:%S") if self.source.saved_at else "?"
        line = tr("graded the saved file {path}, saved at {time}", path=self.source.path, time=saved)
        if self.source.up_to_date is False:
            line += "; " + tr("the cell you ran last is not in it: save the notebook (Ctrl+S) and check again")
        elif self.source.up_to_date:
            line += "; " + tr("it holds the cell you ran last")
        return line

    def score_line(self) -> str:
        from grader.report.terminal import public_score_line

        return public_score_line(self.verdict, self.hidden_checks)

    def _cell_errors(self) -> list[str]:
        return [f"{cell.error.where or tr('code cell {index}', index=cell.index)}: {cell.error.type}: "
                f"{(cell.error.message.splitlines() or [''])[0]}"
                for cell in self.verdict.cells if cell.status != "ok" and cell.error is not None]

    def __repr__(self) -> str:
        lines = [self.source_line()]
        if self.verdict.status == "error":
            lines.append(f"✗ {self.verdict.message}")
        for check in self.verdict.checks:
            lines.append(f"{'✓' if check.passed else '✗'} {check.title or check.name}  "
                         f"{check.score:g}/{check.max_score:g}" + (f"  {check.message}" if check.message else ""))
        lines += self._cell_errors()
        lines.append(self.score_line())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def text(value: object) -> str:  # every string may come from the student's code
            return html.escape(str(value)).replace("\n", "<br>")

        rows = "".join(
            f"<tr><td style='color:{'green' if c.passed else 'red'}'>{'✓' if c.passed else '✗'}</td>"
            f"<td>{text(c.title or c.name)}</td><td style='text-align:right'>{c.score:g}/{c.max_score:g}</td>"
            f"<td style='text-align:left'>{text(c.message)}</td></tr>" for c in self.verdict.checks)
        parts = [f"<p><i>{text(self.source_line())}</i></p>"]
        if self.verdict.status == "error":
            parts.append(f"<p style='color:red'>✗ {text(self.verdict.message)}</p>")
        if rows:
            parts.append(f"<table><thead><tr><th></th><th>{text(tr('check'))}</th><th>{text(tr('points'))}</th>"
                         f"<th>{text(tr('feedback'))}</th></tr></thead><tbody>{rows}</tbody></table>")
        parts += [f"<p style='color:#b58900'>{text(line)}</p>" for line in self._cell_errors()]
        parts.append(f"<p><b>{text(self.score_line())}</b></p>")
        return "\n".join(parts)


def inside_sandbox() -> bool:
    """A notebook being graded calls grader.check too: in the sandbox it does nothing."""
    return "grader.sandbox.inside.student_runtime" in sys.modules


def rewrites_lines(stream) -> bool:
    """Whether ``stream`` shows a line rewritten in place (``\\r``): a terminal, or a Jupyter front end
    (ipykernel's stream, never a tty, draws it). A pipe or a log file keeps every ``\\r`` as written."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # closed, or not a real stream
        return False
    return type(stream).__module__.startswith("ipykernel.")


def print_cell(progress: CellProgress) -> None:
    """A cell's progress on stdout: its "running" line, rewritten with its outcome, where that can be
    drawn; else (a pipe, a log) one plain line per cell, when it ends."""
    if progress.state != "running":
        outcome = {"ok": tr("{seconds} s", seconds=f"{progress.seconds:.1f}"),
                   "error": tr("error ({seconds} s)", seconds=f"{progress.seconds:.1f}"),
                   "timeout": tr("did not finish within {limit} s; stopped", limit=f"{progress.limit:g}"),
                   "crashed": tr("ended the process")}[progress.state]
        print(f"▸ {progress.label} {progress.first_line} {outcome}", flush=True)
    elif progress.label and rewrites_lines(sys.stdout):
        print(f"▸ {progress.label} {progress.first_line} …", end="\r", flush=True)


def current_shell():
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def session_notebook(shell) -> Path | None:
    """The notebook this kernel belongs to, where the front end says (Jupyter's session, VS Code)."""
    names = []
    if shell is not None:
        names += [shell.user_ns.get("__vsc_ipynb_file__"), shell.user_ns.get("__session__")]
    names.append(os.environ.get("JPY_SESSION_NAME"))
    for name in names:
        if isinstance(name, str) and name.endswith(".ipynb"):
            path = Path(name)
            for candidate in (path, Path.cwd() / path.name):
                if candidate.is_file():
                    return candidate
    return None


def colab_live_notebook() -> str | None:
    """The notebook open in Colab, as the front end has it now (Colab's own ``get_ipynb`` request);
    None where that is not available. Not tried here: no Colab to run it in."""
    try:
        from google.colab import _message  # type: ignore[import-not-found]

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=15)
    except Exception:
        return None
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict):
        return None
    import json

    return json.dumps(notebook)


def _raw_history(shell) -> list[str]:
    if shell is None:
        return []
    history = list(getattr(shell.history_manager, "input_hist_raw", []) or [])
    return [cell for cell in history[1:] if cell.strip()]


def kernel_cells(shell) -> list[str]:
    """The cells this kernel ran, less the ones that call the grader."""
    return [cell for cell in _raw_history(shell) if not any(marker in cell for marker in CHECK_CALL_MARKERS)]


def holds_last_cell(path: Path, shell) -> bool | None:
    """Whether the cell the student ran last (before this check) is in the saved notebook as it ran."""
    ran = kernel_cells(shell)
    if not ran:
        return None
    try:
        import nbformat

        saved = nbformat.read(str(path), as_version=4)
    except Exception:  # the check itself reports an unreadable notebook
        return None
    sources = {cell.source.strip() for cell in saved.cells if cell.cell_type == "code"}
    return ran[-1].strip() in sources


def show(result: NotebookCheck) -> None:
    ipython = sys.modules.get("IPython")
    if ipython is not None and ipython.get_ipython() is not None:
        from IPython.display import display

        display(result)
    else:
        print(repr(result))


def load_ipython_extension(ipython) -> None:
    """``%load_ext grader``, then ``%grader check hw2 [NOTEBOOK] [--lang ru]``."""

    def grader_magic(line: str) -> None:
        words = line.split()
        lang = "en"
        if "--lang" in words:
            at = words.index("--lang")
            lang = words[at + 1] if at + 1 < len(words) else "en"
            del words[at:at + 2]
        if len(words) < 2 or words[0] != "check":
            print("usage: %grader check ASSIGNMENT [NOTEBOOK] [--lang ru]", file=sys.stderr)
            return
        from grader import check

        check(words[1], words[2] if len(words) > 2 else None, lang=lang)

    ipython.register_magic_function(grader_magic, "line", "grader")
