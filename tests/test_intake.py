"""Real submission folders, as instructors get them: every file one row with the right student and score."""

from __future__ import annotations

import os
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.api import grade_submissions
from grader.errors import GraderError
from grader.intake import Intake
from grader.intake.identity import identify
from grader.spec import load_assignment

CORRECT = "import torch\n\ndef double(x):\n    return x + x\n\ndef answer():\n    return 42\n"
HALF = "def double(x):\n    return x + x\n\ndef answer():\n    return 0\n"
TOY = load_assignment("toy", TEST_ASSIGNMENTS)
HW2 = load_assignment("hw2")


def grade(tmp_path, *paths, url=None):
    url = url or f"sqlite:///{tmp_path / 'grades.db'}"
    verdicts = grade_submissions("toy", [str(p) for p in paths], db_url=url, assignments_dir=TEST_ASSIGNMENTS)
    return verdicts, url


def latest_by_student(url: str) -> dict[str, tuple[float, str]]:
    from grader.api import latest_results

    return {v.student: (v.score, v.submission) for v in latest_results("toy", url)}


def runs_in(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute("select count(*) from runs").fetchone()[0]


def aged(path: Path, seconds_ago: float) -> Path:
    moment = time.time() - seconds_ago
    os.utime(path, (moment, moment))
    return path


# Who handed a file in, by layout (no sandbox needed) --------------------------------------------------

@pytest.mark.parametrize("relative, student, layout", [
    ("alice_hw2.ipynb", "alice_hw2", "flat"),
    ("hw2-alice/hw2.ipynb", "alice", "folder per student"),
    ("bob/hw2 (1).ipynb", "bob", "folder per student"),
    ("hw2/hw2-carol/hw2.ipynb", "carol", "folder per student"),
    ("submissions/hw2/dan_hw2.ipynb", "dan_hw2", "flat"),
    ("Ivan Petrov_12345_assignsubmission_file_/hw2.ipynb", "Ivan Petrov (12345)", "moodle"),
    ("petrovivan_12345_67890_hw2.ipynb", "petrovivan (12345)", "canvas"),
    ("petrovivan_LATE_12345_67891_hw2-2.ipynb", "petrovivan (12345)", "canvas"),
])
def test_identity_of_each_layout(relative, student, layout):
    identity = identify(relative, HW2)
    assert (identity.student, identity.layout) == (student, layout)


@pytest.mark.parametrize("relative, student", [
    ("hw2-alice/hw2-bob/hw2.ipynb", "alice"),
    ("Alice A_111_assignsubmission_file_/Bob Brown_222_assignsubmission_file_/hw2.ipynb", "Alice A (111)"),
    ("hw2-alice/carol.ipynb", "alice"),
    ("hw2-alice/Dave Smith_777_assignsubmission_file_/x.ipynb", "alice"),
    ("alice/hw2-bob/hw2.ipynb", "alice"),
    ("alice/petrovivan_12345_67890_hw2.ipynb", "alice"),
])
def test_folders_a_student_makes_inside_their_own_never_name_another_student(relative, student):
    assert identify(relative, HW2).student == student


def test_student_pattern_may_match_a_folder():
    spec = HW2.model_copy(update={"student_pattern": r"^team-(?P<student>\w+)/"})
    assert identify("team-blue/hw2.ipynb", spec).student == "blue"


# Layouts graded for real ------------------------------------------------------------------------------

def test_folder_per_student_gives_one_row_per_student(tmp_path):
    for name, code in [("alice", CORRECT), ("bob", HALF), ("carol", CORRECT)]:
        (tmp_path / "org" / f"toy-{name}").mkdir(parents=True)
        write_notebook(tmp_path / "org" / f"toy-{name}" / "toy.ipynb", code)
    verdicts, url = grade(tmp_path, tmp_path / "org")
    assert {v.student: v.score for v in verdicts} == {"alice": 4, "bob": 3, "carol": 4}
    assert {s: score for s, (score, _) in latest_by_student(url).items()} == {"alice": 4, "bob": 3, "carol": 4}


def test_moodle_download_names_students_by_name_and_id(tmp_path):
    for folder, code in [("Анна Иванова_101_assignsubmission_file_", CORRECT), ("Bob Li_102_assignsubmission_file_", HALF)]:
        (tmp_path / "moodle" / folder).mkdir(parents=True)
        write_notebook(tmp_path / "moodle" / folder / "toy.ipynb", code)
    verdicts, _ = grade(tmp_path, tmp_path / "moodle")
    assert {v.student: v.score for v in verdicts} == {"Анна Иванова (101)": 4, "Bob Li (102)": 3}


def test_canvas_resubmission_the_newest_counts_and_both_are_kept(tmp_path):
    folder = tmp_path / "canvas"
    folder.mkdir()
    aged(write_notebook(folder / "lidan_555_1_toy.ipynb", CORRECT), 3600)
    aged(write_notebook(folder / "lidan_555_2_toy-1.ipynb", HALF), 60)
    verdicts, url = grade(tmp_path, folder)
    assert len(verdicts) == 2
    assert latest_by_student(url) == {"lidan (555)": (3, f"{folder}/lidan_555_2_toy-1.ipynb")}
    assert runs_in(url) == 2


def test_an_old_draft_beside_the_notebook_never_replaces_it(tmp_path):
    folder = tmp_path / "subs" / "toy-dana"
    folder.mkdir(parents=True)
    write_notebook(folder / "toy.ipynb", CORRECT)
    draft = folder / "toy_draft.py"
    draft.write_text(HALF)
    aged(draft, 7200)
    plans = []
    verdicts = grade_submissions("toy", [str(tmp_path / "subs")], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                 assignments_dir=TEST_ASSIGNMENTS, on_plan=plans.append)
    assert sorted(v.score for v in verdicts) == [3, 4]
    set_aside = [f for f in plans[0] if f.set_aside_for]
    assert [(f.name.endswith("toy_draft.py"), f.set_aside_for.endswith("toy.ipynb")) for f in set_aside] == [(True, True)]
    assert latest_by_student(f"sqlite:///{tmp_path / 'g.db'}")["dana"][0] == 4


def test_a_zip_of_an_lms_download_is_graded_without_unpacking(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    write_notebook(staging / "a.ipynb", CORRECT)
    write_notebook(staging / "b.ipynb", HALF)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(staging / "a.ipynb", "Ann Lee_7_assignsubmission_file_/toy.ipynb")
        bundle.write(staging / "b.ipynb", "Bo Chen_8_assignsubmission_file_/toy.ipynb")
        for hostile in ("../../evil/toy.ipynb", "/abs/toy.ipynb"):  # written raw: ZipFile.write would clean them
            bundle.writestr(zipfile.ZipInfo(hostile), (staging / "a.ipynb").read_bytes())
    verdicts, _ = grade(tmp_path, archive)
    by_student = {v.student: v for v in verdicts}
    assert by_student["Ann Lee (7)"].score == 4 and by_student["Bo Chen (8)"].score == 3
    escaping = [v for v in verdicts if v.status == "error"]
    assert len(escaping) == 2 and all("was not unpacked" in v.message for v in escaping)
    assert not (tmp_path.parent / "evil").exists()


def test_a_damaged_zip_is_one_line(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(GraderError, match="broken.zip: not a readable zip file"):
        Intake([archive], TOY)


# Files that are not what a student handed in ----------------------------------------------------------

def test_a_symlink_to_a_classmates_notebook_is_refused_with_a_row(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "eve.ipynb", CORRECT)
    (folder / "mallory.ipynb").symlink_to(folder / "eve.ipynb")
    verdicts, _ = grade(tmp_path, folder)
    by_student = {v.student: v for v in verdicts}
    assert by_student["eve"].score == 4
    assert by_student["mallory"].status == "error" and by_student["mallory"].score == 0
    assert "symbolic link" in by_student["mallory"].message


def test_a_symlink_to_the_reference_solution_is_refused(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "zed.py").symlink_to(TEST_ASSIGNMENTS.parent / "reference_solutions" / "toy.py")
    verdicts, _ = grade(tmp_path, folder)
    assert [(v.student, v.status, v.score) for v in verdicts] == [("zed", "error", 0)]


def test_a_linked_folder_leading_outside_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_notebook(outside / "toy.ipynb", CORRECT)
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "toy-trent").symlink_to(outside, target_is_directory=True)
    verdicts, _ = grade(tmp_path, folder)
    assert [(v.student, v.status) for v in verdicts] == [("trent", "error")]
    assert "outside" in verdicts[0].message


def test_a_hard_link_to_a_file_outside_is_refused(tmp_path):
    outside = write_notebook(tmp_path / "answer_key.ipynb", CORRECT)
    folder = tmp_path / "subs"
    folder.mkdir()
    os.link(outside, folder / "hal.ipynb")
    verdicts, _ = grade(tmp_path, folder)
    assert [(v.student, v.status) for v in verdicts] == [("hal", "error")]
    assert "hard link" in verdicts[0].message


# Names ------------------------------------------------------------------------------------------------

def test_a_name_that_is_not_utf8_is_one_row_shown_escaped(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    raw = os.path.join(os.fsencode(folder), "Иванов_toy".encode("cp1251") + b".ipynb")
    write_notebook(Path(os.fsdecode(raw)), CORRECT)
    write_notebook(folder / "petrov.ipynb", HALF)
    verdicts, url = grade(tmp_path, folder)
    students = {v.student: v.score for v in verdicts}
    assert students == {"\\xc8\\xe2\\xe0\\xed\\xee\\xe2_toy": 4, "petrov": 3}
    assert len(latest_by_student(url)) == 2


def test_names_with_newlines_and_control_characters_are_separate_rows(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "a\nfake 10.ipynb", CORRECT)
    write_notebook(folder / "b\x1b[2J.ipynb", HALF)
    verdicts, url = grade(tmp_path, folder)
    assert sorted(v.score for v in verdicts) == [3, 4]
    assert len(latest_by_student(url)) == 2


def test_every_file_found_is_exactly_one_row(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    write_notebook(folder / "good.ipynb", CORRECT)
    (folder / "broken.ipynb").write_text("{not json")
    (folder / "empty.py").write_text("")
    (folder / "link.ipynb").symlink_to(folder / "good.ipynb")
    verdicts, url = grade(tmp_path, folder)
    assert sorted(v.student for v in verdicts) == ["broken", "empty", "good", "link"]
    assert runs_in(url) == 4


def test_grade_says_which_file_counted_and_which_was_set_aside(tmp_path):
    from conftest import run_grader

    folder = tmp_path / "subs" / "toy-erin"
    folder.mkdir(parents=True)
    write_notebook(folder / "toy.ipynb", CORRECT)
    aged(write_notebook(folder / "toy (1).ipynb", HALF), 3600)
    result = run_grader("grade", "toy", str(tmp_path / "subs"), "--db", f"sqlite:///{tmp_path / 'g.db'}",
                        "--assignments", str(TEST_ASSIGNMENTS), "--workers", "1")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "set aside" in line)
    assert line.startswith("erin: ") and "toy-erin/toy.ipynb counts (newest)" in line and "toy (1).ipynb" in line


def test_a_linked_folder_copying_a_classmate_is_refused_and_a_loop_ends(tmp_path):
    folder = tmp_path / "subs"
    (folder / "toy-amy").mkdir(parents=True)
    write_notebook(folder / "toy-amy" / "toy.ipynb", CORRECT)
    (folder / "toy-ben").symlink_to(folder / "toy-amy", target_is_directory=True)
    (folder / "toy-amy" / "loop").symlink_to(folder, target_is_directory=True)
    verdicts, _ = grade(tmp_path, folder)
    by_student = {v.student: v for v in verdicts}
    assert by_student["amy"].score == 4
    assert by_student["ben"].status == "error" and "linked folder" in by_student["ben"].message


def test_a_damaged_member_is_one_row_and_the_rest_is_graded(tmp_path):
    staging = write_notebook(tmp_path / "a.ipynb", CORRECT)
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(staging, "Ann Lee_7_assignsubmission_file_/toy.ipynb")
        bundle.write(staging, "Bo Chen_8_assignsubmission_file_/toy.ipynb")
    data = bytearray(archive.read_bytes())
    second = data.find(b"PK\x03\x04", 10)  # the second member's local header: damage its compressed bytes
    data[second + 80:second + 120] = b"\xff" * 40
    archive.write_bytes(bytes(data))
    verdicts, _ = grade(tmp_path, archive)
    by_student = {v.student: v for v in verdicts}
    assert by_student["Ann Lee (7)"].score == 4
    assert by_student["Bo Chen (8)"].status == "error" and "damaged" in by_student["Bo Chen (8)"].message
