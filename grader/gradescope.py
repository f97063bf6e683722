"""Gradescope: an autograder zip that grades `/autograder/submission` with this engine.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when the image is
built, then ``/autograder/run_autograder`` for every submission, and reads
``/autograder/results/results.json``. Ours: ``setup.sh`` installs a Python >= 3.11 (apt's
``python3.11`` where ``python3`` is older, as on Gradescope's default Ubuntu 22.04 image),
bubblewrap, torch and this grader into ``/autograder/venv`` (from the ``grader-src/`` copy in the
zip, not editable, so the checks are not beside the installed code); ``run_autograder`` runs
``grader gradescope-run``, which finds the notebook, grades it (every check, in the sandbox) and writes the results. The root
``/autograder`` may be moved with ``GRADER_AUTOGRADER_ROOT`` (tests run it in a temporary tree).

This module builds the zip and the results; the grading itself is the facade's
(``grader.api.run_gradescope``).
"""

from __future__ import annotations

import shlex
import stat
import zipfile
from pathlib import Path

from grader.errors import GraderError
from grader.models import Verdict

RESULTS = Path("results") / "results.json"
SUBMISSION = Path("submission")
SKIPPED_PARTS = {"__pycache__", "mutants", ".pytest_cache"}

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
ROOT="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$ROOT/source"
# The grader needs Python >= 3.11; Gradescope's default base image, Ubuntu 22.04, has 3.10 as python3.
new_enough() {{
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}}
apt_install() {{
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}}
apt-get update
apt_install bubblewrap
command -v python3 >/dev/null || apt_install python3 || true
PYTHON=""
if command -v python3 >/dev/null && new_enough "$(command -v python3)"; then
  apt_install python3-venv python3-pip
  PYTHON="$(command -v python3)"
else
  # Ubuntu 22.04's universe has python3.11 beside its 3.10 python3.
  apt_install python3.11 python3.11-venv || true
  if command -v python3.11 >/dev/null && new_enough "$(command -v python3.11)"; then
    PYTHON="$(command -v python3.11)"
  fi
fi
if [ -z "$PYTHON" ]; then
  echo "setup.sh: no Python >= 3.11 here (python3: $(command -v python3 >/dev/null && python3 -V 2>&1 || echo none)) and apt could not install python3.11; choose a newer base image on Gradescope's Configure Autograder page (e.g. Ubuntu 24.04)" >&2
  exit 1
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --index-url https://download.pytorch.org/whl/cpu "torch=={torch}"
"$ROOT/venv/bin/python" -m pip install "$SOURCE/grader-src"
# The hidden checks and the reference stay readable by root only: the student's code runs as uid 65534.
chmod -R go-rwx "$SOURCE"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission, write results/results.json.
ROOT="${{GRADER_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{GRADER_AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results" && chmod 700 "$ROOT/results"
# -I: the working directory (perhaps the submission's folder) is not on sys.path, so a grader/ folder
# a student uploads is never imported in its place, as root, beside the hidden checks.
exec "$PYTHON" -I -m grader.cli gradescope-run "$ROOT" {assignment}
"""


def _executable(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    return info


def _files_below(folder: Path):
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not SKIPPED_PARTS.intersection(relative.parts) and path.suffix != ".pyc":
            yield path, relative


def build_zip(spec, out: str | Path, grader_source: Path, torch_version: str) -> list[str]:
    """Write the autograder zip for ``spec`` (an AssignmentSpec) to ``out``; returns its members."""
    out = Path(out)
    if not out.parent.is_dir():
        raise GraderError(f"cannot write {out}: folder {out.parent} does not exist; create it or choose another path")
    if not (grader_source / "pyproject.toml").is_file():
        raise GraderError(f"no pyproject.toml in {grader_source}: build the Gradescope zip from a source checkout "
                          "of the grader (pip install -e .)")
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(f"no reference solution at {reference}: the hidden checks need it to grade")
    members: list[str] = []
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH.format(torch=torch_version)),
                           ("run_autograder", RUN_AUTOGRADER.format(assignment=shlex.quote(spec.id)))):
            archive.writestr(_executable(zipfile.ZipInfo(name)), text)
            members.append(name)
        for name in ("pyproject.toml", "README.md"):
            if (grader_source / name).is_file():
                archive.write(grader_source / name, f"grader-src/{name}")
                members.append(f"grader-src/{name}")
        for path, relative in _files_below(grader_source / "grader"):
            archive.write(path, f"grader-src/grader/{relative.as_posix()}")
            members.append(f"grader-src/grader/{relative.as_posix()}")
        for path, relative in _files_below(spec.root):
            archive.write(path, f"assignments/{spec.id}/{relative.as_posix()}")
            members.append(f"assignments/{spec.id}/{relative.as_posix()}")
        archive.write(reference, f"reference_solutions/{spec.id}.py")
        members.append(f"reference_solutions/{spec.id}.py")
    return members


def find_submission(folder: Path, spec) -> Path | None:
    """The notebook in Gradescope's submission folder: the one the assignment names, else the only one."""
    if not folder.is_dir():
        return None
    named = sorted(path for path in folder.rglob(spec.notebook) if path.is_file())
    if named:
        return named[0]
    candidates = sorted(path for suffix in ("*.ipynb", "*.py") for path in folder.rglob(suffix) if path.is_file()
                        and not any(part.startswith(".") or part == "__MACOSX"
                                    for part in path.relative_to(folder).parts))
    return candidates[0] if len(candidates) == 1 else None


def results_json(verdict: Verdict, execution_time: float) -> dict:
    """Gradescope's results.json for one verdict (``verdict``: already as the student may see it).

    Public checks are ``visible``; hidden ones ``after_due_date``, with their title, points and
    pass/fail only. Gradescope applies its own late policy, so the score is before any penalty.
    """
    tests = []
    for check in verdict.checks:
        hidden = check.visibility == "hidden"
        tests.append({"name": check.title or check.name, "score": check.score, "max_score": check.max_score,
                      "status": "passed" if check.passed else "failed",
                      "output": "" if hidden else check.message,
                      "visibility": "after_due_date" if hidden else "visible"})
    raised = [f"code cell {cell.index}: {cell.error.type}: "
              + (cell.error.message.splitlines()[0] if cell.error.message else "")
              for cell in verdict.cells if cell.status != "ok" and cell.error is not None]
    output = verdict.message if verdict.status == "error" else "\n".join(raised)
    return {"score": verdict.score_before_penalty if verdict.status == "graded" else 0.0,
            "execution_time": max(int(round(execution_time)), 0),
            "output": output, "stdout_visibility": "hidden", "tests": tests}
