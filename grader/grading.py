"""The library entry points the CLI calls: check one notebook, grade many, read results."""

from __future__ import annotations

import difflib
import glob
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from pydantic import BaseModel

from grader import __version__
from grader.batch import prepare_workers, run_pool
from grader.devices import is_cuda, plan_worker_devices, visible_gpu_count
from grader.errors import GraderError
from grader.extract import ExtractionError, extract_submission, student_name
from grader.i18n import set_language
from grader.judge import start_judge
from grader.models import DEFAULT_DB_URL, ExtractedSubmission, Verdict
from grader.spec import AssignmentSpec, load_assignment

if TYPE_CHECKING:
    from grader.store import Gradebook

SUBMISSION_SUFFIXES = (".ipynb", ".py")
IGNORED_NAMES = {"expected.json", "README.md"}


def resolve_device(device: str) -> str:
    if device == "auto":
        if not glob.glob("/dev/nvidia[0-9]*"):
            return "cpu"  # decided without importing torch: the coordinator of a batch never needs it
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if is_cuda(device):
        # plan_worker_devices says what is wrong: no GPU, or no GPU of that number
        plan_worker_devices(device, 1, visible_gpu_count())
    elif device != "cpu":
        raise GraderError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    return device


def collect_submissions(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly are taken as they are; folders give their notebooks and .py files."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if (candidate.is_file() and candidate.suffix in SUBMISSION_SUFFIXES
                        and candidate.name not in IGNORED_NAMES
                        and not any(part.startswith(".") for part in candidate.relative_to(path).parts)):
                    found.append(candidate)
        elif path.exists():
            found.append(path)
        else:
            raise GraderError(f"{path}: no such file or folder; name notebooks or folders of notebooks")
    if not found:
        raise GraderError("no submissions found in " + ", ".join(str(p) for p in paths)
                          + " (looked for .ipynb and .py files)")
    return found


def find_student_notebook(spec: AssignmentSpec, folder: Path | None = None) -> Path:
    folder = folder or Path.cwd()
    expected = folder / spec.notebook
    if expected.is_file():
        return expected
    notebooks = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if len(notebooks) == 1:
        return notebooks[0]
    if not notebooks:
        raise GraderError(f"no {spec.notebook} in {folder}; run this next to your notebook or name it: "
                          f"grader check {spec.id} path/to/{spec.notebook}")
    raise GraderError(f"no {spec.notebook} in {folder} and several other notebooks; name one: "
                      f"grader check {spec.id} {notebooks[0].name}")


def check_notebook(assignment: str, notebook: str | Path | None = None, device: str = "cpu",
                   assignments_dir: str | Path | None = None, lang: str = "en") -> Verdict:
    """What `grader check` does: public checks only, nothing stored; messages in ``lang``."""
    set_language(lang)  # a bad --lang fails before anything starts
    spec = load_assignment(assignment, assignments_dir)
    path = Path(notebook) if notebook else find_student_notebook(spec)
    if not path.exists():
        raise GraderError(f"{path}: no such file; name your notebook: grader check {spec.id} path/to/{spec.notebook}")
    judge = start_judge(spec, single_submission=True, include_hidden=False, device=resolve_device(device), lang=lang)
    try:
        return judge.grade([path])[0]
    finally:
        judge.close()


def grade_submissions(assignment: str, paths: Iterable[str | Path], db_url: str = DEFAULT_DB_URL,
                      device: str = "cpu", include_hidden: bool = True,
                      assignments_dir: str | Path | None = None, workers: int = 1, regrade: bool = False,
                      allow_unisolated: bool = False, cluster: str | None = None,
                      on_start: Callable[[int, int], None] | None = None,
                      on_verdict: Callable[[Verdict], None] | None = None) -> list[Verdict]:
    """What `grader grade` does: every check, every verdict stored as soon as it is made.

    A submission whose code, checks and grader version are unchanged since its last stored
    run is not graded again (its stored verdict is returned) unless ``regrade``.
    ``on_start(to_grade, skipped)`` is called once before grading starts. With ``cluster`` (a Dask
    scheduler address or ``local:N``) the submissions are judged on that cluster's workers.
    """
    spec = load_assignment(assignment, assignments_dir)
    # A cluster's workers may have the GPU this coordinator lacks: an explicit cuda is theirs to check.
    device = device if cluster and device.startswith("cuda") else resolve_device(device)
    files = collect_submissions(paths)
    if workers > 1 and len(files) > 1 and not cluster:
        prepare_workers()  # the workers' imports run while the gradebook opens and notebooks are read
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    gradebook = Gradebook(db_url)
    fingerprint = spec.checks_fingerprint(include_hidden)
    verdicts: list[Verdict] = []
    units: dict[str, ExtractedSubmission] = {}
    unreadable: list[Verdict] = []
    try:
        for path in files:
            try:
                extracted = extract_submission(path, spec)
            except ExtractionError as error:
                unreadable.append(Verdict(
                    assignment=spec.id, submission=str(path), student=student_name(path, spec), status="error",
                    message=str(error), max_score=spec.declared_points(include_hidden), device=device,
                    include_hidden=include_hidden, grader_version=__version__, checks_fingerprint=fingerprint))
                continue
            stored = None if regrade else gradebook.find_unchanged(
                spec.id, extracted.path, extracted.sha256, fingerprint, __version__, include_hidden, device)
            if stored is not None:
                verdicts.append(stored)
            else:
                units[str(path)] = extracted
        if on_start is not None:
            on_start(len(units) + len(unreadable), len(verdicts))

        def keep(verdict: Verdict) -> None:
            verdict = apply_late_policy(verdict, spec, submission_time(Path(verdict.submission)))
            gradebook.record(verdict)
            verdicts.append(verdict)
            if on_verdict is not None:
                on_verdict(verdict)

        for verdict in unreadable:
            keep(verdict)
        # One warm worker per device slot: on GPUs, one running child per GPU unless the assignment allows more.
        devices = plan_worker_devices(device, workers, visible_gpu_count() if is_cuda(device) else 0,
                                      spec.device.children_per_gpu)
        if units and cluster:
            from grader.cluster import run_cluster  # imports dask: only here

            run_cluster(spec.id, {path: unit.model_dump_json() for path, unit in units.items()}, address=cluster,
                        include_hidden=include_hidden, device=device, assignments_dir=str(spec.root.parent),
                        on_verdict=keep, allow_unisolated=allow_unisolated)
        elif units and (len(devices) <= 1 or len(units) == 1):
            judge = start_judge(spec, single_submission=len(units) == 1, include_hidden=include_hidden,
                                device=devices[0], device_label=device,
                                allow_unisolated=allow_unisolated)
            try:
                judge.run(list(units.values()), keep)
            finally:
                judge.close()
        elif units:
            run_pool(spec.id, {path: unit.model_dump_json() for path, unit in units.items()}, workers=len(devices),
                     include_hidden=include_hidden, device=device, devices=devices,
                     assignments_dir=str(spec.root.parent), on_verdict=keep, allow_unisolated=allow_unisolated)
    finally:
        gradebook.close()
    order = {str(path): index for index, path in enumerate(files)}
    return sorted(verdicts, key=lambda verdict: order.get(verdict.submission, len(order)))


def submission_time(path: Path) -> datetime | None:
    """When a submission was handed in: its file's modification time (kept by LMS downloads and `cp -p`)."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return None


def apply_late_policy(verdict: Verdict, spec: AssignmentSpec, submitted_at: datetime | None) -> Verdict:
    """The final score under the assignment's late policy; the raw score is kept beside it."""
    raw = verdict.score_before_penalty
    late_seconds, penalty = 0.0, 0.0
    if spec.late is not None and submitted_at is not None:
        late_seconds, penalty = spec.late.assess(submitted_at)
    return verdict.model_copy(update=dict(raw_score=raw, submitted_at=submitted_at, late_seconds=late_seconds,
                                          penalty=penalty, score=round(raw * (1 - penalty), 6)))


def latest_results(assignment: str, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """The newest verdict of every student; raises when the gradebook has none for the assignment."""
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    gradebook = Gradebook(db_url)
    try:
        verdicts = gradebook.latest(assignment)
    finally:
        gradebook.close()
    if not verdicts:
        raise GraderError(f"no results for {assignment} in {db_url}; grade first: grader grade {assignment} DIR")
    return verdicts


def _one_student(gradebook: "Gradebook", assignment: str, student: str, db_url: str) -> None:
    known = gradebook.students(assignment)
    if student not in known:
        if not known:
            raise GraderError(f"no results for {assignment} in {db_url}; grade first: grader grade {assignment} DIR")
        close = difflib.get_close_matches(student, known, n=1)
        suggestion = f"did you mean {close[0]}?" if close else f"known: {', '.join(known[:10])}" + \
            (", ..." if len(known) > 10 else "")
        raise GraderError(f"no student {student!r} in the {assignment} results of {db_url}; {suggestion}")


def student_result(assignment: str, student: str, db_url: str = DEFAULT_DB_URL) -> Verdict:
    """What `grader show` prints: the newest verdict of one student, in full."""
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    gradebook = Gradebook(db_url)
    try:
        _one_student(gradebook, assignment, student, db_url)
        return gradebook.latest(assignment, student)[0]
    finally:
        gradebook.close()


def student_history(assignment: str, student: str, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader history` prints: every stored run of one student, oldest first."""
    from grader.store import Gradebook  # sqlalchemy and alembic: not for `grader check`

    gradebook = Gradebook(db_url)
    try:
        _one_student(gradebook, assignment, student, db_url)
        return gradebook.history(assignment, student)
    finally:
        gradebook.close()


def export_results(assignment: str, csv_path: str | Path, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader export --csv` writes: one row per student, a column per check and the total."""
    from grader.report import write_csv

    verdicts = latest_results(assignment, db_url)
    write_csv(verdicts, csv_path)
    return verdicts


def write_html_report(assignment: str, html_path: str | Path, db_url: str = DEFAULT_DB_URL) -> list[Verdict]:
    """What `grader report --html` writes: one self-contained page about the latest results."""
    from grader.html_report import render_html
    from grader.report import writable

    path = writable(html_path)
    verdicts = latest_results(assignment, db_url)
    path.write_text(render_html(assignment, verdicts), encoding="utf-8")
    return verdicts


class MutantOutcome(BaseModel):
    name: str
    description: str
    score: float
    max_score: float
    caught_by: list[str]

    @property
    def caught(self) -> bool:
        return self.score < self.max_score


class ValidationReport(BaseModel):
    assignment: str
    reference: Verdict
    mutants: list[MutantOutcome]

    @property
    def reference_full_marks(self) -> bool:
        return self.reference.status == "graded" and self.reference.score == self.reference.max_score

    @property
    def ok(self) -> bool:
        return self.reference_full_marks and all(mutant.caught for mutant in self.mutants)


def mutant_description(path: Path) -> str:
    first = path.read_text().splitlines()[:1]
    if first and first[0].startswith("# mutant:"):
        return first[0].removeprefix("# mutant:").strip()
    return path.stem.replace("_", " ")


def validate_assignment(assignment: str, device: str = "cpu",
                        assignments_dir: str | Path | None = None) -> ValidationReport:
    """Every check against the reference (full marks required) and every mutant (each must lose points)."""
    spec = load_assignment(assignment, assignments_dir)
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(f"no reference solution at {reference}; add reference_solutions/{spec.id}.py")
    mutants = sorted(spec.mutants.glob("*.py")) if spec.mutants.is_dir() else []
    judge = start_judge(spec, include_hidden=True, device=resolve_device(device))
    try:
        verdicts = judge.grade([reference, *mutants])
    finally:
        judge.close()
    outcomes = [MutantOutcome(name=path.stem, description=mutant_description(path), score=verdict.score,
                              max_score=verdict.max_score,
                              caught_by=[check.name for check in verdict.checks if not check.passed])
                for path, verdict in zip(mutants, verdicts[1:])]
    return ValidationReport(assignment=spec.id, reference=verdicts[0], mutants=outcomes)


def sandbox_report() -> dict[str, bool]:
    """What `grader doctor` shows: start a real sandbox and read back the layers that held."""
    from grader.sandbox.host.warm_worker import WarmWorkerHost as ForkServer

    server = ForkServer(warm_optimizer=False, batch_warmups=False)  # no batch follows: skip its warm-ups
    server.start()
    try:
        return dict(server.reported_layers)
    finally:
        server.close()
