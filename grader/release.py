"""`grader release`: what students get, and nothing of what they must not see.

The bundle holds the template notebook, the student README and the public checks, with
the reference solution's answers to the public checks recorded as data
(:mod:`grader.replay`). Hidden checks, the reference solution and the planted mistakes
(``mistakes.toml``, :mod:`grader.mutants`) stay home.
Before the bundle is kept it is audited for leaks and proved to work: the reference
solution is checked against it and must get full public marks.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel

from grader.errors import GraderError
from grader.install_help import install_cell, install_section
from grader.intake import read_submission, submission_file
from grader.judge import start_judge
from grader.models import Verdict
from grader.mutants import MISTAKES_FILE
from grader.replay import ANSWERS_FILE, write_answers
from grader.spec import AssignmentSpec, check_functions, load_assignment

MIN_LEAK_LINE = 25  # shorter source lines (``return x``, ``import torch``) are common to any code


class ReleaseReport(BaseModel):
    assignment: str
    folder: str
    files: list[str]
    public_score: float
    public_points: float
    hidden_checks: int
    recorded_answers: int
    wheel: str | None = None  # the grader's wheel in the bundle, what students install


PROJECT_ROOT = Path(__file__).resolve().parent.parent  # a checkout: pyproject.toml beside the package


def release_assignment(assignment: str, out: str | Path, assignments_dir: str | Path | None = None,
                       device: str = "cpu", wheel: bool = True) -> ReleaseReport:
    """Build the bundle in ``out``; with ``wheel``, it carries a wheel of this grader (the package only:
    no assignment, check or reference is in it), which is what its instructions tell students to install."""
    spec = load_assignment(assignment, assignments_dir)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GraderError(f"{out} already exists and is not an empty folder; name a new folder for the bundle")
    for needed in (spec.template, spec.root / "README.md"):
        if not needed.is_file():
            raise GraderError(f"{needed} is missing; a bundle needs the template notebook and the README")

    recording, verdict = _record_public_answers(spec, device)
    if verdict.status != "graded" or verdict.score != verdict.max_score:
        failed = [check.name for check in verdict.checks if not check.passed]
        raise GraderError(f"the reference solution gets {verdict.score:g}/{verdict.max_score:g} on the public "
                          f"checks ({', '.join(failed) or verdict.message}); fix them before releasing")
    if recording.unrecordable:
        check, what = next(iter(recording.unrecordable.items()))
        raise GraderError(f"{spec.id}: check {check}: {what}; wrap that reference computation in "
                          "grader.replay.recorded(reference, compute, *data) so its answer can be recorded")

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        wheel_name = _build_wheel(staging) if wheel else None
        files = _write_bundle(spec, staging, wheel_name)
        if wheel_name:
            files.append(wheel_name)
        write_answers(recording, staging / "assignments" / spec.id / "checks" / "public" / ANSWERS_FILE)
        files.append(f"assignments/{spec.id}/checks/public/{ANSWERS_FILE}")
        _audit(spec, staging)
        public_score = _prove(spec, staging, device)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ReleaseReport(assignment=spec.id, folder=str(out), files=sorted(files), public_score=public_score,
                         public_points=verdict.max_score, hidden_checks=spec.hidden_check_count(),
                         recorded_answers=len(recording.answers), wheel=wheel_name)


def _build_wheel(bundle: Path) -> str:
    """``pip wheel`` of this grader's own source, built in a copy so the checkout gets no build/ folder."""
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise GraderError(f"no pyproject.toml in {PROJECT_ROOT}: the grader is not installed from its source, so "
                          "no wheel can be built for the bundle; install it with pip install -e CHECKOUT, or "
                          "release with wheel=False")
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as scratch:
        source = Path(scratch) / "source"
        source.mkdir()
        shutil.copyfile(PROJECT_ROOT / "pyproject.toml", source / "pyproject.toml")
        readme = PROJECT_ROOT / "README.md"
        (source / "README.md").write_text(readme.read_text() if readme.is_file() else "grader\n")
        shutil.copytree(PROJECT_ROOT / "grader", source / "grader",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                                "-w", str(bundle), str(source)], capture_output=True, text=True)
        if built.returncode != 0:
            tail = (built.stderr or built.stdout).strip().splitlines()[-1:] or ["no output"]
            raise GraderError(f"could not build the grader's wheel for the bundle ({tail[0][:200]}); "
                              "pip install setuptools in this environment")
    wheels = sorted(path.name for path in bundle.glob("*.whl"))
    if not wheels:
        raise GraderError("pip wheel wrote no wheel for the bundle; build one with pip wheel . --no-deps")
    return wheels[0]


def _record_public_answers(spec: AssignmentSpec, device: str):
    with start_judge(spec, include_hidden=False, device=device, record_reference=True) as judge:
        verdict = _grade_reference(judge, spec)
    return judge.reference, verdict


def _grade_reference(judge, spec: AssignmentSpec):
    unit = read_submission(submission_file(spec.reference_solution(), spec), spec, judge.grading)
    return unit if isinstance(unit, Verdict) else judge.grade([unit])[0]


def _imported_support(spec: AssignmentSpec) -> list[Path]:
    """The support modules (``checks/<name>.py``) the public checks import."""
    names: set[str] = set()
    for path in spec.check_files(include_hidden=False):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
    return [path for path in spec.support_files() if path.stem in names]


def _write_bundle(spec: AssignmentSpec, bundle: Path, wheel_name: str | None = None) -> list[str]:
    written: list[str] = []

    def copy(source: Path, relative: str) -> None:
        target = bundle / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(relative)

    notebook = json.loads(spec.template.read_text())
    notebook["cells"].insert(0, install_cell(spec.id, spec.notebook, wheel_name))
    (bundle / spec.notebook).write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    written.append(spec.notebook)
    (bundle / "README.md").write_text((spec.root / "README.md").read_text().rstrip("\n") + "\n\n"
                                      + install_section(spec.id, spec.notebook, wheel_name))
    written.append("README.md")
    home = f"assignments/{spec.id}"
    toml = (spec.root / "assignment.toml").read_text()
    (bundle / home).mkdir(parents=True)
    (bundle / home / "assignment.toml").write_text(
        f"# Released by `grader release`: public checks only; the hidden ones run at grading time.\n"
        f"released_hidden_checks = {spec.hidden_check_count()}\n" + toml)
    written.append(f"{home}/assignment.toml")
    for path in sorted(spec.public_checks.iterdir()):
        if path.is_file() and path.suffix in (".py", ".toml") and path.name != ANSWERS_FILE:
            copy(path, f"{home}/checks/public/{path.name}")
    support = _imported_support(spec)
    for path in support:
        copy(path, f"{home}/checks/{path.name}")
    if support:  # the support module's messages
        for catalog in sorted(spec.checks_root.glob("messages.*.toml")):
            copy(catalog, f"{home}/checks/{catalog.name}")
    for name, path in spec.student_support_files():  # next to the notebook, and where `grader check` sends them
        for relative in (name, f"{home}/{name}"):
            if relative not in written:
                copy(path, relative)
    data = spec.root / "data"
    if data.is_dir():  # data the checks read (hw5's digits); secret data belongs outside the assignment folder
        for path in sorted(data.rglob("*")):
            if path.is_file() and f"{home}/{path.relative_to(spec.root)}" not in written:
                copy(path, f"{home}/{path.relative_to(spec.root)}")
    return written


def _public_text(spec: AssignmentSpec) -> str:
    """What the instructor already shows students: the public checks, the README, the template's code."""
    texts = [path.read_text() for path in spec.check_files(include_hidden=False)]
    texts.append((spec.root / "README.md").read_text())
    notebook = json.loads(spec.template.read_text())
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        texts.append("".join(source) if isinstance(source, list) else source)
    return "\n".join(texts)


def _secret_lines(spec: AssignmentSpec) -> tuple[dict[str, str], dict[str, list[str]]]:
    """What students must not see: hidden check names and lines, and the lines of the reference's
    function bodies. Lines the instructor already shows students (public checks, README, template)
    are not secret."""
    public = _public_text(spec)
    public_names = {node.name for path in spec.check_files(include_hidden=False) for node in _functions(path)}
    hidden: dict[str, str] = {}
    bodies: dict[str, list[str]] = {}
    for path in [path for path in spec.check_files(include_hidden=True) if spec.hidden_checks in path.parents]:
        text = path.read_text()
        for node in check_functions(path):
            if node.name not in public_names:
                hidden[node.name] = f"the hidden check {node.name}"
            for line in _significant_lines(text, node, public):
                hidden.setdefault(line, f"{path.name}, {node.name}")
    reference = spec.reference_solution()
    if reference.is_file():
        text = reference.read_text()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                lines = _significant_lines(text, node, public)
                if lines:
                    bodies[f"{reference.name}, {node.name}"] = lines
    return hidden, bodies


def _significant_lines(text: str, node: ast.AST, public: str) -> list[str]:
    body = ast.get_source_segment(text, node) or ""
    lines = []
    for line in body.splitlines()[1:]:
        line = line.strip()
        if (len(line) >= MIN_LEAK_LINE and line not in public
                and not line.startswith(("#", '"""', "import ", "from "))):
            lines.append(line)
    return lines


def _functions(path: Path) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)]


def _audit(spec: AssignmentSpec, bundle: Path) -> None:
    hidden, bodies = _secret_lines(spec)
    for path in bundle.rglob("*"):
        if path.name == MISTAKES_FILE or path.name == "mutants":
            raise GraderError(f"the bundle's {path.relative_to(bundle)} holds the planted mistakes, each one edit away "
                              "from the reference solution; keep it out of the public checks' folder")
        if not path.is_file() or path.name == ANSWERS_FILE or path.parent.name == "data":
            continue
        text = path.read_text(errors="replace")
        where = path.relative_to(bundle)
        for needle, origin in hidden.items():
            if needle in text:
                raise GraderError(f"the bundle's {where} contains {origin} ({needle[:60]!r}); move it out of "
                                  "the public checks and their support module")
        for origin, lines in bodies.items():
            found = [line for line in lines if line in text]
            if found:
                raise GraderError(f"the bundle's {where} contains the reference solution's {origin} "
                                  f"({found[0][:60]!r}, ...); move it out of the public checks and their support "
                                  "module")


def _prove(spec: AssignmentSpec, bundle: Path, device: str) -> float:
    """Check the reference solution against the bundle, as a student's `grader check` would."""
    released = load_assignment(spec.id, bundle / "assignments")
    with start_judge(released, include_hidden=False, device=device) as judge:
        verdict = _grade_reference(judge, spec)
    if verdict.status != "graded" or verdict.score != verdict.max_score:
        failed = [f"{check.name}: {check.message}" for check in verdict.checks if not check.passed]
        raise GraderError(f"the released public checks give the reference solution {verdict.score:g}/"
                          f"{verdict.max_score:g} ({'; '.join(failed)[:300] or verdict.message}); "
                          "a check does not replay: wrap its reference computation in grader.replay.recorded")
    return verdict.score
