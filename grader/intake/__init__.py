"""Intake: from what an instructor or a student hands the grader to extracted submissions.

Finding files in any layout (``files``), deciding whose they are (``identity``) and reading each
into an ``ExtractedSubmission`` or an ``error`` verdict that says why it could not be read.
"""

from __future__ import annotations

from pathlib import Path

from grader.errors import GraderError
from grader.extract import ExtractionError, extract_submission
from grader.intake.files import Intake, SubmissionFile
from grader.intake.identity import identify, shown_name
from grader.models import ExtractedSubmission, Verdict
from grader.verdicts import Grading

__all__ = ["Intake", "SubmissionFile", "identify", "shown_name", "read_submission", "submission_file",
           "find_student_notebook"]


def submission_file(path: str | Path, spec) -> SubmissionFile:
    """One file named directly (`grader check`, `grader ci`, validation), as intake sees it."""
    path = Path(path)
    identity = identify(shown_name(path.name), spec)
    from grader.late import submission_time

    return SubmissionFile(name=shown_name(str(path)), source=str(path), student=identity.student,
                          layout=identity.layout, submitted_at=submission_time(path))


def read_submission(file: SubmissionFile, spec, grading: Grading) -> ExtractedSubmission | Verdict:
    """The file's extracted code, or the ``error`` verdict saying why it is not a submission."""
    if file.refused is not None:
        return grading.error(file.name, file.student, file.refused)
    try:
        extracted = extract_submission(file.source, spec)
    except ExtractionError as error:
        message = str(error).replace(file.source, file.name) if file.source else str(error)
        return grading.error(file.name, file.student, shown_name(message))
    return extracted.model_copy(update={"path": file.name, "student": file.student})


def find_student_notebook(spec, folder: Path | None = None) -> Path:
    """The notebook `grader check` grades when none is named: ``hw1.ipynb`` here, or the only notebook here."""
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
