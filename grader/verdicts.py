"""The one place a Verdict is built: graded, or an error (unreadable, crashed, not judged).

Every path that produces a verdict (the judge, a local pool, a Dask cluster, `grader ci`, a
file that could not be read) builds it here, so every verdict names its student the same way
and carries the same maximum score, checks' fingerprint and grader version.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from grader import __version__
from grader.models import CellResult, CheckResult, Verdict, utcnow


class Grading(BaseModel):
    """What every verdict of one run (one assignment, one set of checks, one device) shares."""

    assignment: str
    include_hidden: bool
    device: str
    max_score: float
    checks_fingerprint: str
    grader_version: str = __version__

    @classmethod
    def of(cls, spec, include_hidden: bool, device: str) -> "Grading":
        """``spec``: a ``grader.spec.AssignmentSpec``."""
        return cls(assignment=spec.id, include_hidden=include_hidden, device=device,
                   max_score=spec.declared_points(include_hidden),
                   checks_fingerprint=spec.checks_fingerprint(include_hidden))

    def _common(self, submission: str, student: str) -> dict:
        return dict(assignment=self.assignment, submission=submission, student=student, device=self.device,
                    include_hidden=self.include_hidden, grader_version=self.grader_version,
                    checks_fingerprint=self.checks_fingerprint)

    def error(self, submission: str, student: str, message: str, *, sha256: str = "", duration: float = 0.0,
              started_at: datetime | None = None, max_score: float | None = None) -> Verdict:
        """A submission that got no checks' verdict: unreadable, crashed, or its sandbox failed."""
        return Verdict(status="error", message=message, sha256=sha256, duration=duration,
                       started_at=started_at or utcnow(),
                       max_score=self.max_score if max_score is None else max_score,
                       **self._common(submission, student))

    def graded(self, submission: str, student: str, *, sha256: str, checks: list[CheckResult],
               cells: list[CellResult], stdout: str, stderr: str, layers: dict[str, bool], duration: float,
               started_at: datetime) -> Verdict:
        return Verdict(status="graded", sha256=sha256, checks=checks,
                       score=round(sum(check.score for check in checks), 6),
                       max_score=round(sum(check.max_score for check in checks), 6),
                       cells=cells, stdout=stdout, stderr=stderr, layers=layers, duration=duration,
                       started_at=started_at, **self._common(submission, student))
