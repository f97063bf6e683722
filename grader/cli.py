"""The `grader` command: parse, call the library, print. Nothing here that an instructor can't call."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.text import Text

from grader import __version__, grading, report
from grader.batch import default_workers
from grader.errors import GraderError
from grader.report import BatchProgress
from grader.spec import load_assignment
from grader.store import DEFAULT_DB_URL

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
            click.echo(f"error: {error}", err=True)
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
def check(assignment: str, notebook: str | None, device: str, assignments_dir: str | None) -> None:
    """Run the public checks on your notebook (found in this folder unless NOTEBOOK is given).

    Exit 0 when every public check passes, 1 otherwise.
    """
    verdict = grading.check_notebook(assignment, notebook, device=device, assignments_dir=assignments_dir)
    console.print(f"[bold]{assignment}[/bold]: {verdict.submission} (public checks)")
    report.print_check_feedback(verdict, console)
    hidden = load_assignment(assignment, assignments_dir).hidden_check_count()
    if hidden:
        console.print(f"{hidden} hidden checks run at grading time.")
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
    with BatchProgress(console) as progress:
        verdicts = grading.grade_submissions(
            assignment, paths, db_url=db_url, device=device, include_hidden=not public_only,
            assignments_dir=assignments_dir, workers=workers or default_workers(), regrade=regrade,
            allow_unisolated=allow_unisolated, cluster=cluster,
            on_start=progress.start, on_verdict=progress.advance)
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: graded")


@main.command()
@click.argument("assignment")
@DB
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="also write them to this JSON file")
def results(assignment: str, db_url: str, json_path: str | None) -> None:
    """Show the latest stored score of every submission."""
    verdicts = grading.latest_results(assignment, db_url)
    if not verdicts:
        raise GraderError(f"no results for {assignment} in {db_url}; grade first: grader grade {assignment} DIR")
    if json_path:
        report.write_json(verdicts, json_path)
    report.print_grade_summary(verdicts, console, title=f"{assignment}: latest results")


@main.command()
@click.argument("assignment")
@DEVICE
@ASSIGNMENTS
def validate(assignment: str, device: str, assignments_dir: str | None) -> None:
    """Check the checks: the reference must get full marks and every mutant must lose points.

    Exit 1 when the reference loses a point or a mutant loses none.
    """
    validation = grading.validate_assignment(assignment, device=device, assignments_dir=assignments_dir)
    report.print_validation(validation, console)
    sys.exit(0 if validation.ok else 1)


@main.command()
@CLUSTER
def doctor(cluster: str | None) -> None:
    """Start a real sandbox and show which isolation layers this machine gives.

    With --cluster, on every worker of that Dask cluster. Exit 1 when grading would need
    --allow-unisolated (anywhere).
    """
    from grader.sandbox.layers import LAYER_NAMES, missing_isolation

    if cluster:
        from grader.cluster import sandbox_reports

        lacking = 0
        for worker, layers in sorted(sandbox_reports(cluster).items()):
            missing = missing_isolation(layers)
            lacking += bool(missing)
            mark = ("✗ ", "red") if missing else ("✓ ", "green")
            console.print(Text.assemble(mark, f"{worker}: ", f"lacks {' and '.join(missing)}: install bubblewrap "
                                        "there" if missing else "every layer grading needs"))
        if lacking:
            console.print(f"{lacking} worker(s) lack isolation; `grader grade --cluster` refuses to grade on "
                          "them unless --allow-unisolated")
            sys.exit(1)
        return
    layers = grading.sandbox_report()
    for key, description in LAYER_NAMES.items():
        held = layers.get(key, False)
        console.print(Text.assemble(("✓ " if held else "✗ ", "green" if held else "red"), f"{key}: {description}"))
    missing = missing_isolation(layers)
    if missing:
        console.print(f"missing {' and '.join(missing)}: install bubblewrap (apt-get install -y bubblewrap); "
                      "until then `grader grade` needs --allow-unisolated")
        sys.exit(1)
    console.print("this machine gives every layer grading needs")


if __name__ == "__main__":
    main()
