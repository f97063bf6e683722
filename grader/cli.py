"""The `grader` command: parse, call the library, print. Nothing here that an instructor can't call."""

from __future__ import annotations

import atexit
import os
import sys

import click
from rich.console import Console
from rich.text import Text

from grader import __version__, api, report
from grader.executors import default_workers
from grader.ci.forges import FORGES
from grader.errors import GraderError
from grader.i18n import LANGUAGES, tr
from grader.report import BatchProgress
from grader.spec import load_assignment
from grader.models import DEFAULT_DB_URL

console = Console(highlight=False)

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
        try:
            return super().invoke(ctx)
        except GraderError as error:
            click.echo(f"error: {report.visible_line(str(error))}", err=True)  # may quote a student's file name
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted: every result graded so far is stored", err=True)
            sys.exit(130)


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
    verdict = api.check_notebook(assignment, notebook, device=device, assignments_dir=assignments_dir, lang=lang)
    console.print(Text.assemble((assignment, "bold"), ": ", report.visible_line(verdict.submission), " ",
                                tr("(public checks)")), soft_wrap=True)
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
              help="warm grading workers in parallel (default: one per CPU core)")
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
            assignments_dir=assignments_dir, workers=workers or default_workers(), regrade=regrade,
            allow_unisolated=allow_unisolated, cluster=cluster,
            on_start=progress.start, on_verdict=progress.advance, on_plan=found.extend)
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: graded")
    report.print_set_aside(found, console)


@main.command()
@click.argument("assignment")
@DB
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write them to this JSON file")
def results(assignment: str, db_url: str, json_path: str | None) -> None:
    """The latest stored score of every student, a column per check, and each check's pass rate."""
    verdicts = api.latest_results(assignment, db_url)
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: latest results")


@main.command()
@click.argument("assignment")
@click.argument("student")
@DB
def show(assignment: str, student: str, db_url: str) -> None:
    """One student's latest run in full: every check, cell errors, output, sandbox layers, timings."""
    report.print_submission_detail(api.student_result(assignment, student, db_url), console)


@main.command()
@click.argument("assignment")
@click.argument("student")
@DB
def history(assignment: str, student: str, db_url: str) -> None:
    """Every stored run of one student, oldest first."""
    report.print_history(api.student_history(assignment, student, db_url), console)


@main.command()
@click.argument("assignment")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), required=True,
              help="the CSV file to write: one row per student, a column per check and the total")
@DB
def export(assignment: str, csv_path: str, db_url: str) -> None:
    """Write the latest result of every student to a CSV file (for a spreadsheet or an LMS)."""
    verdicts = api.export_results(assignment, csv_path, db_url)
    console.print(f"{len(verdicts)} students written to {csv_path}")


@main.command("report")
@click.argument("assignment")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), required=True,
              help="the page to write: score histogram, pass rate per check, slowest, common failures, students")
@DB
def report_command(assignment: str, html_path: str, db_url: str) -> None:
    """Write one self-contained HTML page (no network) about the latest results."""
    verdicts = api.write_html_report(assignment, html_path, db_url)
    console.print(f"report on {len(verdicts)} students written to {html_path}")


@main.command()
@click.argument("assignment")
@DEVICE
@ASSIGNMENTS
def validate(assignment: str, device: str, assignments_dir: str | None) -> None:
    """Check the checks: the reference must get full marks and every mutant must lose points.

    Exit 1 when the reference loses a point or a mutant loses none.
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

    released = release_assignment(assignment, out, assignments_dir=assignments_dir)
    for name in released.files:
        console.print(f"  {name}", soft_wrap=True)
    console.print(f"{released.assignment} released to {released.folder}: {len(released.files)} files, "
                  f"{released.recorded_answers} recorded reference answers, public checks "
                  f"{released.public_score:g}/{released.public_points:g} on the reference, "
                  f"{released.hidden_checks} hidden checks kept back. Students run: cd {released.folder} "
                  f"&& grader check {released.assignment}", soft_wrap=True)


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
@click.option("--provider", type=click.Choice(["auto", *FORGES]), default="auto", show_default=True,
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
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (grader ... | head): nothing more to say
            pass
    os._exit(status)


if __name__ == "__main__":
    run()
