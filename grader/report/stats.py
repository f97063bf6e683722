"""Numbers about a set of verdicts that several formats show: checks in order, pass rates, mean and median."""

from __future__ import annotations

import statistics
from typing import NamedTuple

from pydantic import BaseModel

from grader.models import Verdict


class PassRate(NamedTuple):
    check: str
    points: float
    passed: int
    graded: int  # graded verdicts that ran this check

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


class ScoreSummary(BaseModel):
    """Final scores over the graded verdicts; a verdict in error counts only in ``errors``."""

    submissions: int
    graded: int
    errors: int
    mean: float | None = None
    median: float | None = None


def check_names(verdicts: list[Verdict]) -> list[str]:
    """Every check that appears in the verdicts, in the order the checks run."""
    names: dict[str, None] = {}
    for verdict in verdicts:
        for check in verdict.checks:
            names.setdefault(check.name, None)
    return list(names)


def graded_only(verdicts: list[Verdict]) -> list[Verdict]:
    return [verdict for verdict in verdicts if verdict.status == "graded"]


def check_pass_rates(verdicts: list[Verdict]) -> list[PassRate]:
    """(check, points, passed, graded) for every check, counted over the graded verdicts."""
    graded = graded_only(verdicts)
    rates = []
    for name in check_names(verdicts):
        results = [check for verdict in graded for check in verdict.checks if check.name == name]
        points = results[0].max_score if results else 0.0
        rates.append(PassRate(name, points, sum(check.passed for check in results), len(results)))
    return rates


def score_summary(verdicts: list[Verdict]) -> ScoreSummary:
    scores = [verdict.score for verdict in graded_only(verdicts)]
    return ScoreSummary(submissions=len(verdicts), graded=len(scores), errors=len(verdicts) - len(scores),
                        mean=statistics.mean(scores) if scores else None,
                        median=statistics.median(scores) if scores else None)
