"""The gradebook: every grading run, kept with SQLAlchemy (SQLite with WAL by default).

Only the trusted side writes here. Grading a notebook again adds a run; nothing is
overwritten, so a grade's whole history stays visible.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint,
                        bindparam, create_engine, event, func, insert, select, text, update)
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, joinedload, mapped_column, relationship,
                            selectinload)

from grader.adjustments import AdjustmentRecord, apply_to_all, excluded_runs
from grader.errors import GraderError
from grader.models import DEFAULT_DB_URL, CellResult, CheckResult, CodeCell, Verdict, utcnow

MAX_STORED_OUTPUT = 64 * 1024


class Base(DeclarativeBase):
    pass


class AssignmentRow(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    max_score: Mapped[float] = mapped_column(Float, default=0.0)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("assignment_id", "path", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    student: Mapped[str] = mapped_column(String(200), index=True)
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    code: Mapped[list | None] = mapped_column(JSON, nullable=True)  # the extracted cells: [{index, source}]


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    include_hidden: Mapped[bool] = mapped_column(Boolean, default=True)
    duration: Mapped[float] = mapped_column(Float)
    device: Mapped[str] = mapped_column(String(40))
    grader_version: Mapped[str] = mapped_column(String(40))
    checks_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    layers: Mapped[dict] = mapped_column(JSON, default=dict)
    cells: Mapped[list] = mapped_column(JSON, default=list)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    raw_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    late_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    penalty: Mapped[float] = mapped_column(Float, default=0.0)
    submission: Mapped[SubmissionRow] = relationship()
    checks: Mapped[list["CheckRow"]] = relationship(back_populates="run", order_by="CheckRow.position")


class CheckRow(Base):
    __tablename__ = "check_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text, default="")
    student_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    run: Mapped[RunRow] = relationship(back_populates="checks")


class ServeJobRow(Base):
    """One commit the grading service (`grader serve`) was asked to grade: its queue, kept across restarts.

    ``state``: queued, running, done, superseded (a newer push to the same pull request or branch came
    first). No token or secret is ever stored here; the clone URL is stored without credentials.
    """

    __tablename__ = "serve_jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    forge: Mapped[str] = mapped_column(String(20))
    project: Mapped[str] = mapped_column(String(300))  # owner/name on GitHub, the project id on GitLab
    repository: Mapped[str] = mapped_column(String(200))
    clone_url: Mapped[str] = mapped_column(Text)
    sha: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(Text, default="")
    pull_request: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assignment: Mapped[str] = mapped_column(String(100))
    student: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    comment_url: Mapped[str] = mapped_column(Text, default="")


class AdjustmentRow(Base):
    """A person's change to scores (``grader.adjustments``): appended, never edited or deleted."""

    __tablename__ = "adjustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    student: Mapped[str | None] = mapped_column(String(200), nullable=True)  # None: everyone (a voided check)
    kind: Mapped[str] = mapped_column(String(20))
    check_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    old_points: Mapped[float | None] = mapped_column(Float, nullable=True)
    graded_points: Mapped[float | None] = mapped_column(Float, nullable=True)
    graded_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    reverses: Mapped[int | None] = mapped_column(ForeignKey("adjustments.id"), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    made_by: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class _Statements:
    """The statements that store a verdict, built once: SQLAlchemy then finds each one's compiled form in
    its cache without building and hashing the statement again for every verdict."""

    def __init__(self):
        assignments, submissions = AssignmentRow.__table__, SubmissionRow.__table__
        self.assignment_id = select(assignments.c.id).where(assignments.c.name == bindparam("name"))
        self.insert_assignment = insert(assignments)
        # Written only where it differs, as the ORM did: a verdict of every check names the assignment's total.
        self.set_max_score = (update(assignments).where(assignments.c.id == bindparam("assignment"),
                                                        assignments.c.max_score != bindparam("new_max_score"))
                              .values(max_score=bindparam("new_max_score")))
        self.submissions_of = select(submissions.c.id, submissions.c.path, submissions.c.sha256,
                                     submissions.c.code.is_not(None)).where(
            submissions.c.assignment_id == bindparam("assignment"))
        self.insert_submission = insert(submissions)
        self.set_code = (update(submissions).where(submissions.c.id == bindparam("submission"),
                                                   submissions.c.code.is_(None))
                         .values(code=bindparam("new_code", type_=submissions.c.code.type)))
        self.insert_run = insert(RunRow.__table__)
        self.insert_check = insert(CheckRow.__table__)


_STATEMENTS = _Statements()


def _truncate(text: str) -> str:
    if len(text) <= MAX_STORED_OUTPUT:
        return text
    return text[:MAX_STORED_OUTPUT] + f"\n[... {len(text) - MAX_STORED_OUTPUT} more characters not stored]"


_REVISION_LINE = re.compile(r'^(down_revision|revision)\s*=\s*["\'](\w+)["\']', re.MULTILINE)


def _head_revision() -> str | None:
    """The newest migration's revision, read from grader/migrations/versions without importing alembic
    (None where the files do not make one chain: alembic decides then)."""
    revisions, parents = set(), set()
    for path in (Path(__file__).resolve().parent / "migrations" / "versions").glob("*.py"):
        found = dict((name, value) for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        parents.update([found["down_revision"]] if "down_revision" in found else [])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head_revision(engine) -> bool:
    """Whether the gradebook is stamped with this grader's newest revision (nothing to migrate: the
    common case, an existing gradebook opened again); anything else goes to ``upgrade_gradebook``."""
    head = _head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            stamped = [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]
    except DBAPIError:  # no alembic_version table: a new gradebook, or one from before migrations
        return False
    return stamped == [head]


class Gradebook:
    def __init__(self, url: str = DEFAULT_DB_URL, create: bool = True):
        """``create=False`` (the commands that only read): a SQLite file that does not exist reads as empty,
        instead of becoming a new empty gradebook left behind by a mistyped --db."""
        self.url = url
        # Set by the facade: a stored verdict under today's late policy (extensions), before adjustments.
        self.reassess: Callable[[Verdict], Verdict] | None = None
        # Ids of rows that are never deleted, so they stay right: an assignment's by name, a submission's
        # (and whether its code is stored) by assignment, path and sha256; read once per assignment, then
        # kept up to date by this gradebook's own writes. Only committed rows go in.
        self._known: dict[tuple, object] = {}
        try:
            self.engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        except ImportError as error:
            raise GraderError(f"cannot open the gradebook {url!r}: {error}; for PostgreSQL install the driver: "
                              "pip install 'psycopg[binary]'") from None
        except (ArgumentError, ValueError) as error:
            # A bare file name or path (--db grades.db, --db /srv/grades.db) is the likeliest slip.
            suggestion = f"sqlite:///{url}" if "://" not in url and url.strip() else "sqlite:///grades.db"
            raise GraderError(f"cannot open the gradebook {url!r}: {error}; pass --db {suggestion} "
                              "or another SQLAlchemy URL") from None
        shown = self.engine.url.render_as_string(hide_password=True)
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database
            if database and database != ":memory:" and not Path(database).parent.exists():
                raise GraderError(f"cannot open the gradebook {url}: folder {Path(database).parent} does not "
                                  "exist; create it or choose another --db")
            if database and database != ":memory:" and not create and not Path(database).exists():
                self.engine = create_engine("sqlite://")  # reads find nothing, and no empty file is left behind
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            if not _at_head_revision(self.engine):
                from grader.migrations import upgrade_gradebook  # imports alembic: a third of a second

                upgrade_gradebook(self.engine, shown)
        except OperationalError as error:
            raise GraderError(f"cannot open the gradebook {shown}: {str(error.orig).strip().splitlines()[0]}") from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(self, verdict: Verdict, code: list[CodeCell] | None = None) -> int:
        """Store one verdict as a new run (and the submission's extracted ``code``); returns the run's id.

        One transaction, committed before this returns: a batch killed later keeps this run.
        """
        verdict = storable(verdict)
        stored_code = _storable_text([cell.model_dump() for cell in code]) if code is not None else None
        try:
            return self._record(verdict, stored_code)
        except IntegrityError:  # another grader created the same assignment or submission row just now
            self._known.clear()
            return self._record(verdict, stored_code)

    def record_or_error(self, verdict: Verdict, code: list[CodeCell] | None = None) -> Verdict:
        """Store the verdict; one the database refuses is stored as an ``error`` row saying so, and returned.

        A batch goes on either way, and a resume does not stop on the same submission again.
        """
        try:
            self.record(verdict, code)
            return verdict
        except (DBAPIError, ValueError) as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
            failed = verdict.model_copy(update=dict(
                status="error", checks=[], cells=[], stdout="", stderr="", score=0.0, raw_score=0.0,
                message=f"the verdict ({verdict.score:g}/{verdict.max_score:g}) could not be stored ({reason}); "
                        "grade it again with --regrade once the gradebook is fixed"))
            self.record(failed)
            return failed

    def _record(self, verdict: Verdict, code: list[dict] | None = None) -> int:
        # SQLAlchemy Core with statements built once (``_Statements``): the ORM's unit of work cost more
        # CPU per verdict than everything else the coordinator does for it. The rows are the ORM's.
        sql = _STATEMENTS
        learned: dict[tuple, object] = {}  # what this transaction found or made: kept once it is committed
        with self.engine.begin() as connection:
            assignment_id = self._known.get(("assignment", verdict.assignment))
            if assignment_id is None:
                assignment_id = connection.execute(sql.assignment_id, dict(name=verdict.assignment)).scalar()
                if assignment_id is None:
                    assignment_id = connection.execute(sql.insert_assignment, dict(
                        name=verdict.assignment, max_score=verdict.max_score)).inserted_primary_key[0]
                else:  # every submission of it, once: then a verdict needs no query to find its row
                    for row in connection.execute(sql.submissions_of, dict(assignment=assignment_id)):
                        learned[("submission", assignment_id, row[1], row[2])] = (row[0], bool(row[3]))
                learned[("assignment", verdict.assignment)] = assignment_id
            if verdict.include_hidden and verdict.max_score:
                connection.execute(sql.set_max_score, dict(assignment=assignment_id, new_max_score=verdict.max_score))
            key = ("submission", assignment_id, verdict.submission, verdict.sha256)
            known = learned.get(key) or self._known.get(key)  # None: not there when the ids were read
            if known is None:  # a row another grader has added since fails the insert: record() reads again
                values = dict(assignment_id=assignment_id, student=verdict.student, path=verdict.submission,
                              sha256=verdict.sha256)
                if code is not None:  # omitted, not None: None would be stored as JSON null, not NULL
                    values["code"] = code
                known = (connection.execute(sql.insert_submission, values).inserted_primary_key[0], code is not None)
            elif code is not None and not known[1]:
                connection.execute(sql.set_code, dict(submission=known[0], new_code=code))
                known = (known[0], True)
            learned[key] = known
            run_id = connection.execute(sql.insert_run, dict(
                submission_id=known[0], status=verdict.status, message=verdict.message, score=verdict.score,
                max_score=verdict.max_score, include_hidden=verdict.include_hidden, duration=verdict.duration,
                device=verdict.device, grader_version=verdict.grader_version,
                checks_fingerprint=verdict.checks_fingerprint, layers=verdict.layers,
                cells=[cell.model_dump(mode="json") for cell in verdict.cells],
                stdout=_truncate(verdict.stdout), stderr=_truncate(verdict.stderr), started_at=verdict.started_at,
                raw_score=verdict.score_before_penalty, submitted_at=verdict.submitted_at,
                late_seconds=verdict.late_seconds, penalty=verdict.penalty)).inserted_primary_key[0]
            if verdict.checks:  # one executemany
                connection.execute(sql.insert_check, [
                    dict(run_id=run_id, position=position, name=check.name, title=check.title,
                         visibility=check.visibility, score=check.score, max_score=check.max_score,
                         passed=check.passed, message=check.message, student_message=check.student_message,
                         seconds=check.seconds)
                    for position, check in enumerate(verdict.checks)])
        self._known.update(learned)
        return run_id

    def _verdict(self, run: RunRow, assignment: str) -> Verdict:
        return Verdict(
            assignment=assignment, submission=run.submission.path, student=run.submission.student,
            sha256=run.submission.sha256, run_id=run.id, status=run.status, message=run.message, score=run.score,
            max_score=run.max_score, include_hidden=run.include_hidden, duration=run.duration, device=run.device,
            grader_version=run.grader_version, checks_fingerprint=run.checks_fingerprint, layers=run.layers or {},
            cells=[CellResult.model_validate(cell) for cell in run.cells or []], stdout=run.stdout,
            stderr=run.stderr, started_at=_utc(run.started_at), raw_score=run.raw_score,
            submitted_at=_utc(run.submitted_at), late_seconds=run.late_seconds or 0.0, penalty=run.penalty or 0.0,
            checks=[CheckResult(name=c.name, title=c.title, visibility=c.visibility, score=c.score,
                                max_score=c.max_score, passed=c.passed, message=c.message,
                                student_message=c.student_message, seconds=c.seconds)
                    for c in run.checks])

    def unchanged(self, assignment: str, submissions: list[tuple[str, str]], fingerprint: str, version: str,
                  include_hidden: bool, device: str) -> dict[tuple[str, str], Verdict]:
        """By each (path, sha256) of ``submissions`` that has one, the newest graded run of that very code under
        the same checks, grader and device (a whole batch in a few queries)."""
        wanted = set(submissions)
        paths = sorted({path for path, _ in wanted})
        found: dict[tuple[str, str], Verdict] = {}
        with Session(self.engine) as session:
            for start in range(0, len(paths), 500):  # under every backend's limit of bound parameters
                newest = (select(func.max(RunRow.id)).join(SubmissionRow).join(AssignmentRow)
                          .where(AssignmentRow.name == assignment, SubmissionRow.path.in_(paths[start:start + 500]),
                                 RunRow.checks_fingerprint == fingerprint, RunRow.grader_version == version,
                                 RunRow.include_hidden == include_hidden, RunRow.device == device,
                                 RunRow.status == "graded")
                          .group_by(RunRow.submission_id))
                runs = session.scalars(select(RunRow).where(RunRow.id.in_(newest)).options(
                    joinedload(RunRow.submission), selectinload(RunRow.checks))).all()
                for run in runs:
                    key = (run.submission.path, run.submission.sha256)
                    if key in wanted:
                        found[key] = self._verdict(run, assignment)
        return found

    def latest(self, assignment: str, student: str | None = None, adjusted: bool = True) -> list[Verdict]:
        """The newest run of every student of an assignment (or of one student), by student.

        ``adjusted``: with the overrides and voided checks in effect (the final scores); else as graded.
        """
        records = self.adjustments(assignment)
        verdicts = self._reassessed(self._latest(assignment, student, excluded_runs(records)))
        return apply_to_all(verdicts, records) if adjusted else verdicts

    def _reassessed(self, verdicts: list[Verdict]) -> list[Verdict]:
        return [self.reassess(verdict) for verdict in verdicts] if self.reassess is not None else verdicts

    def _latest(self, assignment: str, student: str | None, excluded: set[int]) -> list[Verdict]:
        """The newest run of each student that is not excluded."""
        with Session(self.engine) as session:
            newest = (select(SubmissionRow.student, func.max(RunRow.id).label("run_id"))
                      .join(RunRow, RunRow.submission_id == SubmissionRow.id)
                      .join(AssignmentRow, AssignmentRow.id == SubmissionRow.assignment_id)
                      .where(AssignmentRow.name == assignment)
                      .where(*([SubmissionRow.student == student] if student is not None else []))
                      .where(*([RunRow.id.not_in(excluded)] if excluded else []))
                      .group_by(SubmissionRow.student).subquery())
            runs = session.scalars(select(RunRow).join(newest, RunRow.id == newest.c.run_id)).all()
            verdicts = [self._verdict(run, assignment) for run in runs]
        return sorted(verdicts, key=lambda v: (v.student, v.submission))

    def history(self, assignment: str, student: str | None = None, adjusted: bool = True) -> list[Verdict]:
        """Every run, oldest first; ``adjusted``: each with the changes in effect now (see ``latest``)."""
        with Session(self.engine) as session:
            query = (select(RunRow).join(SubmissionRow).join(AssignmentRow)
                     .where(AssignmentRow.name == assignment).order_by(RunRow.id))
            if student is not None:
                query = query.where(SubmissionRow.student == student)
            verdicts = self._reassessed([self._verdict(run, assignment) for run in session.scalars(query).all()])
        return apply_to_all(verdicts, self.adjustments(assignment)) if adjusted else verdicts

    def run_owner(self, assignment: str, run_id: int) -> str | None:
        """The student of one of the assignment's runs (None: no such run in this assignment)."""
        with Session(self.engine) as session:
            return session.scalar(select(SubmissionRow.student).join(RunRow).join(AssignmentRow).where(
                AssignmentRow.name == assignment, RunRow.id == run_id))

    def assignment_names(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.scalars(select(AssignmentRow.name).order_by(AssignmentRow.name)).all())

    def no_results(self, assignment: str) -> GraderError:
        """The error for an assignment with nothing stored: "grade first" where it is known (its folder is
        in the assignments root, or it was graded here), else "unknown", with the known assignments."""
        from grader.spec import assignments_root, available_assignments

        root = assignments_root(getattr(self.reassess, "assignments_dir", None))
        defined, graded = available_assignments(root), self.assignment_names()
        if assignment in defined or assignment in graded:
            return GraderError(f"no results for {assignment} in {self.url}; grade first: grader grade {assignment} DIR")
        known = ", ".join(sorted(set(defined) | set(graded))) or "none"
        return GraderError(f"unknown assignment '{assignment}': not in {root} and never graded in {self.url} "
                           f"(known: {known})")

    def add_adjustment(self, record: AdjustmentRecord) -> AdjustmentRecord:
        """Append one change (``record.id`` is ignored); returns it as stored."""
        record = AdjustmentRecord.model_validate(_storable_text(record.model_dump()))
        with Session(self.engine) as session, session.begin():
            assignment = session.scalar(select(AssignmentRow).where(AssignmentRow.name == record.assignment))
            if assignment is None:
                raise self.no_results(record.assignment)
            row = AdjustmentRow(assignment_id=assignment.id, student=record.student, kind=record.kind,
                                check_name=record.check, points=record.points, old_points=record.old_points,
                                graded_points=record.graded_points, graded_passed=record.graded_passed,
                                run_id=record.run_id, reverses=record.reverses, reason=record.reason,
                                made_by=record.by, made_at=record.at)
            session.add(row)
            session.flush()
            return record.model_copy(update=dict(id=row.id))

    def adjustments(self, assignment: str) -> list[AdjustmentRecord]:
        """Every change ever made to the assignment's scores, oldest first (undone ones and undos too)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(AdjustmentRow).join(AssignmentRow).where(
                AssignmentRow.name == assignment).order_by(AdjustmentRow.id)).all()
            return [AdjustmentRecord(id=row.id, assignment=assignment, student=row.student, kind=row.kind,
                                     check=row.check_name, points=row.points, old_points=row.old_points,
                                     graded_points=row.graded_points, graded_passed=row.graded_passed,
                                     run_id=row.run_id, reverses=row.reverses, reason=row.reason, by=row.made_by,
                                     at=_utc(row.made_at)) for row in rows]

    def submission_code(self, assignment: str, submission: str, sha256: str) -> list[CodeCell] | None:
        """The code cells extracted from one stored submission (None: stored before code was kept)."""
        with Session(self.engine) as session:
            code = session.scalar(select(SubmissionRow.code).join(AssignmentRow).where(
                AssignmentRow.name == assignment, SubmissionRow.path == submission, SubmissionRow.sha256 == sha256))
        return None if code is None else [CodeCell.model_validate(cell) for cell in code]

    def students(self, assignment: str) -> list[str]:
        with Session(self.engine) as session:
            return list(session.scalars(
                select(SubmissionRow.student).join(AssignmentRow).where(AssignmentRow.name == assignment)
                .distinct().order_by(SubmissionRow.student)).all())

    def count_runs(self) -> int:
        with Session(self.engine) as session:
            return session.scalar(select(func.count(RunRow.id))) or 0


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable_text(value):
    """Text every backend stores: PostgreSQL refuses NUL characters, and no backend wants lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "\\x00")
        if not value.isascii() and _SURROGATE.search(value):
            value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [_storable_text(item) for item in value]
    if isinstance(value, dict):
        return {_storable_text(key): _storable_text(item) for key, item in value.items()}
    return value


STUDENT_CHARS = 200  # the submissions table's student column


def _fits(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters; a cut one ends in a hash of the whole, so two never collide."""
    if len(text) <= limit:
        return text
    import hashlib

    digest = hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()[:12]
    return text[:limit - 14] + "~" + digest


def storable(verdict: Verdict) -> Verdict:
    """The verdict with every string (student's output, messages, names, cells' errors) storable as it is shown."""
    if len(verdict.student) <= STUDENT_CHARS and all(len(check.name) <= 200 for check in verdict.checks):
        try:  # the common case, nothing to change, told by pydantic's serializer in one pass over every string
            if "\\u0000" not in verdict.model_dump_json():  # a NUL is written \u0000; a lone surrogate raises
                return verdict
        except ValueError:
            pass
    data = _storable_text(verdict.model_dump())
    data["student"] = _fits(data["student"], STUDENT_CHARS)
    data["checks"] = [dict(check, name=_fits(check["name"], 200)) for check in data["checks"]]
    return Verdict.model_validate(data)


def _utc(moment: datetime | None) -> datetime | None:
    """Times are stored in UTC; SQLite gives them back without their zone."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # A commit is written to the WAL, not fsynced: every committed verdict survives the grader being killed
    # (the file is the operating system's by then); a power cut or an OS crash can lose the last verdicts
    # (a resume grades them again), never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
