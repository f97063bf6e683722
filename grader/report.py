"""Turning verdicts into what people read: terminal tables, JSON."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader.errors import GraderError
from grader.i18n import tr
from grader.models import Verdict


def _score(value: float) -> str:
    return f"{value:g}"


def print_check_feedback(verdict: Verdict, console: Console) -> None:
    """A student's view: every check with ✓/✗, points and what went wrong."""
    if verdict.status == "error":
        console.print(Text(f"✗ {verdict.message}", style="red"))
        return
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", width=1)
    table.add_column(tr("check"))
    table.add_column(tr("points"), justify="right")
    table.add_column(tr("feedback"), overflow="fold")
    for check in verdict.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
        table.add_row(mark, Text(check.title or check.name), f"{_score(check.score)}/{_score(check.max_score)}",
                      Text(check.message))
    console.print(table)
    print_cell_errors(verdict, console)


def public_score_line(verdict: Verdict, hidden_checks: int) -> str:
    """The last line of `grader check`: the public score, and how many hidden checks also count."""
    line = tr("Public score: {score}/{max_score}.", score=_score(verdict.score), max_score=_score(verdict.max_score))
    if hidden_checks:
        line += " " + tr("{count} hidden checks run at grading time.", count=hidden_checks)
    return line


def print_cell_errors(verdict: Verdict, console: Console) -> None:
    for cell in verdict.cells:
        if cell.status != "ok" and cell.error is not None:
            # where: the cell as the student finds it, "cell 5 (In [3]), line 2" (grader.models.CodeCell.label)
            where = cell.error.where or tr("code cell {index}", index=cell.index)
            first_line = cell.error.message.splitlines()[0] if cell.error.message else ""
            console.print(Text.assemble((where, "yellow"), f": {cell.error.type}: ", first_line))


def check_names(verdicts: list[Verdict]) -> list[str]:
    """Every check that appears in the verdicts, in the order the checks run."""
    names: dict[str, None] = {}
    for verdict in verdicts:
        for check in verdict.checks:
            names.setdefault(check.name, None)
    return list(names)


def check_pass_rates(verdicts: list[Verdict]) -> list[tuple[str, float, int, int]]:
    """(check, points, passed, graded) for every check, counted over the graded verdicts."""
    graded = [verdict for verdict in verdicts if verdict.status == "graded"]
    rates = []
    for name in check_names(verdicts):
        results = [check for verdict in graded for check in verdict.checks if check.name == name]
        points = results[0].max_score if results else 0.0
        rates.append((name, points, sum(check.passed for check in results), len(results)))
    return rates


def _score_cell(verdict: Verdict) -> str:
    text = f"{_score(verdict.score)}/{_score(verdict.max_score)}"
    if verdict.penalty:
        text += f" (raw {_score(verdict.score_before_penalty)}, late −{verdict.penalty:.0%})"
    return text


def print_grade_summary(verdicts: list[Verdict], console: Console, title: str = "") -> None:
    """Students as rows, checks as numbered columns (points earned), then every check's pass rate."""
    names = check_names(verdicts)
    # A column of points per check where the terminal is wide enough; else one mark per check.
    wide = 40 + 6 * len(names) <= console.width
    table = Table(title=title or None, show_header=True, header_style="bold")
    table.add_column("student", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("status")
    if wide:
        for number in range(1, len(names) + 1):
            table.add_column(str(number), justify="right")
    elif names:
        table.add_column(f"checks 1–{len(names)}", no_wrap=True)
    table.add_column("message", overflow="fold")
    for verdict in verdicts:
        by_name = {check.name: check for check in verdict.checks}
        cells = []
        for name in names:
            check = by_name.get(name)
            if wide:
                cells.append(Text("·", style="dim") if check is None else
                             Text(_score(check.score), style="green" if check.passed else "red"))
            else:
                cells.append(Text("·", style="dim") if check is None else
                             Text("✓", style="green") if check.passed else Text("✗", style="red"))
        if not wide and names:
            cells = [Text.assemble(*cells)]
        style = "red" if verdict.status == "error" else ("green" if verdict.score == verdict.max_score else "")
        table.add_row(Text(verdict.student), _score_cell(verdict), Text(verdict.status, style=style), *cells,
                      Text(verdict.message if verdict.status == "error" else ""))
    console.print(table)
    graded = [verdict for verdict in verdicts if verdict.status == "graded"]
    if names:
        rates = Table(show_header=True, header_style="bold", title="checks")
        rates.add_column("#", justify="right")
        rates.add_column("check")
        rates.add_column("points", justify="right")
        rates.add_column("passed", justify="right")
        for number, (name, points, passed, total) in enumerate(check_pass_rates(verdicts), 1):
            rates.add_row(str(number), name, _score(points),
                          f"{passed}/{total} ({passed / total:.0%})" if total else "-")
        console.print(rates)
    errors = len(verdicts) - len(graded)
    if graded:
        scores = [verdict.score for verdict in graded]
        console.print(f"{len(verdicts)} submissions: mean {statistics.mean(scores):.2f}, median "
                      f"{statistics.median(scores):g}, {errors} error(s)")
    else:
        console.print(f"{len(verdicts)} submissions, {errors} error(s)")


def print_submission_detail(verdict: Verdict, console: Console) -> None:
    """An instructor's view of one run: every check (hidden too), cells, output, layers, timings."""
    console.print(Text.assemble(("student ", "bold"), verdict.student, ("   file ", "bold"), verdict.submission),
                  soft_wrap=True)
    console.print(f"status {verdict.status}   score {_score_cell(verdict)}   graded "
                  f"{verdict.started_at:%Y-%m-%d %H:%M:%S %Z} in {verdict.duration:.2f} s on {verdict.device}   "
                  f"grader {verdict.grader_version}   code {verdict.sha256[:12]}", soft_wrap=True)
    if verdict.submitted_at is not None:
        late = (f"late by {_duration(verdict.late_seconds)}, penalty {verdict.penalty:.0%}"
                if verdict.late_seconds > 0 else "on time")
        console.print(f"submitted {verdict.submitted_at:%Y-%m-%d %H:%M:%S %Z}: {late}", soft_wrap=True)
    if verdict.status == "error":
        console.print(Text(f"✗ {verdict.message}", style="red"), soft_wrap=True)
    if verdict.checks:
        table = Table(show_header=True, header_style="bold", title="checks")
        for name, justify in (("", "left"), ("check", "left"), ("", "left"), ("points", "right"),
                              ("seconds", "right"), ("feedback", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        for check in verdict.checks:
            table.add_row(Text("✓", style="green") if check.passed else Text("✗", style="red"), check.name,
                          check.visibility, f"{_score(check.score)}/{_score(check.max_score)}",
                          f"{check.seconds:.3f}", Text(check.message))
        console.print(table)
    if verdict.cells:
        cells = Table(show_header=True, header_style="bold", title="code cells")
        for name in ("cell", "status", "seconds", "error"):
            cells.add_column(name, overflow="fold")
        for cell in verdict.cells:
            error = f"{cell.error.type}: {cell.error.message}" if cell.error else ""
            cells.add_row(str(cell.index), cell.status, f"{cell.seconds:.3f}", Text(error))
        console.print(cells)
    if verdict.layers:
        from grader.sandbox.layers import LAYER_NAMES

        held = [key for key in LAYER_NAMES if verdict.layers.get(key)]
        missing = [key for key in LAYER_NAMES if key in verdict.layers and not verdict.layers.get(key)]
        console.print(Text.assemble(("sandbox layers held: ", "bold"), ", ".join(held) or "none",
                                    *((("   missing: ", "bold"), ", ".join(missing)) if missing else ())),
                      soft_wrap=True)
    for name, text in (("stdout", verdict.stdout), ("stderr", verdict.stderr)):
        if text.strip():
            lines = text.rstrip().splitlines()
            shown = lines[-40:]
            console.print(Text(f"{name} ({len(lines)} lines" + (", the last 40" if len(lines) > 40 else "") + "):",
                               style="bold"))
            console.print(Text("\n".join(shown)), soft_wrap=True)


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def print_history(verdicts: list[Verdict], console: Console) -> None:
    table = Table(show_header=True, header_style="bold")
    for name in ("graded at", "file", "code", "status", "score", "device", "grader", "seconds"):
        table.add_column(name, overflow="fold")
    for verdict in verdicts:
        table.add_row(f"{verdict.started_at:%Y-%m-%d %H:%M:%S}", Text(verdict.submission), verdict.sha256[:12],
                      verdict.status, _score_cell(verdict), verdict.device, verdict.grader_version,
                      f"{verdict.duration:.2f}")
    console.print(table)
    console.print(f"{len(verdicts)} runs")


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (file names and messages come from students)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(verdicts: list[Verdict], path: str | Path) -> None:
    names = check_names(verdicts)
    with open(writable(path), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "submission", "status", "submitted_at", "late_hours", "penalty", "raw_score",
                         *names, "score", "max_score", "message"])
        for verdict in verdicts:
            by_name = {check.name: check.score for check in verdict.checks}
            writer.writerow([
                _spreadsheet_safe(verdict.student), _spreadsheet_safe(verdict.submission), verdict.status,
                verdict.submitted_at.isoformat() if verdict.submitted_at else "",
                round(verdict.late_seconds / 3600, 2), verdict.penalty, _score(verdict.score_before_penalty),
                *(_score(by_name[name]) if name in by_name else "" for name in names),
                _score(verdict.score), _score(verdict.max_score),
                _spreadsheet_safe(verdict.message if verdict.status == "error" else "")])


def writable(path: str | Path) -> Path:
    """``path``, once it is known a file can be written there; else a GraderError naming the fix."""
    path = Path(path)
    if not path.parent.is_dir():
        raise GraderError(f"cannot write {path}: folder {path.parent} does not exist; create it or choose another path")
    if path.is_dir():
        raise GraderError(f"cannot write {path}: it is a folder; name a file")
    return path


def write_json(verdicts: list[Verdict], path: str | Path) -> None:
    writable(path).write_text(json.dumps([verdict.public_json() for verdict in verdicts], indent=2) + "\n")


def print_validation(validation, console: Console) -> None:
    reference = validation.reference
    mark = "[green]✓[/green]" if validation.reference_full_marks else "[red]✗[/red]"
    console.print(f"{mark} reference solution: {_score(reference.score)}/{_score(reference.max_score)}"
                  + (f" ({reference.message})" if reference.message else ""))
    for check in reference.checks:
        if not check.passed:
            console.print(Text.assemble("    ", (check.name, "red"), f": {check.message}"))
    for cell in reference.cells:
        if cell.status != "ok" and cell.error is not None:
            console.print(Text(f"    cell {cell.index}: {cell.error.type}: {cell.error.message}"))
    table = Table(show_header=True, header_style="bold", title=f"{validation.assignment}: mutants")
    table.add_column("", width=1)
    table.add_column("mutant")
    table.add_column("what is wrong", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("caught by", overflow="fold")
    for mutant in validation.mutants:
        table.add_row(Text("✓", style="green") if mutant.caught else Text("✗", style="red"), Text(mutant.name),
                      Text(mutant.description), f"{_score(mutant.score)}/{_score(mutant.max_score)}",
                      ", ".join(mutant.caught_by) or Text("nothing: add a check", style="red"))
    console.print(table)
    caught = sum(mutant.caught for mutant in validation.mutants)
    console.print(f"{caught}/{len(validation.mutants)} mutants caught; "
                  + ("the checks hold." if validation.ok else "[red]the checks need work.[/red]"))


class BatchProgress:
    """A progress bar with counts, rate and ETA on a terminal; silent otherwise."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=console, disable=not console.is_terminal,
                                 transient=False)
        self.task = None
        self.skipped = 0

    def __enter__(self) -> "BatchProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
        if self.skipped:
            self.console.print(f"{self.skipped} unchanged since their last stored run: not graded again "
                               "(--regrade to force)")

    def start(self, to_grade: int, skipped: int) -> None:
        self.skipped = skipped
        self.task = self.progress.add_task("grading", total=to_grade, rate="")

    def advance(self, _verdict: Verdict) -> None:
        if self.task is None:
            return
        self.progress.advance(self.task)
        task = self.progress.tasks[0]
        if task.elapsed:
            self.progress.update(self.task, rate=f"{task.completed / task.elapsed:.1f}/s")
