"""`grader report --html`, rendered by a real headless Chromium."""

import os
import re
import shutil
import struct
import subprocess

import pytest

from conftest import TEST_ASSIGNMENTS, run_grader, write_notebook

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
if CHROMIUM is None and not os.environ.get("GRADER_TESTS_REQUIRE_ALL"):
    pytest.skip("no chromium here (apt-get install -y chromium); CI installs it", allow_module_level=True)

CORRECT = "def double(x):\n    return x + x\n\ndef answer():\n    return 42\n"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


def chromium(*args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "chromium is required here (GRADER_TESTS_REQUIRE_ALL is set)"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    folder = tmp / "hand-ins"
    folder.mkdir()
    write_notebook(folder / "ann.ipynb", CORRECT)
    write_notebook(folder / "bo.ipynb", "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 42\n")
    write_notebook(folder / "cy.ipynb", "def double(x):\n    return x\n\ndef answer():\n    return 41\n")
    write_notebook(folder / f"{HOSTILE_NAME}.ipynb", "def double(x):\n    raise ValueError('<b>bold</b>')\n")
    (folder / "dee.ipynb").write_text("not json")
    db = f"sqlite:///{tmp / 'g.db'}"
    graded = run_grader("grade", "toy", str(folder), "--db", db, "--assignments", str(TEST_ASSIGNMENTS))
    assert graded.returncode == 0, graded.stderr
    page = tmp / "report.html"
    written = run_grader("report", "toy", "--html", str(page), "--db", db)
    assert written.returncode == 0 and "5 students" in written.stdout, written.stderr
    return page


def test_rendered_page_shows_histogram_pass_rates_failures_and_students(report):
    rendered = chromium("--dump-dom", report.as_uri())
    assert rendered.returncode == 0, rendered.stderr
    dom = rendered.stdout
    assert "<h1>toy: grading report</h1>" in dom
    assert "5 students, 1 error(s); mean 1.75, median 1.5 of 4" in dom
    assert len(re.findall(r'<rect class="bin"', dom)) == 4          # one bar per point
    counts = [int(n) for n in re.findall(r'<rect class="bin" data-count="(\d+)"', dom)]
    assert counts == [2, 0, 0, 2]  # graded: cy 0, the hostile one 0, bo 3 (ints come back as floats), ann 4
    rates = dict(re.findall(r'<rect class="rate" data-check="([^"]+)" data-rate="([\d.]+)"', dom))
    assert rates == {"test_double": "0.500", "test_answer": "0.500", "test_double_float64": "0.500",
                     "test_double_int": "0.250"}
    failures = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>(test_\w+)</td><td>([^<]*)</td></tr>", dom)
    assert len(failures) == 9 and all(count == "1" for count, _, _ in failures)  # bo 1, cy 4, hostile 4
    assert ("1", "test_double", "double(...) raised ValueError: &lt;b&gt;bold&lt;/b&gt; (cell #, line #)") in failures
    students = re.findall(r'<tr class="(graded|error)"><td>([^<]*)</td>', dom)
    assert [name for _, name in students] == ["&lt;img src=x onerror=alert(1)&gt;", "ann", "bo", "cy", "dee"]
    assert ("error", "dee") in students
    assert "<img" not in dom and "<b>bold" not in dom  # student text is text, never markup


def test_screenshot_is_a_full_page(report, tmp_path):
    png = tmp_path / "report.png"
    shot = chromium("--window-size=1000,1400", f"--screenshot={png}", report.as_uri())
    assert shot.returncode == 0, shot.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1000, 1400)
    assert len(data) > 20_000  # text, bars and a table, not a blank page
