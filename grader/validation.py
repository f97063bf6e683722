"""`grader validate`: the checks against the reference (full marks) and every planted mistake (each caught)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from grader.devices import resolve_device
from grader.errors import GraderError
from grader.intake import read_submission, submission_file
from grader.models import Verdict
from grader.spec import load_assignment
from grader.verdicts import Grading


class MutantOutcome(BaseModel):
    name: str
    description: str
    score: float
    max_score: float
    caught_by: list[str]

    @property
    def caught(self) -> bool:
        return self.score < self.max_score


class ValidationReport(BaseModel):
    assignment: str
    reference: Verdict
    mutants: list[MutantOutcome]

    @property
    def reference_full_marks(self) -> bool:
        return self.reference.status == "graded" and self.reference.score == self.reference.max_score

    @property
    def ok(self) -> bool:
        return self.reference_full_marks and all(mutant.caught for mutant in self.mutants)


def validate_assignment(assignment: str, device: str = "cpu",
                        assignments_dir: str | Path | None = None) -> ValidationReport:
    """Every check against the reference (full marks required) and every planted mistake of the
    assignment's mistakes.toml (each must lose points; a stale edit fails before anything runs)."""
    from grader.judge import start_judge
    from grader.mutants import planted_submissions

    spec = load_assignment(assignment, assignments_dir)
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(f"no reference solution at {reference}; add reference_solutions/{spec.id}.py")
    mistakes, mutants = planted_submissions(spec)
    device = resolve_device(device)
    unit = read_submission(submission_file(reference, spec), spec, Grading.of(spec, include_hidden=True, device=device))
    verdicts: list[Verdict] = []
    with start_judge(spec, include_hidden=True, device=device) as judge:
        judge.run([unit, *mutants] if not isinstance(unit, Verdict) else mutants, verdicts.append)
    if isinstance(unit, Verdict):
        verdicts.insert(0, unit)
    outcomes = [MutantOutcome(name=mistake.name, description=mistake.description, score=verdict.score,
                              max_score=verdict.max_score,
                              caught_by=[check.name for check in verdict.checks if not check.passed])
                for mistake, verdict in zip(mistakes, verdicts[1:])]
    return ValidationReport(assignment=spec.id, reference=verdicts[0], mutants=outcomes)
