"""The in-process executor: one warm judge in this process (`grader check`, small batches, one GPU)."""

from __future__ import annotations

from grader.executors.base import JudgeJob, OnVerdict
from grader.models import ExtractedSubmission


class InProcessExecutor:
    def __init__(self, job: JudgeJob, spec=None, server=None):
        """``spec``: the job's ``AssignmentSpec`` when the caller has it loaded already; ``server``: its
        sandbox, launched earlier (``grader.executors.startup``)."""
        self.job = job
        self.spec = spec
        self.server = server

    def judge(self, units: list[ExtractedSubmission], on_verdict: OnVerdict) -> None:
        from grader.judge import start_judge
        from grader.spec import load_assignment

        spec = self.spec or load_assignment(self.job.assignment, self.job.assignments_dir)
        server, self.server = self.server, None
        with start_judge(spec, single_submission=self.job.single_submission or len(units) == 1, server=server,
                         include_hidden=self.job.include_hidden, device=self.job.device,
                         device_label=self.job.label, allow_unisolated=self.job.allow_unisolated) as judge:
            judge.run(units, on_verdict)
