"""Turning verdicts into what people read: terminal tables, JSON."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

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
            where = cell.error.where or f"cell {cell.index}"
            first_line = cell.error.message.splitlines()[0] if cell.error.message else ""
            console.print(Text.assemble((tr("code cell {index}", index=cell.index), "yellow"),
                                        f" ({where}): {cell.error.type}: ", first_line))


def print_grade_summary(verdicts: list[Verdict], console: Console, title: str = "") -> None:
    table = Table(title=title or None, show_header=True, header_style="bold")
    table.add_column("student")
    table.add_column("submission", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("status")
    table.add_column("failed checks / message", overflow="fold")
    for verdict in verdicts:
        failed = ", ".join(check.name for check in verdict.checks if not check.passed)
        note = verdict.message if verdict.status == "error" else failed
        style = "red" if verdict.status == "error" else ("green" if verdict.score == verdict.max_score else "")
        table.add_row(Text(verdict.student), Text(verdict.submission),
                      f"{_score(verdict.score)}/{_score(verdict.max_score)}", Text(verdict.status, style=style),
                      Text(note))
    console.print(table)
    graded = [verdict.score for verdict in verdicts if verdict.status == "graded"]
    errors = len(verdicts) - len(graded)
    if graded:
        console.print(f"{len(verdicts)} submissions: mean {statistics.mean(graded):.2f}, median "
                      f"{statistics.median(graded):g}, {errors} error(s)")
    else:
        console.print(f"{len(verdicts)} submissions, {errors} error(s)")


def write_json(verdicts: list[Verdict], path: str | Path) -> None:
    Path(path).write_text(json.dumps([verdict.public_json() for verdict in verdicts], indent=2) + "\n")


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
