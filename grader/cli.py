"""The `grader` command: parse, call the library, print. Nothing here that an instructor can't call."""

from __future__ import annotations

import atexit
import os
import sys
import time

from grader import interrupts

if __name__ == "__main__":  # python -m grader.cli: Ctrl-C guarded from here on, as grader.entry does for `grader`
    interrupts.guard(sys.argv[1:])

from grader import timeline

# Not in a pool worker (it runs this module again as it starts) or in the workers' template (which imports it).
if __name__ != "__mp_main__" and getattr(sys.modules.get("__main__"), "__file__", None):
    timeline.mark("cli.start")

import click
from rich.console import Console
from rich.text import Text

from grader import __version__, api, report
from grader.errors import GraderError
from grader.i18n import LANGUAGES, set_language, tr
from grader.report import BatchProgress
from grader.spec import load_assignment
from grader.models import DEFAULT_DB_URL

console = Console(highlight=False)


class ForgeChoice(click.Choice):
    """``auto`` or a forge's name, listed on first use: the forges (HTTP clients) load only for `grader ci`."""

    def __init__(self) -> None:
        super().__init__([])

    @property
    def choices(self) -> tuple[str, ...]:
        from grader.ci.forges import FORGES

        return ("auto", *FORGES)

    @choices.setter
    def choices(self, value) -> None:
        pass

DEVICE = click.option("--device", default="auto", show_default=True,
                      help="auto, cpu, cuda or cuda:N (auto: cuda when this machine has one)")
DB = click.option("--db", "db_url", default=DEFAULT_DB_URL, show_default=True, help="SQLAlchemy URL of the gradebook")
CLUSTER = click.option("--cluster", default=None, metavar="ADDRESS",
                        help="grade on a Dask cluster: a scheduler address (tcp://host:8786) or local:N "
                             "(N worker processes here); needs pip install 'grader[cluster]'")
ASSIGNMENTS = click.option("--assignments", "assignments_dir", type=click.Path(file_okay=False), default=None,
                           help="folder holding the assignments (default: ./assignments, then the bundled ones)")


class GraderGroup(click.Group):
    """Turns a GraderError anywhere into one line on stderr and exit 2."""

    def invoke(self, ctx: click.Context):
        interrupts.working()
        timeline.mark("command")
        try:
            try:
                return super().invoke(ctx)
            finally:  # before the handlers below: a Ctrl-C now is noted, never raised inside them
                interrupts.finishing()
        except GraderError as error:
            click.echo(f"error: {report.visible_line(str(error))}", err=True)  # may quote a student's file name
            sys.exit(2)
        except KeyboardInterrupt:
            interrupts.say(tr(interrupts.CHECK_LINE) if ctx.invoked_subcommand == "check" else interrupts.OTHER_LINE)
            sys.exit(interrupts.EXIT_STATUS)


@click.group(cls=GraderGroup)
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade PyTorch homework notebooks in a sandbox."""


@main.command()
@click.argument("assignment")
@click.argument("notebook", required=False, type=click.Path(dir_okay=False))
@DEVICE
@ASSIGNMENTS
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="language of the feedback (ru: Russian)")
def check(assignment: str, notebook: str | None, device: str, assignments_dir: str | None, lang: str) -> None:
    """Run the public checks on your notebook (found in this folder unless NOTEBOOK is given).

    Exit 0 when every public check passes, 1 otherwise.
    """
    from grader.sandbox.portable import portable_mode, portable_notice

    if portable_mode():
        set_language(lang)
        click.echo(tr("note: {notice}", notice=portable_notice()), err=True)
    lines = report.CellLines(console)
    try:
        verdict = api.check_notebook(assignment, notebook, device=device, assignments_dir=assignments_dir, lang=lang,
                                     on_cell=lines.on_cell)
    finally:
        lines.close()
    assignments_dir = api.student_assignments_dir(assignment, notebook, assignments_dir)
    console.print(Text.assemble((assignment, "bold"), ": ", report.visible_line(verdict.submission), " ",
                                tr("(public checks)")), soft_wrap=True)
    if os.environ.get("JPY_PARENT_PID"):  # `!grader check` in a Jupyter cell (a kernel's child, under a pty)
        saved = time.strftime("%H:%M:%S", time.localtime(os.path.getmtime(verdict.submission))) \
            if os.path.exists(verdict.submission) else "?"
        console.print(tr("this grades the saved file {path} (saved at {time}), not unsaved edits: save the notebook "
                         "(Ctrl+S) first, or run import grader; grader.check('{assignment}') in a cell, which says "
                         "whether the file is up to date", path=report.visible_line(verdict.submission), time=saved,
                         assignment=assignment), soft_wrap=True)
    report.print_check_feedback(verdict, console)
    hidden = load_assignment(assignment, assignments_dir).hidden_check_count()
    console.print(Text(report.public_score_line(verdict, hidden), style="bold"), soft_wrap=True)
    ok = verdict.status == "graded" and all(check.passed for check in verdict.checks)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("assignment")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@DB
@DEVICE
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write every verdict to this JSON file")
@click.option("--public-only", is_flag=True, help="run only the public checks")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="warm grading workers in parallel (default: as many as pay off for the batch, up to one "
                   "per CPU core)")
@click.option("--regrade", is_flag=True, help="grade again even what is unchanged since its last stored run")
@click.option("--allow-unisolated", is_flag=True,
              help="grade even where the sandbox lacks network or filesystem isolation (recorded with every run)")
@CLUSTER
@ASSIGNMENTS
def grade(assignment: str, paths: tuple[str, ...], db_url: str, device: str, json_path: str | None,
          public_only: bool, workers: int | None, regrade: bool, allow_unisolated: bool, cluster: str | None,
          assignments_dir: str | None) -> None:
    """Grade notebooks (files or folders of them) with every check, and store the results.

    Submissions unchanged since their last stored run (same code, checks and grader) are
    skipped unless --regrade, so an interrupted batch resumes where it stopped.
    """
    if json_path:
        report.writable(json_path)  # before grading, not after
    found = []
    with BatchProgress(console) as progress:
        verdicts = api.grade_submissions(
            assignment, paths, db_url=db_url, device=device, include_hidden=not public_only,
            assignments_dir=assignments_dir, workers=workers, regrade=regrade,
            allow_unisolated=allow_unisolated, cluster=cluster,
            on_start=progress.start, on_verdict=progress.advance, on_plan=found.extend)
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: graded")
    report.print_set_aside(found, console)


ROSTER = click.option("--roster", type=click.Path(dir_okay=False), default=None,
                      help="the course's roster (default: roster.csv beside the assignments folder)")


@main.command()
@click.argument("assignment", required=False)
@DB
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write them to this JSON file")
@click.option("--course", is_flag=True, help="every assignment: one row per enrolled student (roster.csv) and the total")
@ROSTER
@ASSIGNMENTS
def results(assignment: str | None, db_url: str, json_path: str | None, course: bool, roster: str | None,
            assignments_dir: str | None) -> None:
    """The latest stored score of every student, a column per check, and each check's pass rate.

    With --course: one row per student on the roster, every assignment's final score (missing
    work 0) and the total, then the submissions that match nobody on the roster.
    """
    if course:
        table = api.course_results(db_url, assignments_dir=assignments_dir, roster=roster)
        if json_path:
            report.writable(json_path).write_text(table.model_dump_json(indent=2), encoding="utf-8")
        report.print_course(table, console)
        return
    if assignment is None:
        raise GraderError("name the assignment (grader results hw2), or give --course for the whole course")
    verdicts = api.latest_results(assignment, db_url, assignments_dir)
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: latest results")


@main.command()
@click.argument("assignment")
@click.argument("student")
@DB
@ASSIGNMENTS
def show(assignment: str, student: str, db_url: str, assignments_dir: str | None) -> None:
    """One student's latest run in full: every check, cell errors, output, sandbox layers, timings."""
    report.print_submission_detail(api.student_result(assignment, student, db_url, assignments_dir), console)


@main.command()
@click.argument("assignment")
@click.argument("student")
@DB
@ASSIGNMENTS
def history(assignment: str, student: str, db_url: str, assignments_dir: str | None) -> None:
    """Every stored run of one student, oldest first."""
    report.print_history(api.student_history(assignment, student, db_url, assignments_dir), console)


@main.command()
@click.argument("assignment", required=False)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), required=True,
              help="the CSV file to write: one row per student, a column per check and the total")
@click.option("--course", is_flag=True, help="every assignment: one row per enrolled student (roster.csv) and the total")
@click.option("--format", "fmt", type=click.Choice(["csv", "canvas", "moodle"]), default="csv", show_default=True,
              help="csv: the grader's columns; canvas, moodle: what their gradebook import takes (needs the roster)")
@click.option("--canvas-id", "canvas_ids", multiple=True, metavar="ASSIGNMENT=ID",
              help="Canvas's id of an assignment (its column becomes 'Title (ID)'); repeat for each")
@ROSTER
@ASSIGNMENTS
@DB
def export(assignment: str | None, csv_path: str, course: bool, fmt: str, canvas_ids: tuple[str, ...],
           roster: str | None, assignments_dir: str | None, db_url: str) -> None:
    """Write the latest result of every student to a CSV file (for a spreadsheet or an LMS).

    --course: one row per enrolled student, a column per assignment and the total. --format
    canvas or moodle: the columns their gradebook import takes, students matched by the roster;
    the submissions that match nobody are listed.
    """
    if fmt == "csv" and not course:
        if assignment is None:
            raise GraderError("name the assignment (grader export hw2 --csv hw2.csv), or give --course")
        verdicts = api.export_results(assignment, csv_path, db_url, assignments_dir)
        console.print(f"{len(verdicts)} students written to {csv_path}")
        return
    ids = {}
    for pair in canvas_ids:
        name, _, value = pair.partition("=")
        if not name or not value.strip():
            raise GraderError(f"--canvas-id {pair}: expected ASSIGNMENT=ID, e.g. --canvas-id hw2=48213")
        ids[name] = value.strip()
    written = api.export_course(csv_path, fmt=fmt, assignment=None if course else assignment, db_url=db_url,
                                assignments_dir=assignments_dir, roster=roster, canvas_ids=ids)
    console.print(f"{len(written.rows)} enrolled students, {len(written.assignments)} assignment(s) written to "
                  f"{csv_path} ({fmt})", soft_wrap=True)
    if written.unmatched:
        console.print(f"{len(written.unmatched)} submission(s) match nobody on the roster and are not in the file:")
        for each in written.unmatched:
            console.print(Text.assemble("  ", report.visible_line(each.assignment), ": ",
                                        report.visible_line(each.student)), soft_wrap=True)


@main.command()
@click.argument("assignment")
@click.option("--exclude", "exclude_id", type=int, default=None, metavar="RUN_ID",
              help="the run stops counting (the student's previous run counts again); recorded, not deleted")
@click.option("--include", "include_id", type=int, default=None, metavar="RUN_ID", help="count an excluded run again")
@click.option("--reason", default="", help="why (required with --exclude)")
@click.option("--by", "made_by", default=None, help="who (default: this user)")
@DB
def runs(assignment: str, exclude_id: int | None, include_id: int | None, reason: str, made_by: str | None,
         db_url: str) -> None:
    """Every stored run of an assignment with its id; --exclude RUN_ID takes a demo or test run out."""
    if exclude_id is not None and include_id is not None:
        raise GraderError("give --exclude or --include, not both")
    if exclude_id is not None or include_id is not None:
        record = api.exclude_run(assignment, exclude_id if exclude_id is not None else include_id, reason=reason,
                                 by=made_by or _who(), undo=include_id is not None, db_url=db_url)
        done = "included again" if record.kind == "undo" else "excluded"
        console.print(Text.assemble(f"#{record.id} run {record.run_id} of ", report.visible_line(record.student or ""),
                                    f" {done}"), soft_wrap=True)
    report.print_runs(api.assignment_runs(assignment, db_url), console)


@main.command("report")
@click.argument("assignment")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), required=True,
              help="the page to write: score histogram, pass rate per check, slowest, common failures, students")
@DB
@ASSIGNMENTS
def report_command(assignment: str, html_path: str, db_url: str, assignments_dir: str | None) -> None:
    """Write one self-contained HTML page (no network) about the latest results."""
    verdicts = api.write_html_report(assignment, html_path, db_url, assignments_dir)
    console.print(f"report on {len(verdicts)} students written to {html_path}")


@main.command()
@click.argument("assignment")
@click.argument("out", type=click.Path(file_okay=False))
@DB
@click.option("--format", "fmt", type=click.Choice(["html", "md"]), default="html", show_default=True,
              help="html: one self-contained page per student; md: Markdown")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="language of the pages (ru: Russian)")
@click.option("--zip", "zip_layout", type=click.Choice(["moodle"]), default=None,
              help="also pack the pages as Moodle's 'upload multiple feedback files in a zip' expects")
@ASSIGNMENTS
def feedback(assignment: str, out: str, db_url: str, fmt: str, lang: str, zip_layout: str | None,
             assignments_dir: str | None) -> None:
    """Write one feedback page per student (their latest run) into OUT, to hand back.

    Each page: score and late penalty, every check (hidden ones: title, pass/fail and points
    only), the cells that raised, the student's code with them marked, changes to the score.
    """
    written = api.write_feedback(assignment, out, db_url=db_url, fmt=fmt, lang=lang, zip_layout=zip_layout,
                                 assignments_dir=assignments_dir)
    console.print(f"{len(written.pages)} feedback pages written to {written.folder}", soft_wrap=True)
    if written.zip_path:
        console.print(f"{len(written.packed)} packed for Moodle in {written.zip_path}", soft_wrap=True)
        if written.not_packed:
            console.print(Text.assemble(f"{len(written.not_packed)} not packed (their files did not come from a "
                                        "Moodle download, so Moodle could not match them): ",
                                        report.visible_line(", ".join(written.not_packed))), soft_wrap=True)


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@main.command()
@click.argument("assignment")
@click.argument("student", required=False)
@click.option("--check", "check_name", default=None, metavar="NAME", help="the check whose points change")
@click.option("--points", type=float, default=None, help="the check's new points")
@click.option("--total", type=float, default=None, help="the student's new score, in place of the final score")
@click.option("--reason", default="", help="why (shown to the student on their feedback page)")
@click.option("--by", "made_by", default=None, help="who makes the change (default: this user)")
@click.option("--undo", is_flag=True, help="append the reversal of the student's newest override (of --check)")
@click.option("--list", "list_all", is_flag=True, help="every change made to this assignment's scores")
@DB
@ASSIGNMENTS
def override(assignment: str, student: str | None, check_name: str | None, points: float | None,
             total: float | None, reason: str, made_by: str | None, undo: bool, list_all: bool, db_url: str,
             assignments_dir: str | None) -> None:
    """Change one student's points for a check (--check NAME --points P) or their score (--total P).

    Every change is appended with who, when, why and the points before and after; nothing is
    edited or deleted (--undo appends the reversal). A later regrade that changes the verdict of
    an overridden check marks the override for review.
    """
    if list_all:
        records = api.adjustment_log(assignment, db_url)
        for record in records:
            target = "everyone" if record.student is None else record.student
            before = record.old_points if record.old_points is not None else 0
            change = "" if record.points is None else f"{before:g} → {record.points:g} "
            console.print(report.visible_line(
                f"#{record.id} {record.at:%Y-%m-%d %H:%M} {record.kind} {target} {record.check or 'total'} {change}"
                f"{f'(reverses #{record.reverses}) ' if record.reverses else ''}by {record.by}: {record.reason}"),
                soft_wrap=True)
        console.print(f"{len(records)} changes")
        return
    if student is None:
        raise GraderError(f"name the student: grader override {assignment} STUDENT --check NAME --points P "
                          "--reason TEXT (or --list)")
    if total is not None and (check_name or points is not None):
        raise GraderError("--total replaces the whole score: give it without --check and --points")
    if not undo and total is None and (check_name is None or points is None):
        raise GraderError("give --check NAME --points P, or --total P")
    record, final = api.override_score(assignment, student, check=check_name, points=total if total is not None
                                       else points, reason=reason, by=made_by or _who(), undo=undo, db_url=db_url,
                                       assignments_dir=assignments_dir)
    what = record.check or "total"
    action = f"undid #{record.reverses} ({what})" if record.kind == "undo" else \
        f"{what}: {record.old_points:g} → {record.points:g}"
    console.print(Text.assemble(f"#{record.id} ", report.visible_line(final.student), f": {action}; final score ",
                                report.final_score(final)), soft_wrap=True)


@main.command("void-check")
@click.argument("assignment")
@click.argument("check_name", metavar="CHECK")
@click.option("--give-full", "give_full", is_flag=True, help="everyone gets the check's points")
@click.option("--drop", is_flag=True, help="the check counts for nobody (the maximum score shrinks)")
@click.option("--reason", default="", help="why (shown on the feedback pages)")
@click.option("--by", "made_by", default=None, help="who makes the change (default: this user)")
@click.option("--undo", is_flag=True, help="append the reversal of the newest void of CHECK")
@DB
@ASSIGNMENTS
def void_check(assignment: str, check_name: str, give_full: bool, drop: bool, reason: str, made_by: str | None,
               undo: bool, db_url: str, assignments_dir: str | None) -> None:
    """A broken check, fixed for everyone at once: --give-full or --drop; recorded like an override."""
    if give_full == drop and not undo:
        raise GraderError("choose one: --give-full (everyone gets its points) or --drop (it counts for nobody)")
    record, verdicts = api.void_check(assignment, check_name, mode="full" if give_full or undo else "drop",
                                      reason=reason, by=made_by or _who(), undo=undo, db_url=db_url,
                                      assignments_dir=assignments_dir)
    done = f"undid #{record.reverses}" if record.kind == "undo" else \
        ("full points for everyone" if record.kind == "void_full" else "counts for nobody")
    console.print(Text.assemble(f"#{record.id} ", report.visible_line(check_name), f": {done}"), soft_wrap=True)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: final scores")


@main.command()
@click.argument("assignment")
@click.argument("out", type=click.Path(dir_okay=False))
@ASSIGNMENTS
def gradescope(assignment: str, out: str, assignments_dir: str | None) -> None:
    """Write Gradescope's autograder zip: setup.sh, run_autograder, this grader, the assignment's checks.

    Upload it as the assignment's autograder ("Zip file upload"); each submission is graded by
    this engine in its sandbox, hidden checks shown after the due date.
    """
    members = api.gradescope_zip(assignment, out, assignments_dir)
    console.print(f"{out}: Gradescope autograder for {assignment} ({len(members)} files)", soft_wrap=True)


@main.command("gradescope-run", hidden=True)
@click.argument("root", type=click.Path(file_okay=False))
@click.argument("assignment")
def gradescope_run(root: str, assignment: str) -> None:
    """Inside Gradescope's container (run_autograder): grade ROOT/submission, write ROOT/results/results.json."""
    allow = os.environ.get("GRADER_ALLOW_UNISOLATED", "1") != "0"
    results = api.run_gradescope(root, assignment, allow_unisolated=allow)
    console.print(f"score {results['score']:g}; {len(results['tests'])} tests", soft_wrap=True)


@main.command()
@click.argument("assignment")
@DEVICE
@ASSIGNMENTS
def validate(assignment: str, device: str, assignments_dir: str | None) -> None:
    """Check the checks: the reference must get full marks and every mutant must lose points.

    Also grades the example submissions submissions/ASSIGNMENT/expected.json lists. Exit 1 when the
    reference loses a point, a mutant loses none, or an example scores other than expected.json says.
    """
    validation = api.validate_assignment(assignment, device=device, assignments_dir=assignments_dir)
    report.print_validation(validation, console)
    for problem in validation.problems:
        console.print(Text.assemble(("✗ ", "red"), problem), soft_wrap=True)
    sys.exit(0 if validation.ok else 1)


@main.command()
@click.argument("assignment")
@click.argument("out", type=click.Path(file_okay=False))
@ASSIGNMENTS
def release(assignment: str, out: str, assignments_dir: str | None) -> None:
    """Build the student bundle in OUT: template, README, public checks, recorded reference answers.

    Nothing of the hidden checks, the reference solution or the mutants goes in; the bundle is
    audited for them and proved with the reference solution before it is written.
    """
    from grader.release import release_assignment

    from grader.install_help import student_command_lines

    released = release_assignment(assignment, out, assignments_dir=assignments_dir)
    for name in released.files:
        console.print(f"  {name}", soft_wrap=True)
    console.print(f"{released.assignment} released to {released.folder}: {len(released.files)} files, "
                  f"{released.recorded_answers} recorded reference answers, public checks "
                  f"{released.public_score:g}/{released.public_points:g} on the reference, "
                  f"{released.hidden_checks} hidden checks kept back.", soft_wrap=True)
    spec = load_assignment(assignment, assignments_dir)
    console.print("Give students the folder; in it they run (its README has the lines for Windows and Colab):",
                  soft_wrap=True)
    for line in student_command_lines(os.path.basename(os.path.normpath(out)), released.assignment, spec.notebook,
                                      released.wheel):
        console.print(f"  {line}", soft_wrap=True)


@main.command()
@click.argument("master", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--check", "check_only", is_flag=True,
              help="write nothing; exit 1 and list what differs when OUT no longer matches the master (for CI)")
@click.option("--format", "fmt", type=click.Choice(["auto", "grader", "nbgrader", "otter"]), default="auto",
              show_default=True, help="the master's format (auto: from its markers)")
@click.option("--force", is_flag=True, help="replace OUT even where grader author did not write it")
def author(master: str, out: str, check_only: bool, fmt: str, force: bool) -> None:
    """Write an assignment folder OUT (.../assignments/<id>) from one MASTER notebook.

    Also writes ../../reference_solutions/<id>.py. Reads our markers, nbgrader's or otter's
    (docs/writing-checks.md, "One master notebook").
    """
    authored = api.author_assignment(master, out, check=check_only, fmt=fmt, force=force)
    if check_only:
        for line in authored.differences:
            console.print(f"  {line}", soft_wrap=True)
        if authored.differences:
            console.print(f"{authored.folder} no longer matches {master}: run grader author {master} {out}",
                          soft_wrap=True)
            sys.exit(1)
        console.print(f"{authored.folder} matches {master}", soft_wrap=True)
        return
    for name in authored.files:
        console.print(f"  {name}", soft_wrap=True)
    for text in authored.untranslated:
        console.print(f"warning: no Russian for {text!r}: add # ru \"...\" = \"...\" to its check cell "
                      "(it is shown in English)", soft_wrap=True)
    for line in authored.manual:
        console.print(f"note: {line}", soft_wrap=True)
    console.print(f"{authored.assignment} written to {authored.folder} from {master} ({authored.format} format): "
                  f"{authored.checks} checks, {authored.points:g} points, {authored.mistakes} planted mistakes. "
                  f"Next: grader validate {authored.assignment}", soft_wrap=True)


@main.command()
@click.argument("assignment")
@click.argument("notebook", required=False, type=click.Path(dir_okay=False))
@click.option("--checks-dir", type=click.Path(file_okay=False), default=None,
              help="a private copy of the course's assignments/ folder: run the hidden checks too")
@DEVICE
@ASSIGNMENTS
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), help="write JUnit XML to this file")
@click.option("--comment", is_flag=True, help="create or update this assignment's comment on the pull request")
@click.option("--provider", type=ForgeChoice(), default="auto", show_default=True,
              help="where to comment (auto: from the CI environment)")
@click.option("--token-env", "token_variable", default=None, metavar="NAME",
              help="environment variable holding the API token (default: GITHUB_TOKEN; GitLab: GITLAB_TOKEN, "
                   "then CI_JOB_TOKEN)")
@click.option("--api-timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="seconds to wait for each API request")
@click.option("--fail-under", type=float, default=None, metavar="SCORE", help="exit 1 when the score is below SCORE")
@click.option("--annotations/--no-annotations", default=None,
              help="print ::error workflow commands for failed checks (default: on, except in GitLab CI)")
@click.option("--db", "db_url", default=None, help="also store the verdict in this gradebook (SQLAlchemy URL)")
@click.option("--student", default=None, help="the student's name in the gradebook (default: the PR's author)")
@click.option("--allow-unisolated", is_flag=True,
              help="with --checks-dir, grade even where the sandbox lacks network or filesystem isolation")
def ci(assignment: str, notebook: str | None, checks_dir: str | None, device: str, assignments_dir: str | None,
       junit_path: str | None, comment: bool, provider: str, token_variable: str | None, api_timeout: float,
       fail_under: float | None, annotations: bool | None, db_url: str | None, student: str | None,
       allow_unisolated: bool) -> None:
    """Grade a pull request's notebook in CI: Markdown summary, annotations, JUnit, one PR comment.

    The summary goes to stdout and to $GITHUB_STEP_SUMMARY. Exit 0, or 1 when --fail-under
    is given and the score is below it; a failing API is one line on stderr, never an exit code.
    """
    from grader import ci as ci_library

    outcome = ci_library.run_ci(
        assignment, notebook, checks_dir=checks_dir, assignments_dir=assignments_dir, device=device,
        allow_unisolated=allow_unisolated, junit_path=junit_path, comment=comment, provider=provider,
        token_variable=token_variable, api_timeout=api_timeout, fail_under=fail_under, db_url=db_url,
        student=student)
    click.echo(outcome.markdown, nl=False)
    if annotations if annotations is not None else ci_library.annotations_wanted(os.environ):
        for line in outcome.annotations:
            click.echo(line)
    if outcome.comment is not None:
        click.echo(f"grader ci: {outcome.comment.action} comment {outcome.comment.comment_id} on "
                   f"{outcome.pull_request}", err=True)
    if outcome.comment_error:
        click.echo(f"error: the pull-request comment was not posted: {outcome.comment_error}", err=True)
    if outcome.write_error:
        click.echo(f"error: {outcome.write_error}", err=True)
    sys.exit(outcome.exit_code)


@main.command()
@CLUSTER
def doctor(cluster: str | None) -> None:
    """Start a real sandbox and show which isolation layers this machine gives.

    With --cluster, on every worker of that Dask cluster. Exit 1 when grading would need
    --allow-unisolated (anywhere).
    """
    from grader.sandbox.layers import LAYER_NAMES

    result = api.doctor(cluster)
    if cluster:
        for machine in result.machines:
            mark = ("✗ ", "red") if machine.missing else ("✓ ", "green")
            console.print(Text.assemble(mark, f"{machine.where}: ", f"lacks {' and '.join(machine.missing)}: install "
                                        "bubblewrap there" if machine.missing else "every layer grading needs"))
        lacking = sum(not machine.ok for machine in result.machines)
        if lacking:
            console.print(f"{lacking} worker(s) lack isolation; `grader grade --cluster` refuses to grade on "
                          "them unless --allow-unisolated")
            sys.exit(1)
        return
    machine = result.machines[0]
    for key, description in LAYER_NAMES.items():
        held = machine.layers.get(key, False)
        console.print(Text.assemble(("✓ " if held else "✗ ", "green" if held else "red"), f"{key}: {description}"))
    if machine.missing:
        console.print(f"missing {' and '.join(machine.missing)}: install bubblewrap (apt-get install -y bubblewrap); "
                      "until then `grader grade` needs --allow-unisolated")
        sys.exit(1)
    console.print("this machine gives every layer grading needs")


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="TCP port for the webhooks (0: any free)")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (put a TLS reverse proxy in front and expose only /webhook/)")
@click.option("--checks-dir", required=True, type=click.Path(file_okay=False),
              help="the private copy of the course's assignments/ folder (reference_solutions/ beside it)")
@DB
@click.option("--repo-pattern", default=None, metavar="REGEX",
              help="how a repository's name gives (?P<assignment>...) and (?P<student>...) "
                   "(default: Classroom's hw2-alice)")
@click.option("--repos", "repositories_file", type=click.Path(dir_okay=False), default=None,
              help='a TOML file naming repositories the pattern does not fit: ["owner/name"] assignment = "hw2" '
                   'student = "alice"')
@click.option("--rate-limit", "max_per_window", type=click.IntRange(min=1), default=10, show_default=True,
              help="gradings per student and assignment in each --rate-window")
@click.option("--rate-window", "window_seconds", type=click.FloatRange(min=1), default=3600.0, show_default=True,
              help="seconds")
@DEVICE
@click.option("--allow-unisolated", is_flag=True,
              help="grade even where the sandbox lacks network or filesystem isolation (recorded with every run)")
@CLUSTER
@click.option("--fetch-max-mb", type=click.IntRange(min=1), default=50, show_default=True,
              help="what fetching one commit may write to disk")
@click.option("--fetch-seconds", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="how long fetching one commit may take")
@click.option("--git-protocols", default="https,http,file", show_default=True,
              help="the URL schemes git may fetch from (file: local mirrors and tests)")
@click.option("--batch", "batch_size", type=click.IntRange(min=1), default=None,
              help="queued commits judged together (default: 1; 16 with --cluster)")
def serve(port: int, host: str, checks_dir: str, db_url: str, repo_pattern: str | None,
          repositories_file: str | None, max_per_window: int,
          window_seconds: float, device: str, allow_unisolated: bool, cluster: str | None,
          fetch_max_mb: int, fetch_seconds: float, git_protocols: str, batch_size: int | None) -> None:
    """Run the grading service: take GitHub's and GitLab's webhooks, grade with the hidden checks, comment.

    Secrets come from the environment: GRADER_WEBHOOK_SECRET, GITHUB_TOKEN (and GITHUB_API_URL for
    GitHub Enterprise), GITLAB_TOKEN and GITLAB_API_URL. Log lines are JSON on stderr.
    """
    api.serve(port, checks_dir, db_url, host=host, repo_pattern=repo_pattern, repositories_file=repositories_file,
              max_per_window=max_per_window,
              window_seconds=window_seconds, device=device, allow_unisolated=allow_unisolated, cluster=cluster,
              batch_size=batch_size or (16 if cluster else 1),
              fetch_limits=dict(max_bytes=fetch_max_mb << 20, seconds=fetch_seconds,
                                protocols=tuple(p.strip() for p in git_protocols.split(",") if p.strip())))


def run() -> None:
    """The `grader` program: ``main``, then an exit that skips tearing the interpreter down.

    Once torch and pytest are loaded (grade, check, validate), Python's own teardown of their
    modules takes about half a second after the work is done and every result is stored. The
    exit handlers still run (multiprocessing's, weakref finalizers) and the output is flushed.
    """
    try:
        main()
        status = 0
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if isinstance(done.code, str):
            print(done.code, file=sys.stderr)
    interrupts.finishing()  # a command that never ran (--help, a usage error) was still starting
    timeline.mark("exit")
    if "grader.executors.pool" in sys.modules:
        from grader.executors.pool import stop_template

        stop_template()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (grader ... | head): nothing more to say
            pass
    os._exit(interrupts.exit_status(status))


if __name__ == "__main__":
    run()
