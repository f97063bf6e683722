"""Scores a person changed after grading: overrides, voided checks, their undoing, and the final score.

Every change is a row that is never edited or deleted (``grader.store.AdjustmentRow``); undoing
one appends a row that reverses it. ``apply_adjustments`` turns a verdict as graded into the
final one: check overrides and voided checks first (in the order they were made, the later
winning), then the late penalty on the new raw score, then an override of the total. An
override remembers the check's verdict it was made on; a regrade that changes that verdict
marks it ``needs_review`` instead of silently keeping or dropping it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from grader.models import Adjustment, Verdict

KINDS = ("override", "total", "void_full", "void_drop", "exclude_run", "undo")


class AdjustmentRecord(BaseModel):
    """One stored row, as made: what, for whom (None: everyone), by whom, when, why."""

    id: int
    assignment: str
    student: str | None
    kind: Literal["override", "total", "void_full", "void_drop", "exclude_run", "undo"]
    check: str | None = None
    points: float | None = None  # the new points (override, total)
    old_points: float | None = None  # the points shown just before this change
    graded_points: float | None = None  # what grading gave the check (or the raw total) when it was made;
    # for a voided check: the check's maximum
    graded_passed: bool | None = None
    run_id: int | None = None
    reverses: int | None = None  # undo: the row it reverses
    reason: str = ""
    by: str = ""
    at: datetime


def in_effect(records: list[AdjustmentRecord]) -> list[AdjustmentRecord]:
    """The changes not undone, oldest first."""
    undone = {record.reverses for record in records if record.kind == "undo"}
    return sorted((record for record in records if record.kind != "undo" and record.id not in undone),
                  key=lambda record: record.id)


def applies_to(record: AdjustmentRecord, verdict: Verdict) -> bool:
    return record.assignment == verdict.assignment and record.student in (None, verdict.student)


def apply_adjustments(verdict: Verdict, records: list[AdjustmentRecord]) -> Verdict:
    """``verdict``'s final scores under the changes in ``records`` (any student's: those for others are skipped)."""
    effective = [record for record in in_effect(records) if applies_to(record, verdict)]
    if not effective:
        return verdict
    graded = {check.name: check for check in verdict.checks}
    checks = {check.name: check.model_copy() for check in verdict.checks}
    shown: list[Adjustment] = []
    total: AdjustmentRecord | None = None
    dropped_from_errors = 0.0
    for record in effective:
        if record.kind == "exclude_run":
            if record.run_id is not None and record.run_id == verdict.run_id:  # shown in the run's history
                shown.append(Adjustment(id=record.id, kind="exclude_run", reason=record.reason, by=record.by,
                                        at=record.at))
            continue
        if record.kind == "total":
            total = record
            continue
        check = checks.get(record.check or "")
        if check is None:
            if record.kind == "void_drop" and verdict.status == "error" and record.graded_points:
                dropped_from_errors += record.graded_points  # an error row's maximum shrinks like everyone's
            continue  # a check this run did not have (an error row, or checks that changed)
        old = check.score
        if record.kind == "override":
            check.score = record.points if record.points is not None else check.score
            before = graded[check.name]
            review = (record.graded_passed is not None and record.graded_passed != before.passed) or (
                record.graded_points is not None and abs(record.graded_points - before.score) > 1e-9)
        elif record.kind == "void_full":
            check.score, review = check.max_score, False
        else:  # void_drop: it counts for nobody
            check.score, check.max_score, review = 0.0, 0.0, False
        shown.append(Adjustment(id=record.id, kind=record.kind, check=record.check, old_points=old,
                                new_points=check.score, reason=record.reason, by=record.by, at=record.at,
                                needs_review=review))
    update: dict = {"checks": [checks[check.name] for check in verdict.checks]}
    if verdict.status == "graded" and shown:
        raw = round(sum(check.score for check in update["checks"]), 6)
        update.update(raw_score=raw, score=round(raw * (1 - verdict.penalty), 6),
                      max_score=round(sum(check.max_score for check in update["checks"]), 6))
    if dropped_from_errors:
        update["max_score"] = round(max(verdict.max_score - dropped_from_errors, 0.0), 6)
    if total is not None:
        before = update.get("score", verdict.score)
        review = total.graded_points is not None and abs(total.graded_points - verdict.score_before_penalty) > 1e-9
        shown.append(Adjustment(id=total.id, kind="total", old_points=before, new_points=total.points,
                                reason=total.reason, by=total.by, at=total.at, needs_review=review))
        update["score"] = total.points
    return verdict.model_copy(update=dict(update, adjustments=shown))


def excluded_runs(records: list[AdjustmentRecord]) -> set[int]:
    """The runs excluded (``grader runs --exclude``) and not included again."""
    return {record.run_id for record in in_effect(records) if record.kind == "exclude_run" and record.run_id}


def apply_to_all(verdicts: list[Verdict], records: list[AdjustmentRecord]) -> list[Verdict]:
    return [apply_adjustments(verdict, records) for verdict in verdicts] if records else verdicts
