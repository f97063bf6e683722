"""The data that passes between stages: extracted submissions in, verdicts out."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from grader.i18n import tr


DEFAULT_DB_URL = "sqlite:///grades.db"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CodeCell(BaseModel):
    index: int = Field(description="1-based position among the notebook's code cells (0: the grader's set-up cell)")
    source: str
    position: int | None = Field(None, description="1-based position among all the notebook's cells, markdown "
                                                   "too: where the student finds it")
    execution_count: int | None = Field(None, description="the In [N] the notebook was saved with")
    setup: bool = Field(False, description="the grader's own cell that writes the assignment's support files")

    @property
    def label(self) -> str:
        """How messages name the cell: as the student finds it in Jupyter, e.g. "cell 5 (In [3])"."""
        if self.setup:
            return tr("the assignment's support files")
        position = self.position if self.position is not None else self.index
        if self.execution_count is None:
            return tr("cell {position}", position=position)
        return tr("cell {position} (In [{count}])", position=position, count=self.execution_count)


class ExtractedSubmission(BaseModel):
    path: str
    student: str
    sha256: str = Field(description="hash of the extracted code: outputs and metadata do not change it")
    kind: Literal["notebook", "python"]
    cells: list[CodeCell]
    notes: list[str] = Field(default_factory=list, description="what extraction neutralised")


class CellError(BaseModel):
    type: str
    message: str
    where: str | None = None
    traceback: str = ""


class CellResult(BaseModel):
    index: int
    status: Literal["ok", "error", "timeout", "crashed"]
    error: CellError | None = None
    seconds: float = 0.0


class CellProgress(BaseModel):
    """A cell of the student's notebook starting or ending in the sandbox, as `grader check` shows it live."""
    index: int
    label: str
    first_line: str = Field("", description="the cell's first line of code, shortened: the student's own text")
    state: Literal["running", "ok", "error", "timeout", "crashed"]
    seconds: float = 0.0
    limit: float = 0.0


class CheckResult(BaseModel):
    name: str
    title: str = ""
    visibility: Literal["public", "hidden"]
    score: float
    max_score: float
    passed: bool
    message: str = ""  # the full feedback: what the instructor's views (show, report, gradebook) show
    seconds: float = 0.0
    student_message: str | None = Field(
        None, description="a hidden check's feedback as a student may read it: built only from facts about "
                          "their own result that do not depend on hidden inputs or expected values (type, "
                          "shape, dtype, device); None for public checks, whose message students read as it is")


class Adjustment(BaseModel):
    """A person's change to a stored score, in effect on a verdict: an override, or a voided check.

    ``check`` None: the whole score. ``old_points``/``new_points``: the check's (or the total's)
    points before and after. ``needs_review``: the check's verdict changed in a later regrade.
    """

    id: int
    kind: Literal["override", "total", "void_full", "void_drop", "exclude_run"]
    check: str | None = None
    old_points: float | None = None
    new_points: float | None = None
    reason: str = ""
    by: str = ""
    at: datetime
    needs_review: bool = False


class Verdict(BaseModel):
    """One submission judged: what the report shows and the gradebook stores."""

    assignment: str
    submission: str
    student: str
    sha256: str = ""
    status: Literal["graded", "error"]
    message: str = ""
    score: float = 0.0
    max_score: float = 0.0
    checks: list[CheckResult] = Field(default_factory=list)
    cells: list[CellResult] = Field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    device: str = "cpu"
    layers: dict[str, bool] = Field(default_factory=dict)
    include_hidden: bool = True
    duration: float = 0.0
    grader_version: str = ""
    checks_fingerprint: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    # The late policy: ``score`` is the final score, ``raw_score`` the checks' total before any penalty.
    raw_score: float | None = None
    submitted_at: datetime | None = None
    late_seconds: float = 0.0
    penalty: float = Field(0.0, description="fraction of the raw score taken off for lateness")
    run_id: int | None = Field(None, description="the gradebook's id of this run, once stored")
    # Overrides and voided checks applied to this verdict's scores (grader override, grader void-check).
    adjustments: list[Adjustment] = Field(default_factory=list)

    @property
    def score_before_penalty(self) -> float:
        return self.score if self.raw_score is None else self.raw_score

    def public_json(self) -> dict:
        """The shape `grader grade --json` promises."""
        data = {
            "submission": self.submission,
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "checks": [{"name": c.name, "score": c.score, "max_score": c.max_score, "passed": c.passed,
                        "message": c.message, "visibility": c.visibility} for c in self.checks],
            "cell_errors": [{"cell": c.index, "status": c.status,
                             "error": f"{c.error.type}: {c.error.message}" if c.error else ""}
                            for c in self.cells if c.status != "ok"],
            "device": self.device,
            "duration": round(self.duration, 3),
        }
        if self.status == "error":
            data["message"] = self.message
        return data
