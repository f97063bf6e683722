"""Nothing a student's checkout holds is imported or read as configuration by `grader ci`'s judge.

The job runs in the student's checkout (cwd) with the private checks checked out elsewhere, as
examples/github-workflow.yml does. Each test plants one vector in the checkout; its payload, if it
ever runs on the trusted side, writes a canary file, prints the job's secrets and makes every check
pass. The template must still score 0, the canary must not exist and no secret may appear in the
Markdown summary, the JUnit file, stdout or stderr.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

TOKEN = "ghp_trustedSideT0ken_0123456789abcdef"
SECRET = "course-secret-9f8e7d6c5b4a"  # in a variable `grader ci` does not know to redact
CI_VARIABLE = re.compile(r"^(GITHUB_|GH_|GITLAB_|CI_|GRADER_|PYTEST_|PYTHON)")
GRADER_COMMAND = Path(sys.executable).with_name("grader")


def payload(canary: Path) -> str:
    """Python that, run anywhere on the trusted side, leaves proof and tries to take the verdict."""
    return (
        "import os, pathlib\n"
        f"pathlib.Path({str(canary)!r}).write_text('ran')\n"
        "print('LEAKED', os.environ.get('GITHUB_TOKEN'), os.environ.get('COURSE_SECRET'))\n"
        "try:\n"
        "    import pytest\n"
        "    @pytest.hookimpl(tryfirst=True)\n"
        "    def pytest_pyfunc_call(pyfuncitem):\n"
        "        return True  # every check 'passes' without running\n"
        "except Exception:\n"
        "    pass\n"
    )


@pytest.fixture
def job(tmp_path: Path):
    """(checkout, private assignments folder, canary, environment), laid out like a GitHub runner's."""
    work = tmp_path / "work"
    checkout = work / "hw1-alice"
    private = work / "_temp" / "course-private"
    checkout.mkdir(parents=True)
    shutil.copytree(REPO / "assignments" / "hw1", private / "assignments" / "hw1",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (private / "reference_solutions").mkdir()
    shutil.copy(REPO / "reference_solutions" / "hw1.py", private / "reference_solutions" / "hw1.py")
    shutil.copy(REPO / "submissions" / "hw1" / "template.ipynb", checkout / "hw1.ipynb")
    canary = tmp_path / "canary"
    (checkout / "evil.py").write_text(payload(canary))  # what the -p / PYTEST_PLUGINS vectors name
    environment = {name: value for name, value in os.environ.items() if not CI_VARIABLE.match(name)}
    environment.update(GITHUB_TOKEN=TOKEN, COURSE_SECRET=SECRET, GITHUB_WORKSPACE=str(checkout),
                       GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    return checkout, private / "assignments", canary, environment


def grade(job, *, command: list[str] | None = None, **extra_environment: str) -> subprocess.CompletedProcess:
    checkout, assignments, _, environment = job
    command = command or [sys.executable, "-m", "grader.cli"]  # `python -m` puts the checkout on sys.path
    return subprocess.run([*command, "ci", "hw1", "--checks-dir", str(assignments), "--junit", "junit.xml"],
                          cwd=checkout, env={**environment, **extra_environment}, capture_output=True, text=True,
                          timeout=300)


def assert_nothing_ran(job, result: subprocess.CompletedProcess) -> None:
    checkout, _, canary, environment = job
    assert result.returncode == 0, result.stderr
    assert "### ❌ hw1: 0 / 10" in result.stdout
    assert not canary.exists(), "the checkout's code ran on the trusted side"
    outputs = {"stdout": result.stdout, "stderr": result.stderr,
               "junit": (checkout / "junit.xml").read_text(),
               "summary": Path(environment["GITHUB_STEP_SUMMARY"]).read_text()}
    for name, text in outputs.items():
        assert TOKEN not in text and SECRET not in text and "LEAKED" not in text, name


def test_conftest_in_the_checkout_and_beside_it(job):
    checkout, _, canary, _ = job
    (checkout / "conftest.py").write_text(payload(canary))
    # Above both the checkout and the private checks (an earlier step of the job could leave it there).
    (checkout.parent / "conftest.py").write_text(payload(canary))
    assert_nothing_ran(job, grade(job))


def test_pytest_ini_addopts(job):
    (job[0] / "pytest.ini").write_text("[pytest]\naddopts = -p evil\npython_files = *.py\n")
    assert_nothing_ran(job, grade(job))


def test_tox_ini(job):
    (job[0] / "tox.ini").write_text("[pytest]\naddopts = -p evil\n")
    assert_nothing_ran(job, grade(job))


def test_setup_cfg(job):
    (job[0] / "setup.cfg").write_text("[tool:pytest]\naddopts = -p evil\n")
    assert_nothing_ran(job, grade(job))


def test_pyproject_toml(job):
    (job[0] / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p evil"\n')
    assert_nothing_ran(job, grade(job))


def test_sitecustomize(job):
    (job[0] / "sitecustomize.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job))


def test_usercustomize(job):
    (job[0] / "usercustomize.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job))


def test_pth_file(job):
    (job[0] / "evil.pth").write_text("import evil\n")
    assert_nothing_ran(job, grade(job))


def test_module_named_like_one_the_judge_imports_late(job):
    # The judge's run imports readline for the first time: with the checkout on sys.path (python -m),
    # the checkout's readline.py would be the one imported.
    (job[0] / "readline.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job))


def test_package_named_grader(job):
    package = job[0] / "grader"
    (package / "judge").mkdir(parents=True)
    for name in ("__init__.py", "assertions.py", "cli.py", "judge/__init__.py", "judge/runner.py"):
        (package / name).write_text(payload(job[2]))
    # The `grader` command, as the workflows run it (`python -m grader.cli` in a checkout would import
    # the checkout's package before any of ours runs).
    assert_nothing_ran(job, grade(job, command=[str(GRADER_COMMAND)]))


def test_checks_package_shadow(job):
    shadow = job[0] / "checks" / "public"
    shadow.mkdir(parents=True)
    (job[0] / "checks" / "__init__.py").write_text(payload(job[2]))
    (shadow / "__init__.py").write_text(payload(job[2]))
    (shadow / "test_hw1_public.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job))


def test_reference_solutions_shadow(job):
    shadow = job[0] / "reference_solutions"
    shadow.mkdir()
    (shadow / "__init__.py").write_text(payload(job[2]))
    (shadow / "hw1.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job))


def test_pytest_addopts_in_the_environment(job):
    assert_nothing_ran(job, grade(job, PYTEST_ADDOPTS="-p evil --confcutdir=/"))


def test_pytest_plugins_in_the_environment(job):
    assert_nothing_ran(job, grade(job, PYTEST_PLUGINS="evil"))


def test_installed_entry_point_plugin(job, tmp_path):
    # A pytest11 entry point of an installed distribution (what `pip install -r requirements.txt` from
    # the checkout could bring): pytest would load it at start-up unless autoloading is off.
    site = tmp_path / "site"
    (site / "evil_entry-0.dist-info").mkdir(parents=True)
    (site / "evil_entry-0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: evil-entry\nVersion: 0\n")
    (site / "evil_entry-0.dist-info" / "entry_points.txt").write_text("[pytest11]\nevil = evil_entry\n")
    (site / "evil_entry.py").write_text(payload(job[2]))
    assert_nothing_ran(job, grade(job, PYTHONPATH=str(site)))


def test_checks_dir_inside_the_checkout_is_refused(job):
    checkout, assignments, canary, environment = job
    (checkout / "conftest.py").write_text(payload(canary))
    inside = checkout / ".grader-private"
    shutil.copytree(assignments.parent, inside)

    result = subprocess.run([sys.executable, "-m", "grader.cli", "ci", "hw1", "--checks-dir",
                             ".grader-private/assignments"], cwd=checkout, env=environment, capture_output=True,
                            text=True, timeout=300)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ".grader-private/assignments is inside the checkout" in lines[0]
    assert "outside the workspace" in lines[0] and "$RUNNER_TEMP" in lines[0]
    assert result.stdout == "" and not canary.exists()
