"""How numbers read in every output: one score formatter, shared by all the formats."""

from __future__ import annotations

from grader.models import Verdict


def score(value: float) -> str:
    """A score as people read it: 3.5, 10, 0.25 (no trailing zeros, no exponent for course-sized numbers)."""
    return f"{value:g}"


def fraction(earned: float, out_of: float, separator: str = "/") -> str:
    """Points earned of points possible: ``3.5/6`` (or ``3.5 / 6`` with ``separator=" / "``)."""
    return f"{score(earned)}{separator}{score(out_of)}"


def final_score(verdict: Verdict) -> str:
    """The final score, with the raw score and the late penalty when one was taken off."""
    text = fraction(verdict.score, verdict.max_score)
    if verdict.penalty:
        text += f" (raw {score(verdict.score_before_penalty)}, late −{verdict.penalty:.0%})"
    return text


def duration(seconds: float) -> str:
    """A lateness: minutes below an hour, hours below a day, else days."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
