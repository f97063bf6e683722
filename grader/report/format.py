"""How numbers read in every output: one score formatter, shared by all the formats."""

from __future__ import annotations

from grader.models import Adjustment, Verdict


def score(value: float) -> str:
    """A score as people read it: 3.5, 10, 0.25 (no trailing zeros, no exponent for course-sized numbers)."""
    return f"{value:g}"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 run``, ``2 runs`` (``plural`` where adding an s is wrong)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def fraction(earned: float, out_of: float, separator: str = "/") -> str:
    """Points earned of points possible: ``3.5/6`` (or ``3.5 / 6`` with ``separator=" / "``)."""
    return f"{score(earned)}{separator}{score(out_of)}"


def final_score(verdict: Verdict) -> str:
    """The final score, with the raw score and the late penalty when one was taken off."""
    text = fraction(verdict.score, verdict.max_score)
    if verdict.penalty:
        text += f" (raw {score(verdict.score_before_penalty)}, late −{verdict.penalty:.0%})"
    return text + adjusted_mark(verdict)


def adjusted_mark(verdict: Verdict) -> str:
    """`` ✎`` where a person changed the score (`` ✎!`` where a regrade since changed the verdict of an
    overridden check: review it); empty otherwise. ``ADJUSTED_LEGEND`` explains both."""
    changes = [each for each in verdict.adjustments if each.kind != "exclude_run"]
    if not changes:
        return ""
    return " ✎!" if any(each.needs_review for each in changes) else " ✎"


ADJUSTED_LEGEND = ("✎ a person changed this score (grader show lists the changes and their reasons); "
                   "✎! a regrade changed the verdict of an overridden check: review the override")


def adjustment_line(adjustment: Adjustment) -> str:
    """One change, as the instructor's views list it."""
    what = adjustment.check or "total"
    if adjustment.kind == "exclude_run":
        return f"#{adjustment.id} run excluded by {adjustment.by} on {adjustment.at:%Y-%m-%d %H:%M}: {adjustment.reason}"
    change = {"void_drop": f"{what} voided: counts for nobody", "void_full": f"{what} voided: full points for everyone"
              }.get(adjustment.kind, f"{what} {score(adjustment.old_points or 0)} → {score(adjustment.new_points or 0)}")
    review = " [needs review: a regrade changed this check's verdict]" if adjustment.needs_review else ""
    return f"#{adjustment.id} {change} by {adjustment.by} on {adjustment.at:%Y-%m-%d %H:%M}: {adjustment.reason}{review}"


def duration(seconds: float) -> str:
    """A lateness: minutes below an hour, hours below a day, else days."""
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
