"""A verdict as a student may read it (`grader ci`'s summary, annotations, JUnit and comment).

The judge keeps everything in the verdict (the instructor's views show it all: `grader show`,
the report, the gradebook). Where a student reads the outcome of a hidden check, they get its
title, pass/fail, points and the check's ``student_message``, built only from facts about their
own result (type, shape, dtype, device), unless the assignment opts in with
``[feedback] hidden = "full"``; ``"none"`` hides even the titles. Public checks are left as
they are.
"""

from __future__ import annotations

from grader.i18n import tr
from grader.models import CheckResult, Verdict
from grader.spec import FeedbackPolicy

POLICIES = ("safe", "full", "none")


def student_view(verdict: Verdict, policy: FeedbackPolicy | str = "safe") -> Verdict:
    """``verdict`` with hidden checks' feedback reduced to what ``policy`` lets a student read."""
    policy = policy.hidden if isinstance(policy, FeedbackPolicy) else policy
    if policy not in POLICIES:
        raise ValueError(f"unknown feedback policy {policy!r}; expected one of {', '.join(POLICIES)}")
    hidden = [check for check in verdict.checks if check.visibility == "hidden"]
    if policy == "full" or not hidden:
        return verdict
    public = [check for check in verdict.checks if check.visibility != "hidden"]
    if policy == "safe":
        checks = [safe_check(check) if check.visibility == "hidden" else check for check in verdict.checks]
    else:
        checks = public + [CheckResult(
            name="hidden", title=tr("hidden checks ({count})", count=len(hidden)), visibility="hidden",
            score=round(sum(check.score for check in hidden), 6),
            max_score=round(sum(check.max_score for check in hidden), 6),
            passed=all(check.passed for check in hidden), message="",
            seconds=sum(check.seconds for check in hidden))]
    # What the student's code printed while hidden checks called it can hold their inputs.
    return verdict.model_copy(update={"checks": checks, "stdout": "", "stderr": ""})


def safe_check(check: CheckResult) -> CheckResult:
    if check.student_message is not None:
        message = check.student_message
    else:  # judged before student messages existed, or read back from a gradebook
        message = "" if check.passed else tr("the check failed")
    # pytest names a parametrised check by its arguments ("test_decode[secret 42]"): hidden inputs, maybe
    return check.model_copy(update={"message": message, "name": _without_arguments(check.name),
                                    "title": _without_arguments(check.title)})


def _without_arguments(name: str) -> str:
    return name.split("[", 1)[0] if name.endswith("]") and "[" in name else name
