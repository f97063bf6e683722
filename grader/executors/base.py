"""The executor interface: judge extracted submissions somewhere, hand each verdict back here.

An executor is chosen once per batch (``grader.executors.choose_executor``); nothing in the
judge or the sandbox knows which one runs it. Every executor calls ``on_verdict`` in the
calling process, which alone writes the gradebook, exactly once per unit.
"""

from __future__ import annotations

from typing import Callable, Protocol

from pydantic import BaseModel

from grader.models import ExtractedSubmission, Verdict

OnVerdict = Callable[[Verdict], None]
MAX_ATTEMPTS = 2  # a unit whose worker died is judged again once, then stored as an error


class JudgeJob(BaseModel):
    """What a judge anywhere needs to grade one assignment's submissions: plain data, so it can travel."""

    assignment: str
    assignments_dir: str | None
    include_hidden: bool
    device: str
    allow_unisolated: bool = False
    device_label: str | None = None  # what verdicts record (a batch over several GPUs records "cuda")
    single_submission: bool = False

    @property
    def label(self) -> str:
        return self.device_label or self.device


class Executor(Protocol):
    def judge(self, units: list[ExtractedSubmission], on_verdict: OnVerdict) -> None:
        """Judge every unit; ``on_verdict`` runs in this process once for each, in any order."""
