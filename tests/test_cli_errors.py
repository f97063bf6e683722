"""User errors through the real `grader` command, in-process with click's CliRunner.

Every one ends with exit code 2 and one line on stderr naming what is wrong and the fix, never a
traceback, and before anything is graded (no sandbox starts). Process-level behaviour (signals,
the exit that skips interpreter teardown) stays in the subprocess tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.cli import main
from grader.i18n import set_language

CORRECT = "import torch\n\ndef double(x):\n    return x + x\n\ndef answer():\n    return 42\n"
TOY = ["--assignments", str(TEST_ASSIGNMENTS)]


@pytest.fixture(autouse=True)
def english():
    yield
    set_language("en")  # `grader check` sets the language of the whole process


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """An empty folder to run in, with no assignments/ of its own."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRADER_ASSIGNMENTS", raising=False)
    return tmp_path


def run(*args: str) -> str:
    """Runs `grader ARGS`, asserts a one-line user error with exit 2, and returns that line."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, (args, result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception  # nothing but the exit escaped
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert result.stdout == "", (args, result.stdout)
    return lines[0]


def usage_error(*args: str) -> str:
    """A bad option value: click's usage block (exit 2) whose one Error: line says what is wrong."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, (args, result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# unknown assignment -----------------------------------------------------------------------------

def test_check_unknown_assignment(here):
    line = run("check", "hw99", *TOY)
    assert line == (f"error: unknown assignment 'hw99': no {TEST_ASSIGNMENTS / 'hw99' / 'assignment.toml'} "
                    "(known: devices, phases, shipped, toy; pass --assignments DIR to look elsewhere)")


def test_check_a_notebook_named_in_place_of_the_assignment(here):
    write_notebook(here / "toy.ipynb", CORRECT)
    assert run("check", "toy.ipynb", *TOY) == ("error: 'toy.ipynb' is a file, not an assignment: name the assignment "
                                               "first, then the file (e.g. toy toy.ipynb; known: devices, phases, "
                                               "shipped, toy)")


def test_grade_unknown_assignment_lists_the_bundled_ones(here):
    line = run("grade", "hw99", str(here))
    assert line.startswith("error: unknown assignment 'hw99': no ") and "(known: hw1, hw2, hw3, hw4, hw5;" in line


def test_validate_unknown_assignment(here):
    assert run("validate", "hw99").startswith("error: unknown assignment 'hw99'")


def test_release_unknown_assignment(here):
    assert run("release", "hw99", str(here / "out")).startswith("error: unknown assignment 'hw99'")


def test_validating_in_a_released_bundle_says_it_is_one(here):
    """An instructor in the wrong folder (or a student) runs validate where `grader release` put its bundle;
    grade says the same line, from the judge (a sandbox has started by then, so not here)."""
    import shutil

    bundle = here / "assignments" / "toy"
    shutil.copytree(TEST_ASSIGNMENTS / "toy", bundle)
    (bundle / "checks" / "public" / "reference_answers.json").write_text("{}")
    line = run("validate", "toy", "--assignments", str(here / "assignments"))
    assert line == (f"error: {bundle} is a released toy bundle (public checks only, no reference solution): check a "
                    "notebook here with grader check toy NOTEBOOK; grade where the course's assignments/ and "
                    "reference_solutions/ are")


def test_an_assignment_with_bad_toml_names_its_file(here):
    broken = here / "assignments" / "toy"
    broken.mkdir(parents=True)
    (broken / "assignment.toml").write_text('title = "Toy\n')
    line = run("check", "toy", "x.ipynb", "--assignments", str(here / "assignments"))
    assert line.startswith(f"error: {broken / 'assignment.toml'}: not valid TOML (")
    assert line.endswith("; fix the file")


# missing notebooks and submissions --------------------------------------------------------------

def test_check_without_a_notebook_in_the_folder(here):
    assert run("check", "toy", *TOY) == (f"error: no toy.ipynb in {here}; run this next to your notebook or name "
                                         "it: grader check toy path/to/toy.ipynb")


def test_check_with_several_other_notebooks_asks_for_one(here):
    write_notebook(here / "x.ipynb", CORRECT)
    write_notebook(here / "y.ipynb", CORRECT)
    assert run("check", "toy", *TOY) == (f"error: no toy.ipynb in {here} and several other notebooks; name one: "
                                         "grader check toy x.ipynb")


def test_check_a_notebook_that_does_not_exist(here):
    assert run("check", "toy", "missing.ipynb", *TOY) == \
        "error: missing.ipynb: no such file; name your notebook: grader check toy path/to/toy.ipynb"


def test_grade_a_path_that_does_not_exist(here):
    assert run("grade", "toy", str(here / "missing.ipynb"), *TOY) == \
        f"error: {here / 'missing.ipynb'}: no such file or folder; name notebooks, folders of notebooks or an LMS's zip"


def test_grade_a_folder_without_submissions(here):
    (here / "empty").mkdir()
    assert run("grade", "toy", str(here / "empty"), *TOY) == \
        f"error: no submissions found in {here / 'empty'} (looked for .ipynb and .py files)"


# bad --device -----------------------------------------------------------------------------------

def test_check_bad_device(here):
    write_notebook(here / "toy.ipynb", CORRECT)
    assert run("check", "toy", "--device", "tpu", *TOY) == "error: --device tpu: expected auto, cpu, cuda or cuda:N"


def test_grade_bad_device(here):
    write_notebook(here / "a.ipynb", CORRECT)
    assert run("grade", "toy", str(here), "--device", "cuda0", *TOY) == \
        "error: --device cuda0: expected auto, cpu, cuda or cuda:N"


def test_grade_a_gpu_this_machine_lacks(here):
    write_notebook(here / "a.ipynb", CORRECT)
    line = run("grade", "toy", str(here), "--device", "cuda:99", *TOY)
    assert line.startswith("error: --device cuda:99: this machine has ")  # no CUDA GPU, or fewer than 100


def test_validate_bad_device(here):
    assert run("validate", "toy", "--device", "gpu", *TOY) == "error: --device gpu: expected auto, cpu, cuda or cuda:N"


# bad --lang and other option values (click's usage errors) --------------------------------------

def test_check_bad_lang(here):
    line = usage_error("check", "hw2", "--lang", "de")
    assert line == "Error: Invalid value for '--lang': 'de' is not one of 'en', 'ru'."


def test_grade_zero_workers(here):
    line = usage_error("grade", "toy", str(here), "--workers", "0")
    assert line.startswith("Error: Invalid value for '--workers': 0 is not in the range x>=1")


def test_grade_without_paths(here):
    assert usage_error("grade", "toy") == "Error: Missing argument 'PATHS...'."


# missing results in the gradebook ---------------------------------------------------------------

def test_results_of_an_empty_gradebook(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("results", "toy", "--db", url, *TOY) == f"error: no results for toy in {url}; grade first: grader grade toy DIR"


def test_show_of_an_empty_gradebook(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("show", "toy", "ann", "--db", url, *TOY) == \
        f"error: no results for toy in {url}; grade first: grader grade toy DIR"


def test_history_of_an_empty_gradebook(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("history", "toy", "ann", "--db", url, *TOY) == \
        f"error: no results for toy in {url}; grade first: grader grade toy DIR"


def test_export_of_an_empty_gradebook(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("export", "toy", "--csv", str(here / "out.csv"), "--db", url, *TOY).startswith(
        f"error: no results for toy in {url}")
    assert not (here / "out.csv").exists()


def test_report_of_an_empty_gradebook(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("report", "toy", "--html", str(here / "r.html"), "--db", url, *TOY).startswith(
        f"error: no results for toy in {url}")



def test_results_of_an_unknown_assignment_lists_the_known_ones(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("results", "hw9", "--db", url, *TOY) == (
        f"error: unknown assignment 'hw9': not in {TEST_ASSIGNMENTS} and never graded in {url} "
        "(known: devices, phases, shipped, toy)")


def test_runs_of_an_unknown_assignment_lists_the_known_ones(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("runs", "hw9", "--db", url) == (
        f"error: unknown assignment 'hw9': not in {Path(__file__).resolve().parent.parent / 'assignments'} "
        f"and never graded in {url} (known: hw1, hw2, hw3, hw4, hw5)")


def test_void_check_of_an_unknown_assignment_lists_the_known_ones(here):
    url = f"sqlite:///{here / 'none.db'}"
    assert run("void-check", "hw9", "test_x", "--drop", "--reason", "wrong", "--db", url, *TOY) == (
        f"error: unknown assignment 'hw9': not in {TEST_ASSIGNMENTS} and never graded in {url} "
        "(known: devices, phases, shipped, toy)")

# gradebooks and output files that cannot be opened ----------------------------------------------

def test_results_in_a_gradebook_folder_that_does_not_exist(here):
    line = run("results", "toy", "--db", f"sqlite:///{here / 'no' / 'grades.db'}")
    assert line.startswith("error: cannot open the gradebook ") and f"folder {here / 'no'} does not" in line


def test_grade_into_an_unknown_database_dialect(here):
    write_notebook(here / "a.ipynb", CORRECT)
    line = run("grade", "toy", str(here), "--db", "nosuchdialect://x", *TOY)
    assert line.startswith("error: cannot open the gradebook 'nosuchdialect://x': ")


def test_results_from_a_bare_file_name_as_db_suggests_its_sqlite_url(here):
    line = run("results", "toy", "--db", "grades.db")
    assert line.startswith("error: cannot open the gradebook 'grades.db': ")
    assert line.endswith("; pass --db sqlite:///grades.db or another SQLAlchemy URL")
    line = run("results", "toy", "--db", "/srv/course/grades.db")
    assert line.endswith("; pass --db sqlite:////srv/course/grades.db or another SQLAlchemy URL")


def test_grade_json_into_a_missing_folder_fails_before_grading(here):
    write_notebook(here / "a.ipynb", CORRECT)
    out = here / "no" / "out.json"
    assert run("grade", "toy", str(here), "--json", str(out), "--db", f"sqlite:///{here / 'g.db'}", *TOY) == \
        f"error: cannot write {out}: folder {here / 'no'} does not exist; create it or choose another path"
    assert not (here / "g.db").exists()  # refused before the gradebook was opened


def test_results_from_a_mistyped_gradebook_leave_no_file_behind(here):
    assert run("results", "toy", "--db", f"sqlite:///{here / 'grdes.db'}", *TOY).startswith("error: no results for toy")
    assert not (here / "grdes.db").exists()
