"""The library's entry points: what every `grader` command calls, and what an instructor can call.

This module only wires stages together (intake → executor → gradebook → report); each stage
lives in its own module, and no library module imports this one.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Callable, Iterable

from grader.devices import resolve_device
from grader.doctor import DoctorReport, doctor, sandbox_report
from grader.errors import GraderError
from grader.executors import JudgeJob, choose_executor, prepare_workers
from grader.i18n import set_language
from grader.intake import Intake, SubmissionFile, find_student_notebook, read_submission, submission_file
from grader.late import apply_late_policy
from grader.models import DEFAULT_DB_URL, ExtractedSubmission, Verdict
from grader.spec import load_assignment
from grader.validation import MutantOutcome, ValidationReport, validate_assignment
from grader.verdicts import Grading

__all__ = ["check_notebook", "grade_submissions", "latest_results", "student_result", "student_history",
           "export_results", "write_html_report", "validate_assignment", "ValidationReport", "MutantOutcome",
           "sandbox_report", "doctor", "DoctorReport", "resolve_device", "release_assignment", "run_ci",
           "author_assignment"]


def check_notebook(assignment: str, notebook: str | Path | None = None, device: str = "cpu",
                   assignments_dir: str | Path | None = None, lang: str = "en") -> Verdict:
    """What `grader check` does: public checks only, nothing stored; messages in ``lang``."""
    set_language(lang)  # a bad --lang fails before anything starts
    spec = load_assignment(assignment, assignments_dir)
    path = Path(notebook) if notebook else find_student_notebook(spec)
    if not path.exists():
        raise GraderError(f"{path}: no such file; name your notebook: grader check {spec.id} path/to/{spec.notebook}")
    device = resolve_device(device)
    grading = Grading.of(spec, include_hidden=False, device=device)
    unit = read_submission(submission_file(path, spec), spec, grading)
    if isinstance(unit, Verdict):
        return unit
    verdicts: list[Verdict] = []
    from grader.judge import start_judge

    with start_judge(spec, single_submission=True, include_hidden=False, device=device, lang=lang) as judge:
        judge.run([unit], verdicts.append)
    return verdicts[0]


def grade_submissions(assignment: str, paths: Iterable[str | Path], db_url: str = DEFAULT_DB_URL,
                      device: str = "cpu", include_hidden: bool = True,
                      assignments_dir: str | Path | None = None, workers: int = 1, regrade: bool = False,
                      allow_unisolated: bool = False, cluster: str | None = None,
                      on_start: Callable[[int, int], None] | None = None,
                      on_verdict: Callable[[Verdict], None] | None = None,
                      on_plan: Callable[[list[SubmissionFile]], None] | None = None) -> list[Verdict]:
    """What `grader grade` does: every check, every verdict stored as soon as it is made.

    Files come in any layout the intake knows (``grader.intake``); each is exactly one verdict.
    A submission whose code, checks and grader version are unchanged since its last stored
    run is not graded again (its stored verdict is returned) unless ``regrade``. Where one
    student handed in several files, all are graded and kept in the history and the newest is
    stored last, so it is the student's result. ``on_plan(files)`` sees the files found (with
    which were set aside), ``on_start(to_grade, skipped)`` is called once before grading starts.
    With ``cluster`` (a Dask scheduler address or ``local:N``) the submissions are judged there.
    """
    paths = list(paths)
    spec = load_assignment(assignment, assignments_dir)
    # A cluster's workers may have the GPU this coordinator lacks: an explicit cuda is theirs to check.
    device = device if cluster and device.startswith("cuda") else resolve_device(device)
    grading = Grading.of(spec, include_hidden, device)
    with Intake(paths, spec) as intake:
        files = intake.files
        if on_plan is not None:
            on_plan(files)
        if workers > 1 and len(files) > 1 and not cluster:
            prepare_workers()  # the workers' imports run while the gradebook opens and notebooks are read
        with _gradebook(db_url, create=True) as gradebook:
            batch = _Batch(spec, grading, gradebook, files, on_verdict)
            units = batch.read(regrade)
            if on_start is not None:
                on_start(len(units) + len(batch.unreadable), len(batch.verdicts))
            for verdict in batch.unreadable:
                batch.keep(verdict)
            if units:
                job = JudgeJob(assignment=spec.id, assignments_dir=str(spec.root.parent), include_hidden=include_hidden,
                               device=device, allow_unisolated=allow_unisolated)
                choose_executor(spec, job, grading, len(units), workers, cluster).judge(units, batch.keep)
    order = {file.name: index for index, file in enumerate(files)}
    return sorted(batch.verdicts, key=lambda verdict: order.get(verdict.submission, len(order)))


class _Batch:
    """One `grade` run's bookkeeping: what to grade, and storing each verdict as it comes."""

    def __init__(self, spec, grading: Grading, gradebook, files: list[SubmissionFile],
                 on_verdict: Callable[[Verdict], None] | None):
        self.spec, self.grading, self.gradebook, self.on_verdict = spec, grading, gradebook, on_verdict
        self.files = {file.name: file for file in files}
        self.verdicts: list[Verdict] = []
        self.unreadable: list[Verdict] = []
        # A student's files graded in this run, stored together once all are judged, the chosen one last.
        self.groups: dict[str, list[str]] = {}
        self.held: dict[str, list[Verdict]] = {}

    def read(self, regrade: bool) -> list[ExtractedSubmission]:
        units: dict[str, ExtractedSubmission] = {}
        stored: dict[str, Verdict] = {}
        for file in self.files.values():
            unit = read_submission(file, self.spec, self.grading)
            if isinstance(unit, Verdict):
                self.unreadable.append(unit)
                continue
            previous = None if regrade else self.gradebook.find_unchanged(
                self.spec.id, unit.path, unit.sha256, self.grading.checks_fingerprint, self.grading.grader_version,
                self.grading.include_hidden, self.grading.device)
            if previous is not None:
                stored[unit.path] = previous
            units[unit.path] = unit
        by_student: dict[str, list[str]] = {}
        for name in units:
            by_student.setdefault(self.files[name].student, []).append(name)
        for student, names in by_student.items():
            changed = [name for name in names if name not in stored]
            if len(names) > 1 and changed:
                self.groups[student] = names  # one changed: judge them all, so the chosen one is stored last
            for name in names:
                if name in stored and not (len(names) > 1 and changed):
                    self.verdicts.append(stored.pop(name))
                    del units[name]
        return list(units.values())

    def keep(self, verdict: Verdict) -> None:
        file = self.files.get(verdict.submission)
        student = file.student if file is not None else verdict.student
        if student in self.groups:
            held = self.held.setdefault(student, [])
            held.append(verdict)
            if len(held) < len(self.groups[student]):
                return
            held.sort(key=lambda v: self.files[v.submission].set_aside_for is None)  # the chosen one last
            for each in held:
                self._store(each)
            return
        self._store(verdict)

    def _store(self, verdict: Verdict) -> None:
        file = self.files.get(verdict.submission)
        verdict = apply_late_policy(verdict, self.spec, file.submitted_at if file else None)
        verdict = self.gradebook.record_or_error(verdict)
        self.verdicts.append(verdict)
        if self.on_verdict is not None:
            self.on_verdict(verdict)


def _gradebook(db_url: str, create: bool = False):
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    return Gradebook(db_url, create=create)


def latest_results(assignment: str, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """The newest verdict of every student; raises when the gradebook has none for the assignment."""
    with _gradebook(db_url) as gradebook:
        verdicts = gradebook.latest(assignment)
    if not verdicts:
        raise GraderError(f"no results for {assignment} in {db_url}; grade first: grader grade {assignment} DIR")
    return verdicts


def _one_student(gradebook, assignment: str, student: str, db_url: str) -> None:
    known = gradebook.students(assignment)
    if student not in known:
        if not known:
            raise GraderError(f"no results for {assignment} in {db_url}; grade first: grader grade {assignment} DIR")
        close = difflib.get_close_matches(student, known, n=1)
        suggestion = f"did you mean {close[0]}?" if close else f"known: {', '.join(known[:10])}" + \
            (", ..." if len(known) > 10 else "")
        raise GraderError(f"no student {student!r} in the {assignment} results of {db_url}; {suggestion}")


def student_result(assignment: str, student: str, db_url: str = DEFAULT_DB_URL) -> Verdict:
    """What `grader show` prints: the newest verdict of one student, in full."""
    with _gradebook(db_url) as gradebook:
        _one_student(gradebook, assignment, student, db_url)
        return gradebook.latest(assignment, student)[0]


def student_history(assignment: str, student: str, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader history` prints: every stored run of one student, oldest first."""
    with _gradebook(db_url) as gradebook:
        _one_student(gradebook, assignment, student, db_url)
        return gradebook.history(assignment, student)


def export_results(assignment: str, csv_path: str | Path, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader export --csv` writes: one row per student, a column per check and the total."""
    from grader.report import write_csv

    verdicts = latest_results(assignment, db_url)
    write_csv(verdicts, csv_path)
    return verdicts


def write_html_report(assignment: str, html_path: str | Path, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader report --html` writes: one self-contained page about the latest results."""
    from grader.report import render_html, writable

    path = writable(html_path)
    verdicts = latest_results(assignment, db_url)
    path.write_text(render_html(assignment, verdicts), encoding="utf-8")
    return verdicts


def release_assignment(*args, **kwargs):
    """What `grader release` does (``grader.release.release_assignment``)."""
    from grader.release import release_assignment as release

    return release(*args, **kwargs)


def run_ci(*args, **kwargs):
    """What `grader ci` does (``grader.ci.run_ci``)."""
    from grader.ci import run_ci as ci

    return ci(*args, **kwargs)



def author_assignment(*args, **kwargs):
    """What `grader author` does (``grader.authoring.author_assignment``)."""
    from grader.authoring import author_assignment as author

    return author(*args, **kwargs)
