"""The background worker: take queued commits, fetch their notebooks, judge them warm, store, comment, finish.

Judges stay warm between jobs (one per assignment: its sandbox's fork server has torch imported
and the checks are collected again in ~0.1 s), or, with ``--cluster``, each batch of queued jobs
goes to the Dask cluster at once. The order is the gradebook's first: a verdict is stored before
the comment is posted, and the job is marked done last, so a service killed at any point grades
the job again rather than losing it.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from grader.ci.forge import CommentError
from grader.errors import GraderError
from grader.intake import SubmissionFile, read_submission
from grader.models import ExtractedSubmission, Verdict, utcnow
from grader.serve import comment
from grader.serve.config import ServiceConfig
from grader.serve.fetch import FetchError, basic_auth, read_notebook, token_goes_to
from grader.serve.logs import EventLog
from grader.serve.publish import current_body, publish
from grader.serve.queue import RATE_LIMITED, Job, JobQueue, next_allowed
from grader.serve.sources import SOURCES
from grader.spec import AssignmentSpec, load_assignment
from grader.verdicts import Grading

MAX_ATTEMPTS = 3  # a job whose grading kept killing the service is stored as an error after this


@dataclass
class Prepared:
    """One taken job, ready to judge: its unit, or already its verdict (nothing to fetch, nothing to judge)."""

    job: Job
    spec: AssignmentSpec
    grading: Grading
    notebook: str
    used: list  # when this student's gradings in the window started, this one included
    unit: ExtractedSubmission | None = None
    verdict: Verdict | None = None


@dataclass
class Batch:
    prepared: list[Prepared] = field(default_factory=list)
    counted: dict[tuple[str, str], int] = field(default_factory=dict)  # (assignment, student) -> in this batch


class GradingWorker:
    def __init__(self, config: ServiceConfig, queue: JobQueue, gradebook, log: EventLog, batch_size: int = 1):
        self.config, self.queue, self.gradebook, self.log = config, queue, gradebook, log
        self.batch_size = batch_size
        self.judges: dict[str, object] = {}
        self.wake = threading.Event()
        self.busy = 0
        self.window = timedelta(seconds=config.window_seconds)

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                jobs = self.take()
            except Exception as error:  # the database is away for a moment: try again, never die
                self.log("queue.unavailable", level="error", error=f"{type(error).__name__}: {str(error)[:300]}")
                stop.wait(5 * self.config.poll_seconds)
                continue
            if not jobs:
                self.wake.wait(self.config.poll_seconds)
                self.wake.clear()
                continue
            self.busy = len(jobs)
            try:
                self.grade(jobs)
            finally:
                self.busy = 0
        self.close()

    def take(self) -> list[Job]:
        jobs: list[Job] = []
        while len(jobs) < self.batch_size:
            job = self.queue.take()
            if job is None:
                break
            jobs.append(job)
        return jobs

    def close(self) -> None:
        for judge in self.judges.values():
            judge.close()
        self.judges.clear()

    def grade(self, jobs: list[Job]) -> None:
        batch = Batch()
        for job in jobs:
            try:
                prepared = self.prepare(job, batch)
            except Exception as error:  # the service goes on; the job is stored as failed, not lost silently
                self.crashed(job, error)
                continue
            if prepared is not None:
                batch.prepared.append(prepared)
        waiting = [each for each in batch.prepared if each.verdict is None]
        by_assignment: dict[str, list[Prepared]] = {}
        for each in waiting:
            by_assignment.setdefault(each.spec.id, []).append(each)
        for group in by_assignment.values():
            self.judge(group)
        for each in batch.prepared:
            try:
                self.finish(each)
            except Exception as error:
                self.crashed(each.job, error)

    def crashed(self, job: Job, error: Exception) -> None:
        self.log("job.crashed", level="error", job=job.id, error=f"{type(error).__name__}: {str(error)[:500]}")
        try:
            self.queue.finish(job.id, None, None, "the grading service failed on this commit")
        except Exception as again:  # the database itself is away: the job stays running, requeued at restart
            self.log("queue.unavailable", level="error", error=f"{type(again).__name__}: {str(again)[:300]}")

    # -- one job ---------------------------------------------------------------------------

    def prepare(self, job: Job, batch: Batch) -> Prepared | None:
        config, commit = self.config, job.commit
        key = (job.assignment, job.student)
        graded = self.queue.graded_in_window(job.assignment, job.student, self.window)
        used = [*graded.values(), *[utcnow()] * batch.counted.get(key, 0)]
        again = commit.sha in graded  # the same commit graded again reveals nothing new: not counted
        until = None if again else next_allowed(used, config.max_per_window, self.window)
        if until is not None:
            limit = comment.limit_line(config.limit_text, len(used), until)
            if job.message != RATE_LIMITED and commit.pull_request is not None:  # said once, not at every retry
                self._waiting_comment(job, limit)
            self.queue.defer(job.id, until, RATE_LIMITED)
            self.log("job.deferred", job=job.id, assignment=job.assignment, student=job.student,
                     until=until.isoformat())
            return None
        if not again:
            batch.counted[key] = batch.counted.get(key, 0) + 1
        self.log("job.started", job=job.id, assignment=job.assignment, student=job.student, sha=commit.sha,
                 attempt=job.attempts)
        spec = load_assignment(job.assignment, config.checks_dir)
        grading = Grading.of(spec, include_hidden=True, device=config.device)
        prepared = Prepared(job=job, spec=spec, grading=grading, notebook=spec.notebook,
                            used=used if again else [*used, utcnow()])
        if job.attempts > MAX_ATTEMPTS:
            prepared.verdict = grading.error(self._name(job, spec.notebook), job.student,
                                             "the grading service stopped while grading this commit, several times")
            return prepared
        self._read(prepared)
        if prepared.unit is not None and any(other.unit is not None and other.unit.path == prepared.unit.path
                                             for other in batch.prepared):
            self.queue.defer(job.id, utcnow(), "the same commit is in this batch already")  # graded next round
            return None
        return prepared

    def _name(self, job: Job, notebook: str) -> str:
        """How the run is named in the gradebook: the repository and commit, then the notebook."""
        where = f"{job.commit.project}!{job.commit.pull_request}" if job.commit.pull_request else job.commit.project
        return f"{where}@{job.commit.sha[:12]}:{notebook}"

    def _read(self, prepared: Prepared) -> None:
        job, spec, grading, config = prepared.job, prepared.spec, prepared.grading, self.config
        commit = job.commit
        account = config.account(commit.forge)
        auth = None
        if account is not None and token_goes_to(account.api_url, commit.clone_url):
            auth = basic_auth(SOURCES[commit.forge].git_user(), account.token.get_secret_value())
        with tempfile.TemporaryDirectory(prefix="grader-serve-") as scratch:
            try:
                path, data = read_notebook(commit.clone_url, commit.sha, spec.notebook, config.fetch,
                                           Path(scratch), auth)
            except FetchError as error:
                self.log("job.fetch_failed", level="warning", job=job.id, reason=str(error))
                prepared.verdict = grading.error(self._name(job, spec.notebook), job.student, str(error))
                return
            local = Path(scratch) / "submission" / Path(spec.notebook).name
            local.parent.mkdir()
            local.write_bytes(data)
            file = SubmissionFile(name=self._name(job, path), source=str(local), student=job.student,
                                  layout="service")
            prepared.notebook = path
            unit = read_submission(file, spec, grading)  # the code is extracted now: the file can go
        if isinstance(unit, Verdict):
            prepared.verdict = unit
        else:
            prepared.unit = unit

    def judge(self, group: list[Prepared]) -> None:
        spec, grading = group[0].spec, group[0].grading
        by_path = {each.unit.path: each for each in group}
        units = [each.unit for each in group]

        def keep(verdict: Verdict) -> None:
            if verdict.submission in by_path:
                by_path[verdict.submission].verdict = verdict

        try:
            if self.config.cluster:
                from grader.executors import JudgeJob, choose_executor

                job = JudgeJob(assignment=spec.id, assignments_dir=str(spec.root.parent), include_hidden=True,
                               device=self.config.device, allow_unisolated=self.config.allow_unisolated)
                choose_executor(spec, job, grading, len(units), cluster=self.config.cluster).judge(units, keep)
            else:
                self._warm_judge(spec).run(units, keep)
        except (GraderError, OSError, RuntimeError) as error:
            self.log("judge.failed", level="error", assignment=spec.id, error=str(error)[:500])
            judge = self.judges.pop(spec.id, None)
            if judge is not None:
                judge.close()
        for each in group:
            if each.verdict is None:
                # The reason may quote the checks: the student reads only that grading failed on our side.
                each.verdict = grading.error(each.unit.path, each.unit.student, sha256=each.unit.sha256,
                                             message="the grading service could not judge this commit; the "
                                                     "course staff can see why in its log")

    def _warm_judge(self, spec: AssignmentSpec):
        judge = self.judges.get(spec.id)
        if judge is None:
            from grader.judge import start_judge

            judge = start_judge(spec, include_hidden=True, device=self.config.device,
                                allow_unisolated=self.config.allow_unisolated)
            self.judges[spec.id] = judge
        return judge

    def finish(self, prepared: Prepared) -> None:
        job, config = prepared.job, self.config
        verdict = self.gradebook.record_or_error(prepared.verdict)
        used = prepared.used
        limit = comment.limit_line(config.limit_text, len(used), next_allowed(used, config.max_per_window,
                                                                                self.window))
        body = comment.graded_body(verdict, prepared.notebook, job.commit.sha, limit, config.secrets(),
                                   prepared.spec.feedback)
        url = self._comment(job, body)
        self.queue.finish(job.id, verdict.score, verdict.max_score,
                          verdict.message if verdict.status == "error" else "graded", url)
        self.log("job.graded", job=job.id, assignment=job.assignment, student=job.student, sha=job.commit.sha,
                 status=verdict.status, score=verdict.score, max_score=verdict.max_score, comment=bool(url))

    def _waiting_comment(self, job: Job, limit: str) -> None:
        try:
            previous = current_body(self.config, job.commit, job.assignment)
        except CommentError as error:
            self.log("comment.failed", level="warning", job=job.id, reason=str(error))
            return
        self._comment(job, comment.waiting_body(job.assignment, job.commit.sha, limit, self.config.secrets(),
                                                previous))

    def _comment(self, job: Job, body: str) -> str:
        try:
            return publish(self.config, job.commit, job.assignment, body)
        except CommentError as error:
            self.log("comment.failed", level="warning", job=job.id, reason=str(error))
            return ""
