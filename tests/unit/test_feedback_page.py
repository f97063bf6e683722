"""A feedback page from hand-built verdicts: the hidden-check gate and student text made inert."""

from datetime import datetime, timezone

from grader.feedback import StudentFeedback, student_visible
from grader.models import CellError, CellResult, CheckResult, CodeCell, Verdict
from grader.report.feedback_page import render_feedback_html, render_feedback_markdown

SECRET = "expected 42.125 for the input [9.5, -1.25]"


def hostile_verdict() -> Verdict:
    return Verdict(
        assignment="hw", submission="/srv/course/hand-ins/x\u202egpj.ipynb", student="<script>alert(1)</script>",
        status="graded", score=1, max_score=3, stdout="SEEN [9.5, -1.25]", layers={"bubblewrap": True},
        checks=[CheckResult(name="test_a", title="a", visibility="public", score=1, max_score=1, passed=True),
                CheckResult(name="test_secret_b", title="b on big inputs", visibility="hidden", score=0,
                            max_score=2, passed=False, message=SECRET)],
        cells=[CellResult(index=2, status="error", error=CellError(type="ValueError", message="</pre><b>x</b>"))])


def test_student_visible_drops_hidden_messages_output_layers_and_folders():
    shown = student_visible(hostile_verdict())
    assert [check.message for check in shown.checks] == ["", "the check failed"]  # never the hidden message
    assert (shown.stdout, shown.layers, shown.submission) == ("", {}, "x\u202egpj.ipynb")
    assert [check.passed for check in shown.checks] == [True, False]  # pass/fail and points stay


def test_the_html_page_has_no_secret_and_no_markup_from_the_student():
    page = render_feedback_html(StudentFeedback(
        assignment="hw", title="HW", verdict=student_visible(hostile_verdict()),
        code=[CodeCell(index=1, source="print('</pre><script>x</script>')"), CodeCell(index=2, source="raise X")]))
    assert SECRET not in page and "9.5" not in page and "/srv/course" not in page and "test_secret_b" not in page
    assert "<script>" not in page and "</pre><b>" not in page
    assert "x\\u202egpj.ipynb" in page  # the bidi override shown, not acting
    assert '<div class="cell raised" id="cell-2">' in page


def test_the_markdown_page_has_no_secret_and_escapes_names():
    page = render_feedback_markdown(StudentFeedback(assignment="hw", title="HW",
                                                    verdict=student_visible(hostile_verdict())))
    assert SECRET not in page and "<script>" not in page
    assert "| ✗ | b on big inputs | 0/2 | hidden check: only whether it passed is shown |" in page


def test_a_moodle_feedback_folder_keeps_the_participant_id_and_no_separator_from_the_name():
    from grader.feedback import moodle_folder

    assert moodle_folder("hand-ins/Ann Lee_101_assignsubmission_file_/hw.ipynb") == "Ann Lee_101_assignfeedback_file_"
    folder = moodle_folder("x/Ann_B\\..\x1b\u202eC_7_assignsubmission_file_/hw.ipynb")
    assert folder == "Ann B ..  C_7_assignfeedback_file_" and folder.split("_", 4)[1] == "7"
    assert moodle_folder("hand-ins/ann.ipynb") is None


def test_a_markdown_message_keeps_its_lines_and_nothing_else_becomes_markup():
    verdict = Verdict(assignment="hw", submission="a.ipynb", student="a", status="graded", score=0, max_score=1,
                      checks=[CheckResult(name="t", title="t", visibility="public", score=0, max_score=1,
                                          passed=False, message="wrong <b>x</b>\nHint: use |dim=1|")])
    page = render_feedback_markdown(StudentFeedback(assignment="hw", title="HW", verdict=verdict))
    assert "| ✗ | t | 0/1 | wrong &lt;b&gt;x&lt;/b&gt;<br>Hint: use \\|dim=1\\| |" in page


def test_feedback_pages_go_into_a_folder_whose_parents_do_not_exist_yet(tmp_path):
    from grader.feedback import write_feedback_files

    verdict = Verdict(assignment="hw", submission="a.ipynb", student="ann", status="graded", score=1, max_score=1)
    out = tmp_path / "feedback" / "hw"  # README: grader feedback hw2 feedback/hw2/ in a fresh checkout
    written = write_feedback_files([StudentFeedback(assignment="hw", title="HW", verdict=verdict)], out,
                                   render=lambda each: f"page of {each.verdict.student}")
    assert [path.read_text() for path in out.iterdir()] == ["page of ann"]
    assert written.pages["ann"].startswith("ann")
