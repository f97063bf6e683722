"""`grader feedback`: a small class graded for real, one page per student, nothing hidden in any page."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import REPO, run_grader, write_notebook

# A course's folder: assignments/ (one small assignment, "course"), reference_solutions/, roster.csv.
COURSE = Path(__file__).resolve().parent / "data" / "course"
COURSE_ASSIGNMENTS = COURSE / "assignments"
HIDDEN_CHECKS = COURSE_ASSIGNMENTS / "course" / "checks" / "hidden" / "test_hidden.py"
REFERENCE = COURSE / "reference_solutions" / "course.py"
ON_TIME = datetime(2026, 5, 31, 12, 0, tzinfo=timezone.utc).timestamp()
LATE = datetime(2026, 6, 3, 12, 0, tzinfo=timezone.utc).timestamp()  # 2.5 days: 3 started days, 30%

ANN = ("import torch\n\ndef scale(x):\n    return x * 3\n", "def name():\n    return 'PyTorch 101'\n")
# bo prints whatever the checks pass in (the hidden inputs among it), and loses the dtype check.
BO = ("import torch\n\ndef scale(x):\n    print('SEEN', x.tolist())\n    return (x * 3).float()\n",
      "raise ValueError('<b>not markup</b>')\n", "def name():\n    return 'PyTorch 101'\n")
# cy doubles: the hidden check's stored message names the expected sum (show_expected=True).
CY = ("def scale(x):\n    return x * 2\n", "def name():\n    return 'PyTorch 101'\n",
      "text = '''```\\nnot the end of the code block\\n```'''\n")


def notebook(path: Path, cells: tuple[str, ...], mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(path, *cells)
    os.utime(path, (mtime, mtime))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback")
    hand_ins = tmp / "hand-ins"
    notebook(hand_ins / "Ann Lee_101_assignsubmission_file_" / "course.ipynb", ANN, ON_TIME)
    notebook(hand_ins / "bo.ipynb", BO, LATE)
    notebook(hand_ins / "cy.ipynb", CY, ON_TIME)
    (hand_ins / "dee.ipynb").write_text("not json")
    db = f"sqlite:///{tmp / 'grades.db'}"
    result = run_grader("grade", "course", str(hand_ins), "--db", db, "--assignments", str(COURSE_ASSIGNMENTS),
                        "--workers", "1")
    assert result.returncode == 0, result.stderr
    return tmp, db


def feedback(graded, folder: str, *options: str) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    tmp, db = graded
    out = tmp / folder
    result = run_grader("feedback", "course", str(out), "--db", db, "--assignments", str(COURSE_ASSIGNMENTS), *options)
    assert result.returncode == 0, result.stderr
    pages = {}
    for path in out.iterdir():
        if path.suffix in (".html", ".md"):
            student = re.search(r'<b id="student">([^<]*)</b>|Student: \*\*([^*]*)\*\*', path.read_text())
            pages[next(group for group in student.groups() if group)] = path.read_text()
    return result, pages


@pytest.fixture(scope="module")
def html_pages(graded):
    return feedback(graded, "html")


def test_one_page_per_student_with_their_score_and_late_penalty(html_pages):
    result, pages = html_pages
    assert "4 feedback pages written" in result.stdout
    assert sorted(pages) == ["Ann Lee (101)", "bo", "cy", "dee"]
    score = {student: re.search(r'<p class="score" id="score">([^<]*)</p>', page).group(1)
             for student, page in pages.items()}
    assert score == {"Ann Lee (101)": "Score: 6 of 6", "bo": "Score: 2.8 of 6", "cy": "Score: 1 of 6",
                     "dee": "Score: 0 of 6"}
    assert "Points from the checks: 4" in pages["bo"]
    assert "Handed in 2.5 days after the deadline: late penalty 30%" in pages["bo"]
    assert "late penalty" not in pages["Ann Lee (101)"]


def test_each_check_has_its_title_points_and_a_public_message(html_pages):
    _, pages = html_pages
    rows = re.findall(r'<tr class="(pass|fail) (public|hidden)"(?: data-check="(\w+)")?><td class="mark">.</td>'
                      r'<td>([^<]*)</td><td class="num">([^<]*)</td><td class="msg">([^<]*)</td>', pages["cy"])
    assert [(passed, visibility, name, title, points) for passed, visibility, name, title, points, _ in rows] == [
        ("fail", "public", "test_scale_small", "scale: a small vector", "0/1"),
        ("pass", "public", "test_name", "name returns the course&#x27;s name", "1/1"),
        ("fail", "hidden", "", "scale: another vector", "0/2"),  # a hidden check's function name is not shown
        ("fail", "hidden", "", "scale: float64 stays float64", "0/2")]
    messages = [message for *_, message in rows]
    assert messages[0].startswith("scale(x): 2 of 2 values differ")
    assert messages[2] == messages[3] == "hidden check: only whether it passed is shown"


def test_a_student_whose_file_could_not_be_read_gets_a_page_saying_why(html_pages):
    _, pages = html_pages
    error = re.search(r'<p class="error" id="error">([^<]*)</p>', pages["dee"]).group(1)
    assert error.startswith("dee.ipynb: not a notebook (invalid JSON")
    assert "hand-ins" not in pages["dee"]  # the instructor's folders are not the student's business


def _secrets(graded) -> list[str]:
    """Every hidden message stored for the class, and the hidden inputs a submission printed."""
    from grader.api import latest_results

    _, db = graded
    hidden = [check.message for verdict in latest_results("course", db) for check in verdict.checks
              if check.visibility == "hidden" and check.message]
    assert len(hidden) == 3 and any("expected 11.25" in message for message in hidden)  # cy twice, bo once
    printed = [verdict.stdout for verdict in latest_results("course", db) if verdict.student == "bo"]
    assert "SEEN [7.25, -3.5]" in printed[0]
    return hidden + ["SEEN [7.25, -3.5]", "11.25", "7.25"]


def _source_lines(path: Path, students_code: str) -> list[str]:
    """The file's lines a student's own code does not also have (``import torch`` is in both)."""
    return [line.strip() for line in path.read_text().splitlines()
            if len(line.strip()) > 8 and line.strip() not in students_code]


@pytest.mark.parametrize("form", ["html", "md"])
def test_no_page_holds_a_hidden_message_input_expected_value_check_or_reference_source(graded, html_pages, form):
    pages = html_pages[1] if form == "html" else feedback(graded, "markdown", "--format", "md")[1]
    students_code = "\n".join(ANN + BO + CY)
    forbidden = _secrets(graded) + _source_lines(HIDDEN_CHECKS, students_code) + \
        _source_lines(REFERENCE, students_code) + ["REFERENCE_FACTOR", "factor_from_the_reference_solution",
                                                   "test_hidden.py", "sandbox", "test_scale_hidden_values",
                                                   "test_scale_keeps_dtype", "HIDDEN_INPUT"]
    assert len(forbidden) > 15
    for student, page in pages.items():
        found = [text for text in forbidden if text in page]
        assert found == [], f"{student}'s page shows {found}"


def test_the_students_code_is_shown_with_the_cell_that_raised_marked(html_pages):
    _, pages = html_pages
    bo = pages["bo"]
    cells = re.findall(r'<div class="cell( raised)?" id="cell-(\d)">', bo)
    assert cells == [("", "1"), (" raised", "2"), ("", "3")]
    assert "print(&#x27;SEEN&#x27;, x.tolist())" in bo  # the student's own code, escaped
    assert ('<li><a href="#cell-2">code cell 2</a>: <span class="err">ValueError: &lt;b&gt;not markup&lt;/b&gt; '
            '(cell 3, line 1)</span></li>') in bo  # the notebook's third cell: its markdown cell counted
    assert "<b>not markup" not in bo


def test_markdown_pages_fence_the_code_so_it_cannot_close_its_block(graded):
    _, pages = feedback(graded, "markdown-fences", "--format", "md")
    cy = pages["cy"]
    assert "**Score: 1 of 6**" in cy
    assert "| ✗ | scale: another vector | 0/2 | hidden check: only whether it passed is shown |" in cy
    assert "````python\ntext = '''```\\nnot the end of the code block\\n```'''\n````" in cy


def test_pages_in_russian(graded):
    _, pages = feedback(graded, "russian", "--lang", "ru")
    ann = pages["Ann Lee (101)"]
    assert '<html lang="ru">' in ann
    assert '<p class="score" id="score">Баллы: 6 из 6</p>' in ann
    assert "<td>scale: короткий вектор</td>" in ann and "<h2>Ваш код</h2>" in ann
    assert "скрытая проверка: показано только, пройдена ли она" in pages["cy"]
    assert "штраф за опоздание 30%" in pages["bo"]
    # The check's message was stored in English at grading; the page gives it from the catalogs' templates.
    assert re.search(r'data-check="test_scale_small">.*<td class="msg">scale\(x\): отличаются 2 из 2 значений; '
                     r'наибольшее расхождение', pages["cy"])


def test_moodle_zip_holds_one_folder_per_student_moodle_can_match(graded):
    tmp, _ = graded
    result, pages = feedback(graded, "moodle", "--zip", "moodle")
    archive = zipfile.ZipFile(tmp / "moodle" / "course-feedback-moodle.zip")
    assert archive.namelist() == ["Ann Lee_101_assignfeedback_file_/course-feedback.html"]
    assert archive.read(archive.namelist()[0]).decode() == pages["Ann Lee (101)"]
    # Moodle's importer splits the folder at "_": the second part is the participant id, then the plugin.
    assert archive.namelist()[0].split("/")[0].split("_", 4)[1:4] == ["101", "assignfeedback", "file"]
    assert "1 packed for Moodle" in result.stdout
    assert "3 not packed" in result.stdout and "bo, cy, dee" in result.stdout


def test_feedback_without_results_is_one_line(tmp_path):
    result = run_grader("feedback", "course", str(tmp_path / "out"), "--db", f"sqlite:///{tmp_path / 'none.db'}",
                        "--assignments", str(COURSE_ASSIGNMENTS))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no results for course in sqlite:///{tmp_path / 'none.db'}; grade first: grader grade course DIR"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("GRADER_TESTS_REQUIRE_ALL"), reason="no chromium here")
def test_a_page_rendered_in_headless_chromium(graded, html_pages, tmp_path):
    assert CHROMIUM, "chromium is required here (GRADER_TESTS_REQUIRE_ALL is set)"
    tmp, _ = graded
    page = next(path for path in (tmp / "html").iterdir() if path.name.startswith("bo-"))
    run = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*run, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr
    assert '<p class="score" id="score">Score: 2.8 of 6</p>' in dom.stdout
    assert "<b>not markup" not in dom.stdout
    png = tmp_path / "feedback.png"
    shot = subprocess.run([*run, "--window-size=1000,1300", f"--screenshot={png}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 1300)
    assert len(data) > 20_000  # a score, a table and code, not a blank page
    if os.environ.get("GRADER_UPDATE_SCREENSHOTS"):
        shutil.copy(png, REPO / "docs" / "feedback.png")
