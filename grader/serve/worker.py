"""The background worker: take a queued commit, fetch its notebook, judge it warm, store, comment, finish.

Judges stay warm between jobs (one per assignment: its sandbox's fork server has torch imported
and the checks are collected again in ~0.1 s), or the jobs go to a Dask cluster with ``--cluster``.
The order is the gradebook's first: a verdict is stored before the comment is posted, and the job
is marked done last, so a service killed at any point grades the job again rather than losing it.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from grader.ci.forge import CommentError
from grader.errors import GraderError
from grader.intake import SubmissionFile, read_submission
from grader.models import ExtractedSubmission, Verdict, utcnow
from grader.serve import comment
from grader.serve.config import ServiceConfig
from grader.serve.fetch import FetchError, basic_auth, read_notebook
from grader.serve.logs import EventLog
from grader.serve.publish import publish
from grader.serve.queue import Job, JobQueue, next_allowed
from grader.serve.sources import SOURCES
from grader.spec import AssignmentSpec, load_assignment
from grader.verdicts import Grading

MAX_ATTEMPTS = 3  # a job whose grading kept killing the service is stored as an error after this


class GradingWorker:
    def __init__(self, config: ServiceConfig, queue: JobQueue, gradebook, log: EventLog):
        self.config, self.queue, self.gradebook, self.log = config, queue, gradebook, log
        self.judges: dict[str, object] = {}
        self.wake = threading.Event()
        self.busy = False

    # -- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                job = self.queue.take()
            except Exception as error:  # the database is away for a moment: try again, never die
                self.log("queue.unavailable", level="error", error=f"{type(error).__name__}: {str(error)[:300]}")
                stop.wait(5 * self.config.poll_seconds)
                continue
            if job is None:
                self.wake.wait(self.config.poll_seconds)
                self.wake.clear()
                continue
            self.busy = True
            try:
                self.handle(job)
            except Exception as error:  # the service goes on; the job is stored as failed, not lost silently
                self.log("job.crashed", level="error", job=job.id, error=f"{type(error).__name__}: {error}")
                self.queue.finish(job.id, None, None, "the grading service failed on this commit")
            finally:
                self.busy = False
        self.close()

    def close(self) -> None:
        for judge in self.judges.values():
            judge.close()
        self.judges.clear()

    # -- one job ---------------------------------------------------------------------------

    def handle(self, job: Job) -> None:
        config, commit = self.config, job.commit
        window = timedelta(seconds=config.window_seconds)
        started = self.queue.graded_in_window(job.assignment, job.student, window)
        until = next_allowed(started, config.max_per_window, window)
        if until is not None:
            limit = comment.limit_line(config.limit_text, len(started), until)
            first_wait = job.not_before is None
            if first_wait and commit.pull_request is not None:
                self._comment(job, comment.waiting_body(job.assignment, commit.sha, limit, config.secrets()))
            self.queue.defer(job.id, until, "over the rate limit")
            self.log("job.deferred", job=job.id, assignment=job.assignment, student=job.student,
                     until=until.isoformat())
            return
        self.log("job.started", job=job.id, assignment=job.assignment, student=job.student, sha=commit.sha,
                 attempt=job.attempts)
        spec = load_assignment(job.assignment, config.checks_dir)
        grading = Grading.of(spec, include_hidden=True, device=config.device)
        if job.attempts > MAX_ATTEMPTS:
            verdict = grading.error(self._name(job, spec.notebook), job.student,
                                    "the grading service stopped while grading this commit, several times")
            notebook = spec.notebook
        else:
            notebook, verdict = self._verdict(job, spec, grading)
        verdict = self.gradebook.record_or_error(verdict)
        limit = comment.limit_line(config.limit_text, len(started) + 1,
                                   next_allowed([*started, utcnow()], config.max_per_window, window))
        body = comment.graded_body(verdict, notebook, commit.sha, limit, config.secrets())
        url = self._comment(job, body)
        self.queue.finish(job.id, verdict.score, verdict.max_score,
                          verdict.message if verdict.status == "error" else "graded", url)
        self.log("job.graded", job=job.id, assignment=job.assignment, student=job.student, sha=commit.sha,
                 status=verdict.status, score=verdict.score, max_score=verdict.max_score, comment=bool(url))

    def _name(self, job: Job, notebook: str) -> str:
        """How the run is named in the gradebook: the repository and commit, then the notebook."""
        where = f"{job.commit.project}!{job.commit.pull_request}" if job.commit.pull_request else job.commit.project
        return f"{where}@{job.commit.sha[:12]}:{notebook}"

    def _verdict(self, job: Job, spec: AssignmentSpec, grading: Grading) -> tuple[str, Verdict]:
        commit, config = job.commit, self.config
        account = config.account(commit.forge)
        auth = basic_auth(SOURCES[commit.forge].git_user(), account.token.get_secret_value()) if account else None
        with tempfile.TemporaryDirectory(prefix="grader-serve-") as scratch:
            try:
                path, data = read_notebook(commit.clone_url, commit.sha, spec.notebook, config.fetch,
                                           Path(scratch), auth)
            except FetchError as error:
                self.log("job.fetch_failed", level="warning", job=job.id, reason=str(error))
                return spec.notebook, grading.error(self._name(job, spec.notebook), job.student, str(error))
            local = Path(scratch) / "submission" / Path(spec.notebook).name
            local.parent.mkdir()
            local.write_bytes(data)
            name = self._name(job, path)
            file = SubmissionFile(name=name, source=str(local), student=job.student, layout="service")
            unit = read_submission(file, spec, grading)
            if isinstance(unit, Verdict):
                return path, unit
            return path, self._judge(spec, grading, unit)

    def _judge(self, spec: AssignmentSpec, grading: Grading, unit: ExtractedSubmission) -> Verdict:
        verdicts: list[Verdict] = []
        try:
            if self.config.cluster:
                from grader.executors import JudgeJob, choose_executor

                job = JudgeJob(assignment=spec.id, assignments_dir=str(spec.root.parent), include_hidden=True,
                               device=self.config.device, allow_unisolated=self.config.allow_unisolated)
                choose_executor(spec, job, grading, 1, cluster=self.config.cluster).judge([unit], verdicts.append)
            else:
                self._warm_judge(spec).run([unit], verdicts.append)
        except (GraderError, OSError, RuntimeError) as error:
            self.log("judge.failed", level="error", assignment=spec.id, error=str(error)[:500])
            judge = self.judges.pop(spec.id, None)
            if judge is not None:
                judge.close()
            # The reason may quote the checks: the student reads only that grading failed on our side.
            return grading.error(unit.path, unit.student, "the grading service could not judge this commit; "
                                 "the course staff can see why in its log", sha256=unit.sha256)
        return verdicts[0]

    def _warm_judge(self, spec: AssignmentSpec):
        judge = self.judges.get(spec.id)
        if judge is None:
            from grader.judge import start_judge

            judge = start_judge(spec, include_hidden=True, device=self.config.device,
                                allow_unisolated=self.config.allow_unisolated)
            self.judges[spec.id] = judge
        return judge

    def _comment(self, job: Job, body: str) -> str:
        try:
            return publish(self.config, job.commit, job.assignment, body)
        except CommentError as error:
            self.log("comment.failed", level="warning", job=job.id, reason=str(error))
            return ""
