"""An assignment's spec: ``assignments/<id>/assignment.toml`` read into a validated model."""

from __future__ import annotations

import ast
import hashlib
import math
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.errors import GraderError


# support_files travel, base64-encoded, in the message that starts a submission's cells, with up
# to 2 MB of code (grader.extract); together they stay under the wire's 16 MB header.
MAX_SUPPORT_FILES_BYTES = 2_000_000


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wall_seconds: float = Field(120, gt=0, description="the whole submission, cells and checks")
    cell_seconds: float = Field(60, gt=0, description="one top-level code cell")
    call_seconds: float = Field(10, gt=0, description="one call from a check into the student's code")
    cpu_seconds: int = Field(300, gt=0)
    memory_mb: int = Field(2048, gt=0, description="address space the student's code may add (CPU runs)")
    output_kb: int = Field(64, gt=0, description="stdout and stderr kept, each")
    file_mb: int = Field(64, gt=0, description="largest file the student's code may write")
    processes: int = Field(64, gt=0)
    open_files: int = Field(256, gt=0)
    transfer_mb: int = Field(256, gt=0, description="tensor data one call may send back")
    gpu_memory_mb: int = Field(4096, gt=0, description="GPU memory the student's code may allocate (CUDA runs)")

    def for_child(self) -> dict:
        return {
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_mb << 20,
            "output_bytes": self.output_kb << 10,
            "file_bytes": self.file_mb << 20,
            "processes": self.processes,
            "open_files": self.open_files,
            "max_transfer_bytes": self.transfer_mb << 20,
            "gpu_memory_bytes": self.gpu_memory_mb << 20,
        }


class DevicePolicy(BaseModel):
    """``[device]`` in assignment.toml: how a CUDA run behaves (a CPU run ignores it)."""

    model_config = ConfigDict(extra="forbid")

    deterministic: bool = Field(False, description="deterministic CUDA algorithms, on both sides, for checks "
                                                   "that compare bit-exact results")
    children_per_gpu: int = Field(1, gt=0, description="submissions graded at once on one GPU in a batch")


class SandboxPolicy(BaseModel):
    """``[sandbox]`` in assignment.toml: what the warm worker prepares before it forks submissions."""

    model_config = ConfigDict(extra="forbid")

    warm_optimizer: bool | None = Field(
        None, description="take torch's first optimizer step in the warm worker (about 1 s of its start: it "
                          "imports torch._dynamo) so that no submission pays it; unset: when the reference "
                          "solution (or, without one, the template notebook) uses torch.optim")


class FeedbackPolicy(BaseModel):
    """``[feedback]`` in assignment.toml: what students may read of hidden checks (`grader ci`).

    ``safe`` (default): title, pass/fail, points and a message built only from facts about the
    student's own result (type, shape, dtype, device); ``full``: every message, values and
    differences included (e.g. after the deadline); ``none``: not even titles, one line with the
    hidden checks' points. The instructor's views always show everything.
    """

    model_config = ConfigDict(extra="forbid")

    hidden: Literal["safe", "full", "none"] = "safe"


class Extraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["cells"] = "cells"
    max_notebook_mb: float = Field(100, gt=0, description="the notebook file, outputs included (only its code "
                                                          "is kept, and capped: grader.extract)")


class LatePolicy(BaseModel):
    """``[late]`` in assignment.toml: a deadline and the share of the raw score lost per started day late."""

    model_config = ConfigDict(extra="forbid")

    deadline: datetime = Field(description="with a UTC offset: 2026-12-01T23:59:00+03:00")
    grace_minutes: float = Field(0, ge=0, description="lateness forgiven before any penalty")
    penalty_per_day: float = Field(0.1, ge=0, le=1, description="fraction of the raw score per started day late")
    max_penalty: float = Field(1.0, ge=0, le=1, description="the most that lateness can take")
    extensions: dict[str, datetime] = Field(
        default_factory=dict, description="[late.extensions]: a student's own deadline, by name, roster id or alias")

    @field_validator("deadline")
    @classmethod
    def _needs_offset(cls, deadline: datetime) -> datetime:
        if deadline.tzinfo is None:
            raise ValueError("give the deadline with its UTC offset, e.g. 2026-12-01T23:59:00+03:00")
        return deadline

    @field_validator("extensions")
    @classmethod
    def _extensions_need_offsets(cls, extensions: dict[str, datetime]) -> dict[str, datetime]:
        for student, deadline in extensions.items():
            if deadline.tzinfo is None:
                raise ValueError(f"{student}: give the deadline with its UTC offset, e.g. 2026-12-03T23:59:00+03:00")
        return extensions

    def assess(self, submitted_at: datetime, deadline: datetime | None = None) -> tuple[float, float]:
        """(seconds late, fraction of the raw score taken off) for a submission made at ``submitted_at``,
        against ``deadline`` (a student's extension) or the assignment's."""
        late = (submitted_at - (deadline or self.deadline)).total_seconds()
        if late <= self.grace_minutes * 60:
            return max(late, 0.0), 0.0
        days = math.ceil(late / 86400)
        return late, min(self.max_penalty, round(days * self.penalty_per_day, 6))


class AssignmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    title: str
    notebook: str = Field(description="the notebook file name students hand in")
    points: float = Field(gt=0)
    limits: Limits = Limits()
    extraction: Extraction = Extraction()
    device: DevicePolicy = DevicePolicy()
    sandbox: SandboxPolicy = SandboxPolicy()
    student_pattern: str | None = Field(None, description="regex on the file name; group 'student' names the student")
    late: LatePolicy | None = None
    feedback: FeedbackPolicy = FeedbackPolicy()
    canvas_id: str | None = Field(None, description="Canvas's id of this assignment: its column in the Canvas export")
    released_hidden_checks: int | None = Field(
        None, ge=0, description="set by `grader release`: the bundle has no hidden checks, only their count")
    student_files: list[str] = Field(
        default_factory=list, alias="support_files",
        description="files the assignment ships for students (helper.py, small data), relative to the assignment "
                    "folder: written, read-only, into the sandbox's working folder before the first cell")

    @field_validator("student_pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise ValueError(f"not a regular expression ({error})") from None
            if "student" not in compiled.groupindex:
                raise ValueError("needs a group named student, e.g. ^(?P<student>[a-z]+)_hw1")
        return pattern

    @field_validator("student_files")
    @classmethod
    def _inside_the_assignment(cls, names: list[str]) -> list[str]:
        for name in names:
            parts = PurePosixPath(name).parts
            if not name or PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name:
                raise ValueError(f"{name!r}: name a file inside the assignment folder, e.g. \"helper.py\"")
            if parts[0] == "checks":
                raise ValueError(f"{name!r}: the checks never reach the student's code; ship a copy outside checks/")
        return names

    def student_support_files(self) -> list[tuple[str, Path]]:
        """(name in the student's working folder, file here) for every ``support_files`` entry."""
        return [(str(PurePosixPath(name)), self.root / name) for name in self.student_files]

    # Set by load_assignment, not read from the file.
    root: Path = Field(default=Path("."), exclude=True)

    @property
    def public_checks(self) -> Path:
        return self.root / "checks" / "public"

    @property
    def hidden_checks(self) -> Path:
        return self.root / "checks" / "hidden"

    @property
    def template(self) -> Path:
        return self.root / self.notebook

    @property
    def mutants(self) -> Path:
        return self.root / "mutants"

    def reference_solution(self) -> Path:
        return self.root.parent.parent / "reference_solutions" / f"{self.id}.py"

    def missing_reference(self) -> str:
        """Why grading needs what is not here: in a released bundle (its recorded answers, no reference), that
        only `grader check` runs there; elsewhere, where the reference solution goes."""
        path = self.reference_solution().absolute()
        if (self.public_checks / "reference_answers.json").is_file():
            return (f"{self.root} is a released {self.id} bundle (public checks only, no reference solution): "
                    f"check a notebook here with grader check {self.id} NOTEBOOK; grade where the course's "
                    f"assignments/ and reference_solutions/ are")
        return f"no reference solution at {path}; add reference_solutions/{self.id}.py"

    def warms_optimizer(self) -> bool:
        """Whether submissions are expected to step a torch optimizer (``[sandbox] warm_optimizer``)."""
        if self.sandbox.warm_optimizer is not None:
            return self.sandbox.warm_optimizer
        for source in (self.reference_solution(), self.template):
            if source.is_file():
                return re.search(r"\boptim\b", source.read_text(errors="replace")) is not None
        return True  # nothing to tell from: prepare for it

    def check_files(self, include_hidden: bool) -> list[Path]:
        folders = [self.public_checks] + ([self.hidden_checks] if include_hidden else [])
        return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("test_*.py"))]

    def declared_points(self, include_hidden: bool) -> float:
        """The points the check files declare (``@pytest.mark.points(N)``), read without importing them."""
        total = 0.0
        for path in self.check_files(include_hidden):
            for check in check_functions(path):
                for decorator in check.decorator_list:
                    if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                            and decorator.func.attr == "points" and decorator.args
                            and isinstance(decorator.args[0], ast.Constant)):
                        total += float(decorator.args[0].value)
        return total

    def hidden_check_count(self) -> int:
        """How many hidden checks will also count, read without importing (or showing) them."""
        if self.released_hidden_checks is not None and not self.hidden_checks.is_dir():
            return self.released_hidden_checks
        return sum(len(check_functions(path)) for path in self.check_files(include_hidden=True)
                   if self.hidden_checks in path.parents)

    @property
    def checks_root(self) -> Path:
        """Importable while the checks run: shared helpers live here as ``<id>_support.py``."""
        return self.root / "checks"

    def support_files(self) -> list[Path]:
        return sorted(self.checks_root.glob("*.py")) if self.checks_root.is_dir() else []

    def checks_fingerprint(self, include_hidden: bool) -> str:
        """Changes whenever a check file, the reference solution or the spec changes."""
        digest = hashlib.sha256()
        for path in (self.check_files(include_hidden) + self.support_files()
                     + [self.root / "assignment.toml", self.reference_solution()]):
            if path.exists():
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def check_functions(path: Path) -> list[ast.FunctionDef]:
    """The checks (``test_*`` functions) defined in a check file, read without importing it."""
    return [node for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def assignments_root(explicit: str | os.PathLike | None = None) -> Path:
    """``--assignments DIR``, else $GRADER_ASSIGNMENTS, else ./assignments, else the repository's."""
    if explicit:
        return Path(explicit)
    if os.environ.get("GRADER_ASSIGNMENTS"):
        return Path(os.environ["GRADER_ASSIGNMENTS"])
    local = Path.cwd() / "assignments"
    if local.is_dir():
        return local
    return Path(__file__).resolve().parent.parent / "assignments"


def available_assignments(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if (path / "assignment.toml").is_file())


def load_assignment(assignment_id: str, root: str | os.PathLike | None = None) -> AssignmentSpec:
    base = assignments_root(root)
    folder = base / assignment_id
    spec_file = folder / "assignment.toml"
    if not spec_file.is_file():
        names = available_assignments(base)
        known = ", ".join(names) or "none"
        if assignment_id.lower().endswith((".ipynb", ".py", ".zip")):  # grader check hw2.ipynb: the name was left out
            stem = Path(assignment_id).stem.lower()
            likely = next((name for name in names if stem.startswith(name.lower())), names[0] if names else "hw1")
            raise GraderError(f"'{assignment_id}' is a file, not an assignment: name the assignment first, then the "
                              f"file (e.g. {likely} {assignment_id}; known: {known})")
        raise GraderError(f"unknown assignment '{assignment_id}': no {spec_file} "
                          f"(known: {known}; pass --assignments DIR to look elsewhere)")
    try:
        data = tomllib.loads(spec_file.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GraderError(f"{spec_file}: not valid TOML ({error}); fix the file") from error
    data.setdefault("id", assignment_id)
    try:
        spec = AssignmentSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise GraderError(f"{spec_file}: {where}: {first['msg']}; fix the file") from error
    spec.root = folder.resolve()
    total = 0
    for name, path in spec.student_support_files():
        if not path.is_file():
            raise GraderError(f"{spec_file}: support_files: {name} is not a file in {spec.root}; fix the file")
        total += path.stat().st_size
    if total > MAX_SUPPORT_FILES_BYTES:
        raise GraderError(f"{spec_file}: support_files: {total / 1e6:.1f} MB in all; the limit is "
                          f"{MAX_SUPPORT_FILES_BYTES / 1e6:g} MB (they go with every submission); ship less")
    return spec
