"""The library's entry points: what every `grader` command calls, and what an instructor can call.

This module only wires stages together (intake → executor → gradebook → report); each stage
lives in its own module, and no library module imports this one.
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from grader import timeline
from grader.devices import resolve_device
from grader.errors import GraderError
from grader.executors import JudgeJob, choose_executor, start_batch
from grader.i18n import set_language, tr
from grader.intake import Intake, SubmissionFile, find_student_notebook, read_submission, submission_file
from grader.late import LatePolicies, apply_late_policy
from grader.models import DEFAULT_DB_URL, CellProgress, ExtractedSubmission, Verdict
from grader.spec import assignments_root, load_assignment
from grader.unchanged import graded_codes
from grader.verdicts import Grading

__all__ = ["check_notebook", "check_in_notebook", "student_assignments_dir", "grade_submissions", "latest_results", "student_result", "student_history",
           "export_results", "write_html_report", "validate_assignment", "ValidationReport", "MutantOutcome",
           "sandbox_report", "doctor", "DoctorReport", "resolve_device", "release_assignment", "run_ci",
           "serve",
           "write_feedback", "override_score", "void_check", "adjustment_log", "assignment_runs",
           "exclude_run", "course_results", "export_course", "gradescope_zip",
           "run_gradescope",
           "author_assignment"]


# Loaded on first use: `grader grade` and `grader check` need neither.
_LAZY = {"DoctorReport": "grader.doctor", "doctor": "grader.doctor", "sandbox_report": "grader.doctor",
         "MutantOutcome": "grader.validation", "ValidationReport": "grader.validation",
         "validate_assignment": "grader.validation"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'grader.api' has no attribute {name!r}")


def check_notebook(assignment: str, notebook: str | Path | None = None, device: str = "cpu",
                   assignments_dir: str | Path | None = None, lang: str = "en",
                   on_cell: Callable[[CellProgress], None] | None = None) -> Verdict:
    """What `grader check` does: public checks only, nothing stored; messages in ``lang``.

    ``on_cell`` is told as each of the notebook's cells starts and ends in the sandbox. Ctrl-C
    raises KeyboardInterrupt, with the sandbox ended. Off Linux (or with GRADER_PORTABLE=1) the notebook
    runs in a plain subprocess (``grader.sandbox.portable``): public checks judge only the student's work.
    """
    set_language(lang)  # a bad --lang fails before anything starts
    spec = load_assignment(assignment, student_assignments_dir(assignment, notebook, assignments_dir))
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

    from grader.sandbox.portable import portable_mode

    from grader.sandbox.host.errors import SandboxError

    try:
        with start_judge(spec, single_submission=True, include_hidden=False, device=device, lang=lang,
                         on_cell=on_cell, portable=portable_mode()) as judge:
            judge.run([unit], verdicts.append)
    except SandboxError as error:  # public checks judge only the student's own code: offer to run it plainly
        raise GraderError(tr("the sandbox could not start ({error}); check without it (your own code, on your "
                             "own machine): GRADER_PORTABLE=1 grader check {assignment}", error=error,
                             assignment=spec.id)) from None
    if not verdicts:  # the run stopped before its one submission was judged
        raise KeyboardInterrupt
    timeline.mark("verdict")
    return verdicts[0]


def student_assignments_dir(assignment: str, notebook: str | Path | None = None,
                            assignments_dir: str | Path | None = None) -> Path | None:
    """Where `grader check` finds the assignment: ``--assignments``, $GRADER_ASSIGNMENTS or ./assignments
    as for every command, else the ``assignments/`` of the bundle the named notebook sits in, else the
    grader's own (a course checkout). Anything else is one line saying where the bundle is expected,
    never a path inside the installed package."""
    if assignments_dir or os.environ.get("GRADER_ASSIGNMENTS") or (Path.cwd() / "assignments").is_dir():
        return Path(assignments_dir) if assignments_dir else None
    if notebook is not None:
        for folder in Path(notebook).absolute().parents:
            if (folder / "assignments" / assignment / "assignment.toml").is_file():
                return folder / "assignments"
    if (assignments_root() / assignment / "assignment.toml").is_file():
        return None
    raise GraderError(tr("no assignments/{assignment} in {folder}: run grader check in the {assignment} folder your "
                         "instructor gave you (it holds {assignment}.ipynb and assignments/), or name the notebook "
                         "in it: grader check {assignment} PATH/TO/{assignment}/{assignment}.ipynb",
                         assignment=assignment, folder=Path.cwd()))


def check_in_notebook(assignment: str, notebook: str | os.PathLike | None = None, lang: str = "en",
                      device: str = "cpu") -> None:
    """What `grader.check("hw2")` does in a notebook cell: the public checks on the notebook being edited
    (``grader.notebook`` says which it finds), shown in the notebook with the file and time it graded."""
    from grader import notebook as in_notebook

    if in_notebook.inside_sandbox():
        return None
    set_language(lang)
    try:
        result = _check_in_notebook(assignment, notebook, lang, device)
    except GraderError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    except KeyboardInterrupt:
        print(tr("interrupted: the check was stopped before it finished; nothing was graded"), file=sys.stderr)
        return None
    in_notebook.show(result)
    return None


def _check_in_notebook(assignment: str, notebook, lang: str, device: str):
    from grader import notebook as in_notebook

    shell = in_notebook.current_shell()
    if notebook is None and "google.colab" in sys.modules:
        live = in_notebook.colab_live_notebook()
        if live is not None:
            spec = load_assignment(assignment, student_assignments_dir(assignment, None))
            with tempfile.TemporaryDirectory(prefix="grader-colab-") as scratch:
                written = Path(scratch) / spec.notebook
                written.write_text(live, encoding="utf-8")
                verdict = check_notebook(assignment, written, device=device, lang=lang,
                                         assignments_dir=student_assignments_dir(assignment, None),
                                         on_cell=in_notebook.print_cell)
            source = in_notebook.GradedSource(path=tr("the notebook open in Colab, as it is now"), kind="live")
            return in_notebook.NotebookCheck(verdict, source, spec.hidden_check_count())
        raise GraderError(tr("in Colab your notebook is in Google Drive, not in this folder: mount it (from "
                             "google.colab import drive; drive.mount('/content/drive')), save it (Ctrl+S), then "
                             "name it: grader.check('{assignment}', '/content/drive/MyDrive/PATH/TO/"
                             "{assignment}.ipynb')", assignment=assignment))
    path = Path(notebook) if notebook is not None else in_notebook.session_notebook(shell)
    assignments_dir = student_assignments_dir(assignment, path)
    spec = load_assignment(assignment, assignments_dir)
    if path is None:
        local = Path.cwd() / spec.notebook
        path = local if local.is_file() else None
    if path is not None:
        if not path.is_file():
            raise GraderError(tr("{path}: no such file; name your notebook: grader.check('{assignment}', "
                                 "'path/to/{notebook}')", path=path, assignment=assignment, notebook=spec.notebook))
        source = in_notebook.GradedSource(path=str(path), kind="saved",
                                          saved_at=datetime.fromtimestamp(path.stat().st_mtime),
                                          up_to_date=in_notebook.holds_last_cell(path, shell))
        verdict = check_notebook(assignment, path, device=device, assignments_dir=assignments_dir, lang=lang,
                                 on_cell=in_notebook.print_cell)
    else:
        cells = in_notebook.kernel_cells(shell)
        if not cells:
            raise GraderError(tr("no {notebook} in {folder} and no cells run in this kernel; name your notebook: "
                                 "grader.check('{assignment}', 'path/to/{notebook}')", notebook=spec.notebook,
                                 folder=Path.cwd(), assignment=assignment))
        with tempfile.TemporaryDirectory(prefix="grader-kernel-") as scratch:
            import nbformat

            written = Path(scratch) / spec.notebook
            nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), written)
            verdict = check_notebook(assignment, written, device=device, assignments_dir=assignments_dir,
                                     lang=lang, on_cell=in_notebook.print_cell)
        source = in_notebook.GradedSource(path=tr("the cells this kernel ran"), kind="kernel")
    return in_notebook.NotebookCheck(verdict, source, spec.hidden_check_count())


def grade_submissions(assignment: str, paths: Iterable[str | Path], db_url: str = DEFAULT_DB_URL,
                      device: str = "cpu", include_hidden: bool = True,
                      assignments_dir: str | Path | None = None, workers: int | None = 1, regrade: bool = False,
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
    ``workers`` None: as many local workers as pay off for the batch (``grader.executors.auto_workers``).
    With ``cluster`` (a Dask scheduler address or ``local:N``) the submissions are judged there.
    """
    paths = list(paths)
    spec = load_assignment(assignment, assignments_dir)
    # A cluster's workers may have the GPU this coordinator lacks: an explicit cuda is theirs to check.
    device = device if cluster and device.startswith("cuda") else resolve_device(device)
    grading = Grading.of(spec, include_hidden, device)
    job = JudgeJob(assignment=spec.id, assignments_dir=str(spec.root.parent), include_hidden=include_hidden,
                   device=device, allow_unisolated=allow_unisolated)
    with Intake(paths, spec) as intake, ExitStack() as stack:
        files = intake.files
        if on_plan is not None:
            on_plan(files)
        started: list = []

        def start():
            """The batch's sandboxes (and a pool's template), launched once: they import torch while the
            gradebook opens and the notebooks are read."""
            if not started:
                started.append(stack.enter_context(start_batch(spec, job, len(files), workers)))
                timeline.mark("batch.started")
            return started[0]

        # A resume whose every submission is unchanged needs no sandbox: a cheap look at the gradebook
        # says so, and the sandboxes are launched at the first notebook that is new or changed.
        graded = None if regrade or cluster else graded_codes(db_url, grading)
        if graded is None and not cluster:
            start()
        extracted = {}
        for file in files:
            unit = extracted[file.name] = read_submission(file, spec, grading)
            if graded is not None and not started and isinstance(unit, ExtractedSubmission) \
                    and (unit.path, unit.sha256) not in graded:
                start()
        with _gradebook(db_url, create=True, assignments_dir=spec.root.parent) as gradebook:
            batch = _Batch(spec, grading, gradebook, files, on_verdict)
            timeline.mark("gradebook.open")
            units = batch.read(regrade, extracted)
            timeline.mark("intake.read", units=len(units))
            if on_start is not None:
                on_start(len(units) + len(batch.unreadable), len(batch.verdicts))
            for verdict in batch.unreadable:
                batch.keep(verdict)
            if units:
                executor = choose_executor(spec, job, grading, len(units), workers, cluster) if cluster else \
                    start().executor(grading, len(units))
                executor.judge(units, batch.keep)
            batch.verdicts = _final(batch.verdicts, gradebook.adjustments(spec.id))
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
        self.code: dict[str, list] = {}  # each read submission's extracted cells, stored with it
        self.late = LatePolicies(spec.root.parent)  # extensions: [late.extensions] and the roster

    def read(self, regrade: bool, extracted: dict) -> list[ExtractedSubmission]:
        """What is left to judge; ``extracted``: each file's ``read_submission`` by name."""
        units: dict[str, ExtractedSubmission] = {}
        for file in self.files.values():
            unit = extracted[file.name]
            if isinstance(unit, Verdict):
                self.unreadable.append(unit)
                continue
            self.code[unit.path] = unit.cells
            units[unit.path] = unit
        found = {} if regrade or not units else self.gradebook.unchanged(
            self.spec.id, [(unit.path, unit.sha256) for unit in units.values()], self.grading.checks_fingerprint,
            self.grading.grader_version, self.grading.include_hidden, self.grading.device)
        stored = {unit.path: found[(unit.path, unit.sha256)] for unit in units.values()
                  if (unit.path, unit.sha256) in found}
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
        timeline.mark("verdict")
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
        deadline = self.late.deadline(self.spec, verdict.student) if self.spec.late is not None else None
        verdict = apply_late_policy(verdict, self.spec, file.submitted_at if file else None, deadline)
        verdict = self.gradebook.record_or_error(verdict, self.code.get(verdict.submission))
        self.verdicts.append(verdict)
        if self.on_verdict is not None:
            self.on_verdict(verdict)


def _final(verdicts: list[Verdict], records) -> list[Verdict]:
    """The verdicts with the overrides and voided checks in effect (a regrade may flag an override for review)."""
    from grader.adjustments import apply_to_all

    return apply_to_all(verdicts, records)


def _gradebook(db_url: str, create: bool = False, assignments_dir: str | Path | None = None):
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    gradebook = Gradebook(db_url, create=create)
    gradebook.reassess = LatePolicies(assignments_dir)
    return gradebook


def latest_results(assignment: str, db_url: str = DEFAULT_DB_URL,
                   assignments_dir: str | Path | None = None) -> list[Verdict]:
    """The newest verdict of every student (final scores); raises when the gradebook has none for it."""
    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        verdicts = gradebook.latest(assignment)
        if not verdicts:
            raise gradebook.no_results(assignment)
    return verdicts


def _one_student(gradebook, assignment: str, student: str, db_url: str) -> str:
    """The gradebook's name of ``student``: as given, else the one the roster knows by that id, email or
    alias (``grader show hw2 s001`` for "Ann Lee (101)"); else a GraderError with the nearest names."""
    known = gradebook.students(assignment)
    if student in known:
        return student
    roster = gradebook.reassess.enrolled() if isinstance(gradebook.reassess, LatePolicies) else None
    entry = roster.match(student) if roster is not None else None
    if entry is not None:
        theirs = [verdict for verdict in gradebook.latest(assignment, adjusted=False)
                  if roster.match(verdict.student) == entry]
        if theirs:
            return max(theirs, key=lambda verdict: verdict.started_at).student
    if student not in known:
        if not known:
            raise gradebook.no_results(assignment)
        close = difflib.get_close_matches(student, known, n=1)
        suggestion = f"did you mean {close[0]}?" if close else f"known: {', '.join(known[:10])}" + \
            (", ..." if len(known) > 10 else "")
        raise GraderError(f"no student {student!r} in the {assignment} results of {db_url}; {suggestion}")


def student_result(assignment: str, student: str, db_url: str = DEFAULT_DB_URL,
                   assignments_dir: str | Path | None = None) -> Verdict:
    """What `grader show` prints: the newest verdict of one student, in full."""
    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        student = _one_student(gradebook, assignment, student, db_url)
        counting = gradebook.latest(assignment, student)
        if not counting:
            from grader.score_changes import no_run_counts
            raise no_run_counts(assignment, student)
        return counting[0]


def student_history(assignment: str, student: str, db_url: str = DEFAULT_DB_URL,
                    assignments_dir: str | Path | None = None) -> list[Verdict]:
    """What `grader history` prints: every stored run of one student, oldest first."""
    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        student = _one_student(gradebook, assignment, student, db_url)
        return gradebook.history(assignment, student)


def export_results(assignment: str, csv_path: str | Path, db_url: str = DEFAULT_DB_URL,
                   assignments_dir: str | Path | None = None) -> list[Verdict]:
    """What `grader export --csv` writes: one row per student, a column per check and the total."""
    from grader.report import write_csv

    verdicts = latest_results(assignment, db_url, assignments_dir)
    write_csv(verdicts, csv_path)
    return verdicts


def write_html_report(assignment: str, html_path: str | Path, db_url: str = DEFAULT_DB_URL,
                      assignments_dir: str | Path | None = None) -> list[Verdict]:
    """What `grader report --html` writes: one self-contained page about the latest results."""
    from grader.report import render_html, writable

    path = writable(html_path)
    verdicts = latest_results(assignment, db_url, assignments_dir)
    path.write_text(render_html(assignment, verdicts), encoding="utf-8")
    return verdicts


def write_feedback(assignment: str, out: str | Path, db_url: str = DEFAULT_DB_URL, fmt: str = "html",
                   lang: str = "en", zip_layout: str | None = None, assignments_dir: str | Path | None = None):
    """What `grader feedback` writes: one page per student (their latest run) in ``out``, in ``lang``.

    Each page goes through ``grader.feedback.student_visible`` (hidden checks: title, pass/fail and
    points only). ``zip_layout="moodle"`` also packs them for Moodle's feedback-files upload.
    Returns a ``grader.feedback.FeedbackWritten``.
    """
    from grader.feedback import (StudentFeedback, moodle_folder, roster_moodle_folder, student_visible,
                                 write_feedback_files)
    from grader.course import newest_per_enrolled_student
    from grader.feedback.translate import verdict_translator
    from grader.report.feedback_page import render_feedback_html, render_feedback_markdown

    try:
        spec = load_assignment(assignment, assignments_dir)
        title, catalogs = spec.title, [spec.public_checks, spec.checks_root, spec.hidden_checks]
        policy = spec.feedback
    except GraderError:  # graded elsewhere: the pages still say everything the gradebook knows
        title, catalogs, policy = assignment, [], None
    set_language(lang, catalogs)
    translate = verdict_translator(lang, catalogs)
    try:
        with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
            verdicts = gradebook.latest(assignment)
            if not verdicts:
                raise gradebook.no_results(assignment)
            roster = gradebook.reassess.enrolled()
            verdicts = newest_per_enrolled_student(verdicts, roster)
            pages = [StudentFeedback(assignment=assignment, title=title, verdict=translate(student_visible(verdict, policy)),
                                     code=gradebook.submission_code(assignment, verdict.submission, verdict.sha256),
                                     moodle_folder=moodle_folder(verdict.submission) or roster_moodle_folder(
                                         roster, verdict.student))
                     for verdict in verdicts]
        render = render_feedback_markdown if fmt == "md" else render_feedback_html
        return write_feedback_files(pages, out, render, fmt=fmt, zip_layout=zip_layout)
    finally:
        set_language("en")


def override_score(assignment: str, student: str, *, check: str | None = None, points: float | None = None,
                   reason: str = "", by: str = "", undo: bool = False, db_url: str = DEFAULT_DB_URL,
                   assignments_dir: str | Path | None = None):
    """What `grader override` does: append one change to a student's score; returns (record, final verdict).

    ``check`` and ``points``: that check's points; ``points`` alone: the whole score; ``undo``: append
    the reversal of the student's newest change in effect (of ``check``, if given). Nothing is edited.
    """
    from grader import score_changes

    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        student = _one_student(gradebook, assignment, student, db_url)
        record = score_changes.override(gradebook, assignment, student, check=check, points=points, reason=reason,
                                        by=by, undo=undo)
        return record, gradebook.latest(assignment, student)[0]


def void_check(assignment: str, check: str, *, mode: str, reason: str = "", by: str = "", undo: bool = False,
               db_url: str = DEFAULT_DB_URL, assignments_dir: str | Path | None = None):
    """What `grader void-check` does: a broken check counts as full points (``mode="full"``) or not at all
    (``"drop"``) for everyone, recorded like an override; ``undo`` reverses the newest void of it.
    Returns (record, every student's final verdict)."""
    from grader import score_changes

    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        record = score_changes.void(gradebook, assignment, check, mode=mode, reason=reason, by=by, undo=undo)
        return record, gradebook.latest(assignment)


def assignment_runs(assignment: str, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader runs` lists: every stored run of the assignment, oldest first, excluded ones marked."""
    with _gradebook(db_url) as gradebook:
        runs = gradebook.history(assignment)
        if not runs:
            raise gradebook.no_results(assignment)
    return runs


def exclude_run(assignment: str, run_id: int, *, reason: str = "", by: str = "", undo: bool = False,
                db_url: str = DEFAULT_DB_URL):
    """What `grader runs --exclude` does: the run stops counting (the student's previous run, if any, is
    their result again), recorded like an override; ``undo`` counts it again. Nothing is deleted."""
    from grader import score_changes

    with _gradebook(db_url) as gradebook:
        return score_changes.exclude(gradebook, assignment, run_id, reason=reason, by=by, undo=undo, db_url=db_url)


def course_results(db_url: str = DEFAULT_DB_URL, assignments_dir: str | Path | None = None,
                   roster: str | Path | None = None):
    """What `grader results --course` shows: a ``grader.course.CourseTable``, one row per enrolled student
    (roster.csv beside assignments/, or ``roster``) with every assignment's final score, missing work as 0."""
    from grader.course import gradebook_course_table, load_roster, roster_path
    from grader.spec import assignments_root

    root = assignments_root(assignments_dir)
    enrolled = load_roster(roster if roster else roster_path(root))
    with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
        return gradebook_course_table(gradebook, root, enrolled)


def export_course(csv_path: str | Path, fmt: str = "csv", assignment: str | None = None,
                  db_url: str = DEFAULT_DB_URL, assignments_dir: str | Path | None = None,
                  roster: str | Path | None = None, canvas_ids: dict[str, str] | None = None):
    """What `grader export --course` / `--format canvas|moodle` writes: one row per enrolled student, a
    column per assignment (only ``assignment`` when given); returns the ``CourseTable`` (with the
    submissions that matched nobody)."""
    from grader.report.course_files import canvas_rows, course_csv_rows, moodle_rows, write_rows

    path = _writable(csv_path)
    table = course_results(db_url, assignments_dir=assignments_dir, roster=roster)
    if assignment is not None:
        if assignment not in table.assignments:
            with _gradebook(db_url, assignments_dir=assignments_dir) as gradebook:
                raise gradebook.no_results(assignment)
        table = table.only(assignment)
    titles, ids = {}, {}
    for name in table.assignments:
        try:
            spec = load_assignment(name, assignments_dir)
            titles[name] = spec.title
            if spec.canvas_id:
                ids[name] = spec.canvas_id
        except GraderError:
            titles[name] = name
    ids.update(canvas_ids or {})
    if fmt == "canvas":
        rows = canvas_rows(table, titles, ids)
    elif fmt == "moodle":
        rows = moodle_rows(table, titles)
    else:
        rows = course_csv_rows(table)
    write_rows(rows, path)
    return table


def _writable(path):
    from grader.report import writable

    return writable(path)


def adjustment_log(assignment: str, db_url: str = DEFAULT_DB_URL):
    """Every change made to an assignment's scores, oldest first (``grader override ASSIGNMENT --list``)."""
    with _gradebook(db_url) as gradebook:
        return gradebook.adjustments(assignment)


def gradescope_zip(assignment: str, out: str | Path, assignments_dir: str | Path | None = None) -> list[str]:
    """What `grader gradescope` writes: Gradescope's autograder zip for the assignment; returns its members."""
    import importlib.metadata

    from grader.gradescope import build_zip

    spec = load_assignment(assignment, assignments_dir)
    try:
        torch_version = importlib.metadata.version("torch").split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        torch_version = "2.13.0"
    return build_zip(spec, out, Path(__file__).resolve().parent.parent, torch_version)


def run_gradescope(root: str | Path, assignment: str, allow_unisolated: bool = True) -> dict:
    """What the zip's run_autograder does: grade ``root``/submission with every check, write
    ``root``/results/results.json (returned too). Paths under ``root`` as Gradescope lays them out."""
    import json
    import tempfile
    import time

    from grader.feedback import student_visible
    from grader.gradescope import RESULTS, SUBMISSION, find_submission, results_json

    root = Path(root)
    spec = load_assignment(assignment, root / "source" / "assignments")
    started = time.monotonic()
    notebook = find_submission(root / SUBMISSION, spec)
    if notebook is None:
        verdict = Grading.of(spec, include_hidden=True, device="cpu").error(
            spec.notebook, "submission", f"no {spec.notebook} in your submission: upload the notebook named "
                                         f"{spec.notebook} (or only one notebook)")
    else:
        with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as folder:
            verdict = grade_submissions(assignment, [notebook], db_url=f"sqlite:///{folder}/grades.db", device="cpu",
                                        assignments_dir=root / "source" / "assignments", workers=1, regrade=True,
                                        allow_unisolated=allow_unisolated)[0]
    results = results_json(student_visible(verdict, spec.feedback), time.monotonic() - started)
    path = root / RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def release_assignment(*args, **kwargs):
    """What `grader release` does (``grader.release.release_assignment``)."""
    from grader.release import release_assignment as release

    return release(*args, **kwargs)


def run_ci(*args, **kwargs):
    """What `grader ci` does (``grader.ci.run_ci``)."""
    from grader.ci import run_ci as ci

    return ci(*args, **kwargs)



def serve(port: int, checks_dir: str | Path, db_url: str = DEFAULT_DB_URL, **options) -> None:
    """What `grader serve` does (``grader.serve.run_service``): serve webhooks until SIGTERM."""
    from grader.serve import run_service, service_config

    device = options.pop("device", "auto")
    # A cluster's workers may have the GPU this machine lacks: an explicit cuda is theirs to check.
    options["device"] = device if options.get("cluster") and device.startswith("cuda") else resolve_device(device)
    run_service(service_config(port, checks_dir, db_url, **options))


def author_assignment(*args, **kwargs):
    """What `grader author` does (``grader.authoring.author_assignment``)."""
    from grader.authoring import author_assignment as author

    return author(*args, **kwargs)
