"""Changes a person makes to stored scores, checked against the gradebook and appended to it.

Each function validates one change (the student, the check, the points, the reason) against
what the gradebook holds, builds its ``AdjustmentRecord`` (with the verdict it was made on, so a
later regrade can flag it) and appends it; ``grader.adjustments`` computes the final scores.
Every problem is a GraderError of one line that names the fix.
"""

from __future__ import annotations

import difflib

from grader.adjustments import AdjustmentRecord, in_effect
from grader.errors import GraderError
from grader.models import utcnow


def no_run_counts(assignment: str, student: str) -> GraderError:
    """A student whose every run was taken out with `grader runs --exclude`: nothing to show or change."""
    return GraderError(f"{student} has no {assignment} run that counts (every one is excluded); see them with "
                       f"grader runs {assignment}, count one again with grader runs {assignment} --include RUN_ID")


def override(gradebook, assignment: str, student: str, *, check: str | None, points: float | None, reason: str,
             by: str, undo: bool) -> AdjustmentRecord:
    """One student's check (``check``, ``points``) or whole score (``points`` alone), or the reversal of
    their newest change in effect (``undo``, of ``check`` if given). ``student``: as the gradebook names them."""
    if not undo and not reason.strip():
        raise GraderError("an override needs its reason: --reason 'regraded by hand: the plot is right'")
    if not undo and points is None:
        raise GraderError("give the new points: --check NAME --points P, or --total P for the whole score")
    counting = gradebook.latest(assignment, student, adjusted=False)
    if not counting:
        raise no_run_counts(assignment, student)
    graded = counting[0]
    final = gradebook.latest(assignment, student)[0]
    run_id = graded.run_id  # the run the change is made on: the newest that counts, not an excluded newer one
    if undo:
        mine = [record for record in in_effect(gradebook.adjustments(assignment)) if record.student == student
                and record.kind in ("override", "total") and (check is None or record.check == check)]
        if not mine:
            raise GraderError(f"nothing to undo: {student} has no override in effect in {assignment}"
                              + (f" for {check}" if check else "") + f"; see: grader show {assignment} {student}")
        target = mine[-1]
        record = AdjustmentRecord(id=0, assignment=assignment, student=student, kind="undo", check=target.check,
                                  points=target.old_points, old_points=target.points, reverses=target.id,
                                  reason=reason or "undone", by=by, at=utcnow(), run_id=run_id)
    elif check is not None:
        by_name = {each.name: each for each in graded.checks}
        if check not in by_name:
            known = ", ".join(by_name) or "none: the latest run is an error row; use --total P"
            raise GraderError(f"no check {check!r} in {student}'s latest {assignment} run; its checks: {known}")
        if not 0 <= points <= by_name[check].max_score:
            raise GraderError(f"--points {points:g}: {check} is worth 0 to {by_name[check].max_score:g}")
        shown = {each.name: each for each in final.checks}[check]
        record = AdjustmentRecord(id=0, assignment=assignment, student=student, kind="override", check=check,
                                  points=points, old_points=shown.score, graded_points=by_name[check].score,
                                  graded_passed=by_name[check].passed, reason=reason, by=by, at=utcnow(),
                                  run_id=run_id)
    else:
        if not 0 <= points <= final.max_score:
            raise GraderError(f"--total {points:g}: {student}'s score is out of {final.max_score:g}")
        record = AdjustmentRecord(id=0, assignment=assignment, student=student, kind="total", points=points,
                                  old_points=final.score, graded_points=graded.score_before_penalty, reason=reason,
                                  by=by, at=utcnow(), run_id=run_id)
    return gradebook.add_adjustment(record)


def void(gradebook, assignment: str, check: str, *, mode: str, reason: str, by: str,
         undo: bool) -> AdjustmentRecord:
    """A check voided for everyone: full points (``mode="full"``) or counting for nobody (``"drop"``);
    ``undo``: the reversal of its newest void."""
    if mode not in ("full", "drop"):
        raise GraderError("choose --give-full (everyone gets the check's points) or --drop (it counts for nobody)")
    if not undo and not reason.strip():
        raise GraderError("voiding a check needs its reason: --reason 'the check's tolerance was wrong'")
    verdicts = gradebook.latest(assignment, adjusted=False)
    if not verdicts:
        raise gradebook.no_results(assignment)
    known = list(dict.fromkeys(each.name for verdict in verdicts for each in verdict.checks))
    if check not in known:
        close = difflib.get_close_matches(check, known, n=1)
        raise GraderError(f"no check {check!r} in the {assignment} results; "
                          + (f"did you mean {close[0]}?" if close else f"its checks: {', '.join(known)}"))
    if undo:
        voids = [record for record in in_effect(gradebook.adjustments(assignment))
                 if record.student is None and record.check == check]
        if not voids:
            raise GraderError(f"nothing to undo: {check} is not voided in {assignment}")
        record = AdjustmentRecord(id=0, assignment=assignment, student=None, kind="undo", check=check,
                                  reverses=voids[-1].id, reason=reason or "undone", by=by, at=utcnow())
    else:
        worth = max(each.max_score for verdict in verdicts for each in verdict.checks if each.name == check)
        record = AdjustmentRecord(id=0, assignment=assignment, student=None, check=check, graded_points=worth,
                                  kind="void_full" if mode == "full" else "void_drop", reason=reason, by=by,
                                  at=utcnow())
    return gradebook.add_adjustment(record)


def exclude(gradebook, assignment: str, run_id: int, *, reason: str, by: str, undo: bool,
            db_url: str) -> AdjustmentRecord:
    """One run taken out of every view (the student's previous run counts again), or back in (``undo``)."""
    if not undo and not reason.strip():
        raise GraderError("excluding a run needs its reason: --reason 'demo run from the README'")
    student = gradebook.run_owner(assignment, run_id)
    if student is None:
        raise GraderError(f"no run {run_id} in the {assignment} results of {db_url}; list them: "
                          f"grader runs {assignment}")
    exclusions = [record for record in in_effect(gradebook.adjustments(assignment))
                  if record.kind == "exclude_run" and record.run_id == run_id]
    if undo:
        if not exclusions:
            raise GraderError(f"run {run_id} is not excluded; nothing to include again")
        record = AdjustmentRecord(id=0, assignment=assignment, student=student, kind="undo", run_id=run_id,
                                  reverses=exclusions[-1].id, reason=reason or "included again", by=by, at=utcnow())
    else:
        if exclusions:
            raise GraderError(f"run {run_id} is already excluded (#{exclusions[-1].id}); "
                              f"grader runs {assignment} --include {run_id} counts it again")
        record = AdjustmentRecord(id=0, assignment=assignment, student=student, kind="exclude_run", run_id=run_id,
                                  reason=reason, by=by, at=utcnow())
    return gradebook.add_adjustment(record)
