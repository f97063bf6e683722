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


def mutant_description(path: Path) -> str:
    first = path.read_text().splitlines()[:1]
    if first and first[0].startswith("# mutant:"):
        return first[0].removeprefix("# mutant:").strip()
    return path.stem.replace("_", " ")


def validate_assignment(assignment: str, device: str = "cpu",
                        assignments_dir: str | Path | None = None) -> ValidationReport:
    """Every check against the reference (full marks required) and every mutant (each must lose points)."""
    spec = load_assignment(assignment, assignments_dir)
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(f"no reference solution at {reference}; add reference_solutions/{spec.id}.py")
    mutants = sorted(spec.mutants.glob("*.py")) if spec.mutants.is_dir() else []
    device = resolve_device(device)
    grading = Grading.of(spec, include_hidden=True, device=device)
    units = [read_submission(submission_file(path, spec), spec, grading) for path in [reference, *mutants]]
    from grader.judge import start_judge

    verdicts: list[Verdict] = []
    with start_judge(spec, include_hidden=True, device=device) as judge:
        judge.run([unit for unit in units if not isinstance(unit, Verdict)], verdicts.append)
    by_path = {verdict.submission: verdict for verdict in verdicts}
    verdicts = [unit if isinstance(unit, Verdict) else by_path[unit.path] for unit in units]
    outcomes = [MutantOutcome(name=path.stem, description=mutant_description(path), score=verdict.score,
                              max_score=verdict.max_score,
                              caught_by=[check.name for check in verdict.checks if not check.passed])
                for path, verdict in zip(mutants, verdicts[1:])]
    return ValidationReport(assignment=spec.id, reference=verdicts[0], mutants=outcomes)
