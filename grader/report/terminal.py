"""What people read in a terminal: a student's feedback, the instructor's tables, the progress bar.

Every string from a verdict reaches the console as a ``rich.text.Text`` (never markup) of
``terminal_line`` (a cell, a name, a message: one line; a check's feedback cell puts its
hint on a line of its own within the cell) or ``terminal_block`` (a submission's output), so no
escape sequence, carriage return or bidi override a student wrote acts on the instructor's
terminal, and no name draws a row of its own.
"""

from __future__ import annotations

import functools
import re

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader.i18n import tr
from grader.models import CellProgress, Verdict
from grader.report.format import (ADJUSTED_LEGEND, adjustment_line, counted, duration, final_score, fraction,
                                  score)
from grader.report.stats import check_names, check_pass_rates, score_summary
from grader.report.untrusted import terminal_block, terminal_line


def inert(text: object, style: str = "") -> Text:
    """Untrusted text as one inert line of a table cell or a message."""
    return Text(terminal_line(str(text)), style=style)


HINT_LINE = "Hint: {hint}"  # how every check's message writes its hint, on a line after the cause (tr'd)


@functools.cache  # read the catalogues at the first feedback table, not when the CLI imports this module
def _before_a_hint() -> re.Pattern:
    """The line break before a hint ("cause\nHint: fix"), in every language a message can come in: the words
    before ``{hint}`` in ``HINT_LINE`` and in each catalogue's translation of it."""
    from grader.i18n import LANGUAGES, LOCALE_DIR, load_catalog

    lines = [HINT_LINE] + [load_catalog(LOCALE_DIR / f"{language}.toml").get(HINT_LINE, HINT_LINE)
                           for language in LANGUAGES if language != "en"]
    prefixes = sorted({line.split("{hint}")[0] for line in lines if line.split("{hint}")[0]})
    return re.compile(r"\n(?=(?:" + "|".join(map(re.escape, prefixes)) + "))")



def feedback_cell(message: str) -> Text:
    """A check's feedback in its table cell: the hint on a line of its own, every other break shown as ``\\n``.

    The break stays inside the cell (a cell's lines are its own), so it cannot draw a row or a score line.
    """
    return Text("\n".join(terminal_line(part) for part in _before_a_hint().split(str(message))))


class CellLines:
    """`grader check`'s live view: a line per cell as it runs, which cell and how long.

    The line starts when the cell starts (so a cell that loops forever is on screen at once) and
    ends with its outcome; ``on_cell`` is the callback for ``check_notebook``.
    """

    def __init__(self, console: Console):
        self.console = console
        self.open = False

    def on_cell(self, progress: CellProgress) -> None:
        if progress.state == "running":
            self._end_line()
            self.console.print(Text.assemble(("▸ ", "dim"), inert(progress.label), " ",
                                             inert(progress.first_line, "dim"), " "), end="", soft_wrap=True)
            self.open = True
        else:
            if not self.open:  # the cell's start was not shown (it ended the process at once)
                self.console.print(Text.assemble(("▸ ", "dim"), inert(progress.label), " "), end="", soft_wrap=True)
            outcome = {
                "ok": Text(tr("{seconds} s", seconds=f"{progress.seconds:.1f}"), style="green"),
                "error": Text(tr("error ({seconds} s)", seconds=f"{progress.seconds:.1f}"), style="yellow"),
                "timeout": Text(tr("did not finish within {limit} s; stopped", limit=f"{progress.limit:g}"),
                                style="red"),
                "crashed": Text(tr("ended the process"), style="red"),
            }[progress.state]
            self.console.print(outcome, soft_wrap=True)
            self.open = False
        self._flush()

    def close(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self.open:
            self.console.print()
            self.open = False
            self._flush()

    def _flush(self) -> None:
        try:
            self.console.file.flush()
        except (OSError, ValueError):
            pass


def print_check_feedback(verdict: Verdict, console: Console) -> None:
    """A student's view: every check with ✓/✗, points and what went wrong."""
    if verdict.status == "error":
        console.print(inert(f"✗ {verdict.message}", style="red"))
        return
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("", width=1)
    table.add_column(tr("check"))
    table.add_column(tr("points"), justify="right")
    table.add_column(tr("feedback"), overflow="fold")
    for check in verdict.checks:
        mark = Text("✓", style="green") if check.passed else Text("✗", style="red")
        table.add_row(mark, inert(check.title or check.name), fraction(check.score, check.max_score),
                      feedback_cell(check.message))
    console.print(table)
    print_cell_errors(verdict, console)


def public_score_line(verdict: Verdict, hidden_checks: int) -> str:
    """The last line of `grader check`: the public score, and how many hidden checks also count."""
    line = tr("Public score: {score}/{max_score}.", score=score(verdict.score), max_score=score(verdict.max_score))
    if hidden_checks:
        line += " " + tr("{count} hidden checks run at grading time.", count=hidden_checks)
    return line


def print_cell_errors(verdict: Verdict, console: Console) -> None:
    for cell in verdict.cells:
        if cell.status != "ok" and cell.error is not None:
            # where: the cell as the student finds it, "cell 5 (In [3]), line 2" (grader.models.CodeCell.label)
            where = cell.error.where or tr("code cell {index}", index=cell.index)
            first_line = cell.error.message.splitlines()[0] if cell.error.message else ""
            console.print(Text.assemble(inert(where, "yellow"), inert(f": {cell.error.type}: {first_line}")))


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
                             Text(score(check.score), style="green" if check.passed else "red"))
            else:
                cells.append(Text("·", style="dim") if check is None else
                             Text("✓", style="green") if check.passed else Text("✗", style="red"))
        if not wide and names:
            cells = [Text.assemble(*cells)]
        style = "red" if verdict.status == "error" else ("green" if verdict.score == verdict.max_score else "")
        table.add_row(inert(verdict.student), final_score(verdict), inert(verdict.status, style=style), *cells,
                      inert(verdict.message if verdict.status == "error" else ""))
    console.print(table)
    if names:
        rates = Table(show_header=True, header_style="bold", title="checks")
        rates.add_column("#", justify="right")
        rates.add_column("check")
        rates.add_column("points", justify="right")
        rates.add_column("passed", justify="right")
        for number, rate in enumerate(check_pass_rates(verdicts), 1):
            rates.add_row(str(number), inert(rate.check), score(rate.points),
                          f"{rate.passed}/{rate.graded} ({rate.rate:.0%})" if rate.graded else "-")
        console.print(rates)
    _legend(verdicts, console)
    summary = score_summary(verdicts)
    if summary.graded:
        console.print(f"{summary.submissions} submissions: mean {summary.mean:.2f}, median "
                      f"{score(summary.median)}, {summary.errors} error(s)")
    else:
        console.print(f"{summary.submissions} submissions, {summary.errors} error(s)")


def print_submission_detail(verdict: Verdict, console: Console) -> None:
    """An instructor's view of one run: every check (hidden too), cells, output, layers, timings."""
    console.print(Text.assemble(("student ", "bold"), inert(verdict.student), ("   file ", "bold"),
                                inert(verdict.submission)), soft_wrap=True)
    console.print(inert(f"status {verdict.status}   score {final_score(verdict)}   graded "
                       f"{verdict.started_at:%Y-%m-%d %H:%M:%S %Z} in {verdict.duration:.2f} s on {verdict.device}   "
                       f"grader {verdict.grader_version}   code {verdict.sha256[:12]}"), soft_wrap=True)
    if verdict.submitted_at is not None:
        late = (f"late by {duration(verdict.late_seconds)}, penalty {verdict.penalty:.0%}"
                if verdict.late_seconds > 0 else "on time")
        console.print(inert(f"submitted {verdict.submitted_at:%Y-%m-%d %H:%M:%S %Z}: {late}"), soft_wrap=True)
    for adjustment in verdict.adjustments:
        console.print(Text.assemble(("adjusted ", "bold"), inert(adjustment_line(adjustment),
                                                                 style="red" if adjustment.needs_review else "")),
                      soft_wrap=True)
    if verdict.status == "error":
        console.print(inert(f"✗ {verdict.message}", style="red"), soft_wrap=True)
    if verdict.checks:
        table = Table(show_header=True, header_style="bold", title="checks")
        for name, justify in (("", "left"), ("check", "left"), ("", "left"), ("points", "right"),
                              ("seconds", "right"), ("feedback", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        adjusted = {adjustment.check for adjustment in verdict.adjustments}
        for check in verdict.checks:
            table.add_row(Text("✓", style="green") if check.passed else Text("✗", style="red"), inert(check.name),
                          check.visibility, fraction(check.score, check.max_score) + (" ✎" if check.name in adjusted
                                                                                       else ""),
                          f"{check.seconds:.3f}", feedback_cell(check.message))
        console.print(table)
    if verdict.cells:
        cells = Table(show_header=True, header_style="bold", title="code cells")
        for name in ("cell", "status", "seconds", "error"):
            cells.add_column(name, overflow="fold")
        for cell in verdict.cells:
            error = f"{cell.error.type}: {cell.error.message}" if cell.error else ""
            cells.add_row(str(cell.index), cell.status, f"{cell.seconds:.3f}", inert(error))
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
            # Escaped before it is split: a CR or a form feed is shown, never taken for a line break.
            lines = terminal_block(text.rstrip()).split("\n")
            shown = lines[-40:]
            console.print(Text(f"{name} ({len(lines)} lines" + (", the last 40" if len(lines) > 40 else "") + "):",
                               style="bold"))
            console.print(Text("\n".join(shown)), soft_wrap=True)


def print_history(verdicts: list[Verdict], console: Console) -> None:
    table = Table(show_header=True, header_style="bold")
    for name in ("graded at", "file", "code", "status", "score", "device", "grader", "seconds"):
        table.add_column(name, overflow="fold", no_wrap=name == "status")
    for verdict in verdicts:
        excluded = any(each.kind == "exclude_run" for each in verdict.adjustments)
        table.add_row(f"{verdict.started_at:%Y-%m-%d %H:%M:%S}", inert(verdict.submission), verdict.sha256[:12],
                      inert(verdict.status + (" (excluded)" if excluded else "")), final_score(verdict),
                      inert(verdict.device), inert(verdict.grader_version),
                      f"{verdict.duration:.2f}")
    console.print(table)
    _legend(verdicts, console)
    console.print(counted(len(verdicts), "run"))


def _legend(verdicts: list[Verdict], console: Console) -> None:
    if any(each.kind != "exclude_run" for verdict in verdicts for each in verdict.adjustments):
        console.print(ADJUSTED_LEGEND, soft_wrap=True)


def print_validation(validation, console: Console) -> None:
    reference = validation.reference
    mark = Text("✓", style="green") if validation.reference_full_marks else Text("✗", style="red")
    console.print(Text.assemble(mark, inert(f" reference solution: {fraction(reference.score, reference.max_score)}"
                                           + (f" ({reference.message})" if reference.message else ""))))
    for check in reference.checks:
        if not check.passed:
            console.print(Text.assemble("    ", inert(check.name, style="red"), inert(f": {check.message}")))
    for cell in reference.cells:
        if cell.status != "ok" and cell.error is not None:
            console.print(inert(f"    cell {cell.index}: {cell.error.type}: {cell.error.message}"))
    table = Table(show_header=True, header_style="bold", title=f"{validation.assignment}: mutants")
    table.add_column("", width=1)
    table.add_column("mutant")
    table.add_column("what is wrong", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("caught by", overflow="fold")
    for mutant in validation.mutants:
        table.add_row(Text("✓", style="green") if mutant.caught else Text("✗", style="red"), inert(mutant.name),
                      inert(mutant.description), fraction(mutant.score, mutant.max_score),
                      inert(", ".join(mutant.caught_by)) if mutant.caught_by else Text("nothing: add a check",
                                                                                       style="red"))
    console.print(table)
    held = [example for example in validation.examples if example.holds]
    if validation.examples:
        mark = Text("✓", style="green") if len(held) == len(validation.examples) else Text("✗", style="red")
        console.print(Text.assemble(mark, inert(f" examples: {len(held)}/{len(validation.examples)} score what "
                                                f"expected.json says ({validation.examples_note})")), soft_wrap=True)
        for example in validation.examples:
            if not example.holds:
                console.print(Text.assemble(("✗ ", "red"), inert(example.problem)), soft_wrap=True)
    elif validation.examples_note:
        console.print(inert(f"  examples: {validation.examples_note}"), soft_wrap=True)
    caught = sum(mutant.caught for mutant in validation.mutants)
    console.print(f"{caught}/{len(validation.mutants)} mutants caught; "
                  + ("the checks hold." if validation.ok else "[red]the checks need work.[/red]"))


# rich redraws the bar from a thread of the coordinator: at its default 10 a second that cost ~1.5 ms of
# CPU per hw2 verdict at 2 workers, CPU the judges on the same cores wait for.
REFRESHES_PER_SECOND = 2


class BatchProgress:
    """A progress bar with counts, rate and ETA on a terminal; silent otherwise."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=console, disable=not console.is_terminal,
                                 transient=False, refresh_per_second=REFRESHES_PER_SECOND)
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


def print_set_aside(files, console: Console) -> None:
    """Where a student handed in several files (``grader.intake.SubmissionFile``): which one counts."""
    for file in files:
        if file.set_aside_for:
            console.print(Text.assemble(inert(file.student, "bold"), ": ", inert(file.set_aside_for), " counts (newest); ",
                                        inert(file.name), " was set aside (graded and kept in the history)"),
                          soft_wrap=True)


def print_course(table, console: Console) -> None:
    """``grader results --course``: one row per enrolled student, every assignment, the total; then the
    submissions that matched nobody on the roster (``table``: a ``grader.course.CourseTable``)."""
    grid = Table(show_header=True, header_style="bold", title="course: final scores")
    for name in ("id", "name", "section"):
        grid.add_column(name, overflow="fold")
    for name in table.assignments:
        grid.add_column(f"{name} /{score(table.max_scores[name])}", justify="right")
    grid.add_column(f"total /{score(table.max_total)}", justify="right")
    for row in table.rows:
        cells = []
        for name in table.assignments:
            cell = row.cells[name]
            if cell.status == "missing":
                cells.append(Text("0 missing", style="red"))
            elif cell.status == "error":
                cells.append(Text(f"{score(cell.score)} error", style="red"))
            else:
                cells.append(Text(score(cell.score) + (" ✎" if cell.adjusted else "")))
        grid.add_row(inert(row.student.id), inert(row.student.name), inert(row.student.section), *cells,
                     score(row.total))
    console.print(grid)
    console.print("missing work counts as 0; ✎ a person changed the score (grader show ASSIGNMENT STUDENT)",
                  soft_wrap=True)
    if table.unmatched:
        console.print(Text(f"{len(table.unmatched)} submission(s) match nobody on the roster (add the name as an "
                           "alias in roster.csv, or grader runs ASSIGNMENT --exclude RUN_ID):", style="bold"))
        for each in table.unmatched:
            console.print(Text.assemble("  ", inert(each.assignment), ": ", inert(each.student), " (",
                                        inert(each.submission), ")"), soft_wrap=True)


def print_runs(verdicts: list[Verdict], console: Console) -> None:
    """``grader runs``: every stored run with its id, the excluded ones marked."""
    table = Table(show_header=True, header_style="bold")
    for name in ("run", "graded at", "student", "file", "status", "score", "counts"):
        table.add_column(name, overflow="fold")
    excluded = []
    for verdict in verdicts:
        exclusion = [each for each in verdict.adjustments if each.kind == "exclude_run"]
        excluded += [(verdict, each) for each in exclusion]
        table.add_row(str(verdict.run_id), f"{verdict.started_at:%Y-%m-%d %H:%M:%S}", inert(verdict.student),
                      inert(verdict.submission), inert(verdict.status), final_score(verdict),
                      Text(f"excluded #{exclusion[-1].id}", style="red") if exclusion else Text("yes"))
    console.print(table)
    for verdict, each in excluded:
        console.print(Text.assemble(f"run {verdict.run_id} (", inert(verdict.student), "): ",
                                    inert(adjustment_line(each))), soft_wrap=True)
    console.print(f"{counted(len(verdicts), 'run')}, {len(excluded)} excluded")
