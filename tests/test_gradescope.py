"""`grader gradescope`: the autograder zip, unpacked into a temporary /autograder and run on submissions."""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import sys
import zipfile

import pytest

from conftest import run_grader, write_notebook
from test_feedback import ANN, COURSE_ASSIGNMENTS, CY


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope")
    out = tmp / "autograder.zip"
    result = run_grader("gradescope", "course", str(out), "--assignments", str(COURSE_ASSIGNMENTS))
    assert result.returncode == 0, result.stderr
    assert f"{out}: Gradescope autograder for course" in result.stdout
    return out


def test_the_zip_holds_setup_run_autograder_the_grader_and_the_checks(autograder):
    archive = zipfile.ZipFile(autograder)
    names = archive.namelist()
    assert names[:2] == ["setup.sh", "run_autograder"]
    for name in ("setup.sh", "run_autograder"):
        assert (archive.getinfo(name).external_attr >> 16) & 0o777 == 0o755
    for name in ("grader-src/pyproject.toml", "grader-src/grader/cli.py", "grader-src/grader/locale/ru.toml",
                 "assignments/course/assignment.toml", "assignments/course/checks/hidden/test_hidden.py",
                 "reference_solutions/course.py"):
        assert name in names
    assert not any("__pycache__" in name or "/mutants/" in name for name in names)
    setup = archive.read("setup.sh").decode()
    assert 'pip install "$SOURCE/grader-src"' in setup and "bubblewrap" in setup and "chmod -R go-rwx" in setup
    assert "grader.cli gradescope-run \"$ROOT\" course" in archive.read("run_autograder").decode()


def run_autograder(autograder, tmp_path, files: dict[str, tuple[str, ...] | None], planted: dict[str, str] = {},
                   in_submission: bool = False) -> dict:
    root = tmp_path / "autograder"
    zipfile.ZipFile(autograder).extractall(root / "source")
    (root / "submission").mkdir()
    for name, cells in files.items():
        write_notebook(root / "submission" / name, *cells)
    for name, text in planted.items():  # other files the student uploads beside the notebook
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    env = dict(os.environ, GRADER_AUTOGRADER_ROOT=str(root), GRADER_AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300, cwd=root / "submission" if in_submission else None)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert set(results) == {"score", "execution_time", "output", "stdout_visibility", "tests"}
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 0
    for test in results["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] in ("visible", "after_due_date")
        assert 0 <= test["score"] <= test["max_score"]
    return results


def test_a_correct_submission_gets_full_marks(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"course.ipynb": ANN})
    assert results["score"] == 6
    assert [(t["name"], t["score"], t["max_score"], t["status"], t["visibility"]) for t in results["tests"]] == [
        ("scale: a small vector", 1, 1, "passed", "visible"),
        ("name returns the course's name", 1, 1, "passed", "visible"),
        ("scale: another vector", 2, 2, "passed", "after_due_date"),
        ("scale: float64 stays float64", 2, 2, "passed", "after_due_date")]


def test_a_wrong_submission_shows_public_messages_and_no_hidden_detail(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {"my_homework.ipynb": CY})  # the only notebook: graded
    assert results["score"] == 1
    assert [t["status"] for t in results["tests"]] == ["failed", "passed", "failed", "failed"]
    assert results["tests"][0]["output"].startswith("scale(x): 2 of 2 values differ")
    assert [t["output"] for t in results["tests"][2:]] == ["", ""]
    text = json.dumps(results)
    assert "11.25" not in text and "7.25" not in text and "reference" not in text


def test_no_notebook_is_a_zero_saying_what_to_upload(autograder, tmp_path):
    results = run_autograder(autograder, tmp_path, {})
    assert results["score"] == 0 and results["tests"] == []
    assert results["output"] == ("no course.ipynb in your submission: upload the notebook named course.ipynb "
                                 "(or only one notebook)")


def test_a_grader_folder_in_the_submission_is_not_imported_when_run_from_there(autograder, tmp_path):
    marker = tmp_path / "planted-ran"
    planted = f"open({str(marker)!r}, 'w').close()\n"
    results = run_autograder(autograder, tmp_path, {"course.ipynb": ANN}, in_submission=True,
                             planted={"grader/__init__.py": planted, "grader/cli.py": planted})
    assert results["score"] == 6 and not marker.exists()


def _python_310() -> str | None:
    for candidate in ("/usr/bin/python3.10", *sorted(glob.glob("/root/.pyenv/versions/3.10*/bin/python3.10"))):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def run_setup(autograder, tmp_path, pythons: dict[str, str], python311_from_apt: bool = True):
    """setup.sh in a temporary /autograder, with only ``pythons`` and a recording apt-get on PATH.

    PIP_NO_INDEX stops it at torch's download, after the venv is made (no network, no root)."""
    root = tmp_path / "autograder"
    zipfile.ZipFile(autograder).extractall(root / "source")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, target in pythons.items():
        (bin_dir / name).symlink_to(target)
    apt_log = tmp_path / "apt.log"
    (bin_dir / "apt-get").write_text(
        "#!/bin/bash\n"
        f"echo \"$*\" >> {shlex.quote(str(apt_log))}\n"
        + ("" if python311_from_apt else
           'case "$*" in *python3.11*) echo "E: Unable to locate package python3.11" >&2; exit 100;; esac\n'))
    (bin_dir / "apt-get").chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "GRADER_AUTOGRADER_ROOT": str(root),
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(["/bin/bash", str(root / "source" / "setup.sh")], env=env, capture_output=True,
                          text=True, timeout=300)
    venv_python = root / "venv" / "bin" / "python"
    version = subprocess.run([str(venv_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip() if venv_python.exists() else None
    return done, version, apt_log.read_text().splitlines()


PYTHON_311 = os.path.realpath(sys.executable)  # the base interpreter behind this venv (>= 3.11)


def test_setup_chooses_python311_where_python3_is_310_as_on_ubuntu_2204(autograder, tmp_path):
    python310 = _python_310()
    if python310 is None:
        pytest.skip("no Python 3.10 on this machine to stand for Ubuntu 22.04's python3")
    done, version, apt = run_setup(autograder, tmp_path, {"python3": python310, "python3.11": PYTHON_311})
    assert version == "%d.%d" % sys.version_info[:2], done.stderr
    assert any(line.endswith("python3.11 python3.11-venv") for line in apt)
    assert "torch==" in done.stderr and done.returncode != 0  # stopped at the download, after the venv


def test_setup_uses_python3_where_it_is_new_enough(autograder, tmp_path):
    done, version, apt = run_setup(autograder, tmp_path, {"python3": PYTHON_311})
    assert version == "%d.%d" % sys.version_info[:2], done.stderr
    assert any(line.endswith("python3-venv python3-pip") for line in apt)
    assert not any("python3.11" in line for line in apt)


def test_setup_without_any_python311_fails_in_one_line(autograder, tmp_path):
    python310 = _python_310()
    if python310 is None:
        pytest.skip("no Python 3.10 on this machine to stand for Ubuntu 22.04's python3")
    done, version, _ = run_setup(autograder, tmp_path, {"python3": python310}, python311_from_apt=False)
    assert done.returncode == 1 and version is None
    python3_says = subprocess.run([python310, "-V"], capture_output=True, text=True).stdout.strip()  # Python 3.10.x
    assert done.stderr.splitlines()[-1] == (
        f"setup.sh: no Python >= 3.11 here (python3: {python3_says}) and apt could not install python3.11; "
        "choose a newer base image on Gradescope's Configure Autograder page (e.g. Ubuntu 24.04)")
