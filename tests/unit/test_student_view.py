"""What a student may read of a verdict: hidden checks under the assignment's feedback policy."""

from grader.models import CheckResult, Verdict
from grader.student_view import student_view


def verdict(*checks: CheckResult) -> Verdict:
    return Verdict(assignment="hw", submission="s.ipynb", student="s", status="graded", checks=list(checks),
                   stdout="printed 0.731")


def test_a_parametrised_hidden_checks_arguments_are_not_shown():
    hidden = CheckResult(name="test_decode[secret phrase 42]", title="test_decode[secret phrase 42]",
                         visibility="hidden", score=0, max_score=1, passed=False, message="expected 42")
    shown = student_view(verdict(hidden), "safe").checks[0]
    assert (shown.name, shown.title, shown.message) == ("test_decode", "test_decode", "the check failed")


def test_a_public_parametrised_check_keeps_its_name():
    public = CheckResult(name="test_f[4x10]", title="f on 4x10", visibility="public", score=1, max_score=1,
                         passed=True)
    assert student_view(verdict(public), "safe").checks[0].name == "test_f[4x10]"


def test_the_safe_view_drops_what_the_students_code_printed():
    hidden = CheckResult(name="test_h", visibility="hidden", score=1, max_score=1, passed=True)
    assert student_view(verdict(hidden), "safe").stdout == ""
