"""The late policy: when a submission was handed in, and what that costs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from grader.models import Verdict


def submission_time(path: Path) -> datetime | None:
    """When a submission was handed in: its file's modification time (kept by LMS downloads and `cp -p`)."""
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, tz=timezone.utc)
    except OSError:
        return None


def student_deadline(spec, student: str, names: tuple[str, ...] = ()) -> datetime | None:
    """The student's own deadline from ``[late.extensions]``, looked up by their name as graded or any of
    ``names`` (their roster id, email and aliases); None: the assignment's deadline holds."""
    if spec.late is None or not spec.late.extensions:
        return None
    wanted = {" ".join(name.split()).casefold() for name in (student, *names) if name}
    for key, deadline in spec.late.extensions.items():
        if " ".join(key.split()).casefold() in wanted:
            return deadline
    return None


def apply_late_policy(verdict: Verdict, spec, submitted_at: datetime | None,
                      deadline: datetime | None = None) -> Verdict:
    """The final score under the assignment's late policy (``spec``: an AssignmentSpec); the raw score is kept.

    ``deadline``: the student's own (an extension), else ``[late.extensions]`` by the student's name, else
    the assignment's. Run again on a stored verdict, it recomputes the penalty under today's policy.
    """
    raw = verdict.score_before_penalty
    late_seconds, penalty = 0.0, 0.0
    if spec.late is not None and submitted_at is not None:
        late_seconds, penalty = spec.late.assess(submitted_at, deadline or student_deadline(spec, verdict.student))
    return verdict.model_copy(update=dict(raw_score=raw, submitted_at=submitted_at, late_seconds=late_seconds,
                                          penalty=penalty, score=round(raw * (1 - penalty), 6)))


class LatePolicies:
    """A stored verdict's penalty under the assignment's late policy as it is now: a deadline moved, or an
    extension granted (``[late.extensions]``, or the roster's ``deadline_<assignment>`` column) after grading.

    Only where the assignment (found as grading finds it) has a late policy; otherwise, and for an
    assignment not found here, the penalty stored with the run stands.
    """

    def __init__(self, assignments_dir: str | Path | None):
        self.assignments_dir = assignments_dir
        self.specs: dict[str, object] = {}
        self.roster = None

    def spec(self, assignment: str):
        if assignment not in self.specs:
            from grader.spec import assignments_root, load_assignment

            found = (assignments_root(self.assignments_dir) / assignment / "assignment.toml").is_file()
            # One that is here but broken says so; one graded elsewhere keeps its stored penalties.
            self.specs[assignment] = load_assignment(assignment, self.assignments_dir) if found else None
        return self.specs[assignment]

    def enrolled(self):
        if self.roster is None:
            from grader.course import Roster, load_roster, roster_path
            from grader.spec import assignments_root

            path = roster_path(assignments_root(self.assignments_dir))
            self.roster = load_roster(path) if path.is_file() else Roster(path=str(path), students=[])
        return self.roster

    def deadline(self, spec, student: str):
        """The student's own deadline (roster column, then [late.extensions]), or None."""
        entry = self.enrolled().match(student)
        return (entry.deadlines.get(spec.id) if entry else None) or student_deadline(
            spec, student, entry.names() if entry else ())

    def __call__(self, verdict: Verdict) -> Verdict:
        spec = self.spec(verdict.assignment)
        if spec is None or spec.late is None:
            return verdict
        return apply_late_policy(verdict, spec, verdict.submitted_at, self.deadline(spec, verdict.student))
