"""`grader ci`: grade the notebook of a pull request's checkout and report it where CI looks.

The order is fixed so that nothing is lost: grade, then write the step summary and the
JUnit file, then store (with a gradebook), and only then talk to the forge's API; a
failing API costs the comment and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel

from grader.ci.client import publish_comment
from grader.ci.forge import CommentError, CommentResult, PullRequest, redact
from grader.ci.forges import pull_request_from_environment, summary_file, token_variables, workspace_roots
from grader.report import annotations, comment_body, comment_marker, junit_xml, render_markdown
from grader.errors import GraderError
from grader.devices import resolve_device
from grader.executors import InProcessExecutor, JudgeJob
from grader.intake import read_submission, submission_file
from grader.models import Verdict
from grader.spec import AssignmentSpec, load_assignment
from grader.store import Gradebook
from grader.student_view import student_view
from grader.verdicts import Grading

SKIPPED_FOLDERS = {"node_modules", "__pycache__", "site-packages"}


class CiOutcome(BaseModel):
    """What one `grader ci` run produced; the CLI prints it."""

    verdict: Verdict
    notebook: str  # as shown in the summary and annotations: relative to the checkout
    markdown: str
    annotations: list[str]
    summary_path: str | None = None
    junit_path: str | None = None
    comment: CommentResult | None = None
    comment_error: str | None = None
    pull_request: str | None = None
    write_error: str | None = None  # the summary or JUnit file could not be written: exit 2
    exit_code: int = 0


def find_pull_request_notebook(spec: AssignmentSpec, checkout: Path, excluded: list[Path]) -> Path | None:
    """The notebook named in assignment.toml: at the checkout's top, else the only one of that name below."""
    top = checkout / spec.notebook
    if top.is_file():
        return top
    found = []
    for path in sorted(checkout.rglob(spec.notebook)):
        relative = path.relative_to(checkout).parts
        if (path.is_file() and not any(part.startswith(".") or part in SKIPPED_FOLDERS for part in relative)
                and not any(folder == path or folder in path.parents for folder in excluded)):
            found.append(path)
    return found[0] if len(found) == 1 else None


def escapes_checkout(path: Path, checkout: Path) -> bool:
    """A committed symlink must not make the trusted side read a file outside the checkout."""
    inside = checkout.absolute() in Path(os.path.abspath(path)).parents
    return inside and checkout.resolve() not in path.resolve().parents


def shown_path(path: Path, environ: Mapping[str, str]) -> str:
    """Relative to the repository root when it can be (annotations need that), else as given."""
    for root in (*workspace_roots(environ), os.getcwd()):
        if root:
            try:
                return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
            except ValueError:
                continue
    return str(path)


def grade_checkout(spec: AssignmentSpec, notebook: Path | None, include_hidden: bool, device: str,
                   allow_unisolated: bool, missing_message: str) -> Verdict:
    grading = Grading.of(spec, include_hidden, device)
    if notebook is None:
        return grading.error(spec.notebook, Path(spec.notebook).stem, missing_message)
    unit = read_submission(submission_file(notebook, spec), spec, grading)
    if isinstance(unit, Verdict):
        return unit
    verdicts: list[Verdict] = []
    job = JudgeJob(assignment=spec.id, assignments_dir=str(spec.root.parent), include_hidden=include_hidden,
                   device=device, allow_unisolated=allow_unisolated, single_submission=True)
    InProcessExecutor(job, spec).judge([unit], verdicts.append)
    return verdicts[0]


def run_ci(assignment: str, notebook: str | Path | None = None, *, checks_dir: str | Path | None = None,
           assignments_dir: str | Path | None = None, device: str = "auto", allow_unisolated: bool = False,
           junit_path: str | Path | None = None, summary_path: str | Path | None = None,
           comment: bool = False, provider: str = "auto", token_variable: str | None = None,
           api_timeout: float = 10.0, fail_under: float | None = None, db_url: str | None = None,
           student: str | None = None, environ: Mapping[str, str] | None = None) -> CiOutcome:
    """Grade a pull request's notebook; write the summary, JUnit and comment; decide the exit code.

    With ``checks_dir`` (a private copy of the course's ``assignments/`` folder, with
    ``reference_solutions/`` beside it) the hidden checks run too, and the sandbox must
    isolate the network and the filesystem unless ``allow_unisolated``. Without it, only
    public checks run, from the usual assignments folder. ``summary_path`` defaults to the
    CI's summary file ($GITHUB_STEP_SUMMARY). Exit code 1 when ``fail_under`` is given and
    the score is below it.
    """
    environ = os.environ if environ is None else environ
    include_hidden = checks_dir is not None
    if include_hidden and not Path(checks_dir).is_dir():
        raise GraderError(f"--checks-dir {checks_dir}: no such folder; point it at the private copy of the "
                          "course's assignments/ folder")
    checkout = Path.cwd()
    if include_hidden:
        refuse_checks_in_checkout(Path(checks_dir), checkout, environ)
    spec = load_assignment(assignment, checks_dir if include_hidden else assignments_dir)
    device = resolve_device(device)
    if notebook is not None:
        path: Path | None = Path(notebook)
        missing = f"{notebook}: no such file in the checkout; commit your notebook as {spec.notebook}"
        if not path.is_file():
            path = None
    else:
        path = find_pull_request_notebook(spec, checkout, excluded=[spec.root.parent])
        missing = (f"no {spec.notebook} in this pull request's checkout; commit your notebook under that name "
                   "(or, with several, keep exactly one)")
    if path is not None and escapes_checkout(path, checkout):
        missing = f"{shown_path(path, environ)} is a link to a file outside the checkout; commit the notebook itself"
        path = None
    verdict = grade_checkout(spec, path, include_hidden, device, allow_unisolated or not include_hidden, missing)
    shown = shown_path(path, environ) if path is not None else str(notebook or spec.notebook)
    verdict = verdict.model_copy(update={"submission": shown})
    hidden_not_run = 0 if include_hidden else spec.hidden_check_count()
    secrets = token_values(environ, token_variable)
    seen = student_view(verdict, spec.feedback)  # what the student reads; the gradebook keeps it all
    markdown = redact(render_markdown(seen, shown, hidden_not_run), secrets)
    outcome = CiOutcome(verdict=verdict, notebook=shown, markdown=markdown,
                        annotations=[redact(line, secrets) for line in annotations(seen, shown)])

    summary_path = summary_path or summary_file(environ)
    try:
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as handle:  # GitHub appends every step's summary
                handle.write(markdown + "\n")
            outcome.summary_path = str(summary_path)
        if junit_path:
            Path(junit_path).write_text(redact(junit_xml(seen), secrets), encoding="utf-8")
            outcome.junit_path = str(junit_path)
    except OSError as error:
        outcome.write_error = f"cannot write {error.filename}: {error.strerror}; choose a writable path"
        outcome.exit_code = 2

    pull_request: PullRequest | None = None
    if comment or db_url:
        try:
            pull_request = pull_request_from_environment(environ, provider, token_variable)
            outcome.pull_request = pull_request.label
        except CommentError as error:
            if comment:
                outcome.comment_error = str(error)
    if db_url:
        try:
            store(verdict, shown, pull_request, student or (pull_request.author if pull_request else ""), db_url)
        except GraderError as error:
            outcome.write_error = "; ".join(filter(None, [outcome.write_error, str(error)]))
            outcome.exit_code = 2
    if comment and pull_request is not None:
        try:
            outcome.comment = publish_comment(pull_request, comment_marker(spec.id),
                                              comment_body(markdown, spec.id), timeout=api_timeout)
        except CommentError as error:
            outcome.comment_error = str(error)

    if fail_under is not None and verdict.score < fail_under and not outcome.exit_code:
        outcome.exit_code = 1
    return outcome


def refuse_checks_in_checkout(checks_dir: Path, checkout: Path, environ: Mapping[str, str]) -> None:
    """Hidden checks run on the trusted side: a copy inside the student's checkout (a workspace the
    pull request writes) would let its files sit around the checks (a conftest.py above them, a
    planted helper), so it is refused."""
    checks = Path(os.path.realpath(checks_dir))
    for root in (checkout, environ.get("GITHUB_WORKSPACE"), environ.get("CI_PROJECT_DIR")):
        if root:
            workspace = Path(os.path.realpath(root))
            if checks == workspace or workspace in checks.parents:
                raise GraderError(f"--checks-dir {checks_dir} is inside the checkout being graded ({workspace}); "
                                  "check the private checks out outside the workspace (e.g. under $RUNNER_TEMP "
                                  "on GitHub, /tmp on GitLab) and point --checks-dir there")


def token_values(environ: Mapping[str, str], token_variable: str | None) -> list[str]:
    """Every token this job could hold (short values would redact ordinary words)."""
    return [environ[name] for name in token_variables(token_variable) if len(environ.get(name) or "") >= 6]


def store(verdict: Verdict, shown: str, pull_request: PullRequest | None, student: str, db_url: str) -> None:
    """Like `grader grade`: one run in the gradebook, named by the pull request so students do not collide."""
    submission = f"{pull_request.label}:{shown}" if pull_request else shown
    stored = verdict.model_copy(update={"submission": submission, "student": student or verdict.student})
    with Gradebook(db_url) as gradebook:
        gradebook.record(stored)
