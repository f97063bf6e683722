"""grader.adjustments on hand-built verdicts: the order changes apply in, the penalty, undo, review flags."""

from datetime import datetime, timezone

from grader.adjustments import AdjustmentRecord, apply_adjustments, excluded_runs, in_effect
from grader.models import CheckResult, Verdict

AT = datetime(2026, 12, 2, tzinfo=timezone.utc)


def verdict(penalty: float = 0.0, passed_a: bool = False, score_a: float = 0.0) -> Verdict:
    checks = [CheckResult(name="a", visibility="public", score=score_a, max_score=2, passed=passed_a),
              CheckResult(name="b", visibility="hidden", score=3, max_score=3, passed=True)]
    raw = score_a + 3
    return Verdict(assignment="hw", submission="ann.ipynb", student="ann", status="graded", checks=checks,
                   raw_score=raw, score=round(raw * (1 - penalty), 6), max_score=5, penalty=penalty, run_id=7)


def record(id: int, kind: str, **fields) -> AdjustmentRecord:
    return AdjustmentRecord(id=id, assignment="hw", student=fields.pop("student", "ann"), kind=kind, reason="r",
                            by="TA", at=AT, **fields)


def test_a_check_override_changes_the_raw_score_and_the_late_penalty_applies_to_it():
    final = apply_adjustments(verdict(penalty=0.5), [record(1, "override", check="a", points=2,
                                                            graded_points=0, graded_passed=False)])
    assert (final.raw_score, final.score, final.max_score) == (5, 2.5, 5)
    assert [(a.kind, a.check, a.old_points, a.new_points, a.needs_review) for a in final.adjustments] == [
        ("override", "a", 0, 2, False)]


def test_the_later_change_wins_and_a_total_comes_last():
    records = [record(1, "void_drop", student=None, check="a", graded_points=2),
               record(2, "override", check="a", points=1, graded_points=0, graded_passed=False),
               record(3, "total", points=4.5, graded_points=3)]
    final = apply_adjustments(verdict(), records)
    assert [(c.name, c.score, c.max_score) for c in final.checks] == [("a", 1, 0), ("b", 3, 3)]
    assert (final.raw_score, final.max_score, final.score) == (4, 3, 4.5)


def test_an_undone_change_is_not_in_effect():
    records = [record(1, "override", check="a", points=2), record(2, "undo", reverses=1)]
    assert in_effect(records) == []
    assert apply_adjustments(verdict(), records).score == 3


def test_a_changed_verdict_of_the_overridden_check_needs_review():
    made_on_a_failure = record(1, "override", check="a", points=2, graded_points=0, graded_passed=False)
    assert apply_adjustments(verdict(passed_a=True, score_a=2), [made_on_a_failure]).adjustments[0].needs_review
    assert not apply_adjustments(verdict(), [made_on_a_failure]).adjustments[0].needs_review


def test_changes_for_another_student_or_assignment_are_skipped():
    other = [record(1, "override", student="bo", check="a", points=2),
             AdjustmentRecord(id=2, assignment="hw9", student=None, kind="void_full", check="a", at=AT)]
    final = apply_adjustments(verdict(), other)
    assert final.score == 3 and final.adjustments == []


def test_an_excluded_run_is_marked_on_that_run_only():
    records = [record(1, "exclude_run", run_id=7), record(2, "exclude_run", run_id=8), record(3, "undo", reverses=2)]
    assert excluded_runs(records) == {7}
    final = apply_adjustments(verdict(), records)
    assert [a.kind for a in final.adjustments] == ["exclude_run"] and final.score == 3
