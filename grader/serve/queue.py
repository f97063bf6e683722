"""The service's queue, in the gradebook's database (table serve_jobs): webhooks add, the worker takes.

Nothing lives only in memory: a job taken by a service that then died is queued again when the
service starts, so a restart loses nothing. A newer commit for the same pull request (or, for pushes,
the same branch) supersedes an older one still queued. The rate limit counts a student's gradings
of one assignment in a sliding window; a job over it waits (``not_before``) rather than being lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grader.models import utcnow
from grader.serve.events import CommitToGrade
from grader.store import ServeJobRow

WAITING = ("queued", "running")
RATE_LIMITED = "over the rate limit"


class Job(BaseModel):
    id: int
    commit: CommitToGrade
    assignment: str
    student: str
    state: str
    attempts: int = 0
    message: str = ""
    not_before: datetime | None = None


def _job(row: ServeJobRow) -> Job:
    commit = CommitToGrade(forge=row.forge, project=row.project, repository=row.repository, clone_url=row.clone_url,
                           sha=row.sha, ref=row.ref, pull_request=row.pull_request)
    return Job(id=row.id, commit=commit, assignment=row.assignment, student=row.student, state=row.state,
               attempts=row.attempts, message=row.message, not_before=as_utc(row.not_before))


class JobQueue:
    def __init__(self, engine: Engine, settle_seconds: float = 0.0):
        """``settle_seconds``: a new job waits this long, so the second event for the same commit
        (GitHub's push and pull_request synchronize come a moment apart) finds it still queued."""
        self.engine = engine
        self.settle = timedelta(seconds=settle_seconds)

    def add(self, commit: CommitToGrade, assignment: str, student: str) -> tuple[int | None, list[int]]:
        """Queue a commit; returns its job id and the ids of the queued jobs it superseded.

        A commit pushed to a pull request's branch comes twice from GitHub (push, then pull_request
        synchronize): the pull request's job wins, and the push is not queued (job id None).
        """
        with Session(self.engine) as session, session.begin():
            project = (ServeJobRow.forge == commit.forge, ServeJobRow.project == commit.project,
                       ServeJobRow.assignment == assignment)
            same = (*project, ServeJobRow.state == "queued")
            if commit.pull_request is not None:
                older = select(ServeJobRow.id).where(*same, (ServeJobRow.pull_request == commit.pull_request) | (
                    ServeJobRow.pull_request.is_(None) & (ServeJobRow.sha == commit.sha)))
            else:
                on_pull_request = session.scalar(select(func.count(ServeJobRow.id)).where(
                    *project, ServeJobRow.sha == commit.sha, ServeJobRow.pull_request.is_not(None),
                    ServeJobRow.state.in_(WAITING + ("done",))))
                if on_pull_request:
                    return None, []
                older = select(ServeJobRow.id).where(*same, ServeJobRow.pull_request.is_(None),
                                                     ServeJobRow.ref == commit.ref)
            superseded = list(session.scalars(older).all())
            if superseded:
                session.execute(update(ServeJobRow).where(ServeJobRow.id.in_(superseded))
                                .values(state="superseded", finished_at=utcnow(), message="a newer commit came"))
            row = ServeJobRow(forge=commit.forge, project=commit.project, repository=commit.repository,
                              clone_url=commit.clone_url, sha=commit.sha, ref=commit.ref,
                              pull_request=commit.pull_request, assignment=assignment, student=student,
                              state="queued", received_at=utcnow(), not_before=utcnow() + self.settle, attempts=0,
                              message="", comment_url="")
            session.add(row)
            session.flush()
            return row.id, superseded

    def requeue_interrupted(self) -> int:
        """Jobs a previous service took and never finished: queued again (on start-up, before the worker)."""
        with Session(self.engine) as session, session.begin():
            return session.execute(update(ServeJobRow).where(ServeJobRow.state == "running")
                                   .values(state="queued", started_at=None)).rowcount or 0

    def take(self) -> Job | None:
        """The oldest queued job that may run now, marked running (a conditional update: one taker wins)."""
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            candidates = session.scalars(
                select(ServeJobRow).where(ServeJobRow.state == "queued",
                                          (ServeJobRow.not_before.is_(None)) | (ServeJobRow.not_before <= now))
                .order_by(ServeJobRow.id).limit(5)).all()
            for row in candidates:
                taken = session.execute(update(ServeJobRow).where(ServeJobRow.id == row.id,
                                                                  ServeJobRow.state == "queued")
                                        .values(state="running", started_at=now,
                                                attempts=ServeJobRow.attempts + 1)).rowcount
                if taken:
                    session.flush()
                    session.refresh(row)
                    return _job(row)
        return None

    def defer(self, job_id: int, until: datetime, message: str = RATE_LIMITED) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(ServeJobRow).where(ServeJobRow.id == job_id)
                            .values(state="queued", not_before=until, started_at=None, message=message,
                                    attempts=ServeJobRow.attempts - 1))  # taken, but not an attempt at grading

    def finish(self, job_id: int, score: float | None, max_score: float | None, message: str,
               comment_url: str = "") -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(ServeJobRow).where(ServeJobRow.id == job_id)
                            .values(state="done", finished_at=utcnow(), score=score, max_score=max_score,
                                    message=message[:2000], comment_url=comment_url))

    def graded_in_window(self, assignment: str, student: str, window: timedelta) -> dict[str, datetime]:
        """The commits of this student and assignment graded in the window, and when each was first graded.

        Grading the same commit again (a push and its pull request, a restart) is not counted twice.
        """
        since = utcnow() - window
        with Session(self.engine) as session:
            rows = session.execute(
                select(ServeJobRow.sha, func.min(ServeJobRow.started_at))
                .where(ServeJobRow.assignment == assignment, ServeJobRow.student == student,
                       ServeJobRow.state == "done", ServeJobRow.score.is_not(None), ServeJobRow.started_at >= since)
                .group_by(ServeJobRow.sha)).all()
        return {sha: as_utc(moment) for sha, moment in rows}

    def summary(self, last: int = 10) -> dict:
        with Session(self.engine) as session:
            counts = dict(session.execute(select(ServeJobRow.state, func.count(ServeJobRow.id))
                                          .group_by(ServeJobRow.state)).all())
            rows = session.scalars(select(ServeJobRow).where(ServeJobRow.state == "done")
                                   .order_by(ServeJobRow.finished_at.desc(), ServeJobRow.id.desc())
                                   .limit(last)).all()
            recent = [dict(job=row.id, assignment=row.assignment, student=row.student, sha=row.sha,
                           pull_request=row.pull_request, score=row.score, max_score=row.max_score,
                           message=row.message[:200],
                           finished_at=as_utc(row.finished_at).isoformat() if row.finished_at else None)
                      for row in rows]
        return dict(queued=counts.get("queued", 0), running=counts.get("running", 0), done=counts.get("done", 0),
                    superseded=counts.get("superseded", 0), last_verdicts=recent)


def next_allowed(started: list[datetime], limit: int, window: timedelta) -> datetime | None:
    """When the student may be graded again; None: now."""
    if len(started) < limit:
        return None
    return sorted(started)[len(started) - limit] + window


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives times back without their zone; every time here is UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)
