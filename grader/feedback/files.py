"""Where each student's page goes, and the zip Moodle's "Upload multiple feedback files in a zip" takes.

Moodle matches a file in that zip to a student by the first folder of its path, named as its
own submissions download names them: ``<full name>_<participant id>_<plugin type>_<plugin
name>[_]`` (``assignfeedback_file`` here), the id being what it put in the download's folder
names. So only a student whose submission came from such a folder can be packed; the others
are listed as not packed.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from grader.errors import GraderError
from grader.feedback.view import StudentFeedback
from grader.intake.identity import MOODLE_FOLDER

FORMATS = {"html": ".html", "md": ".md"}
ZIP_LAYOUTS = ("moodle",)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NOT_IN_A_FOLDER_NAME = re.compile(r"[_/\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class FeedbackWritten(BaseModel):
    folder: str
    pages: dict[str, str]  # student -> page file name
    zip_path: str | None = None
    packed: list[str] = []
    not_packed: list[str] = []  # students the zip's LMS could not match (no participant id)


def page_name(student: str, suffix: str) -> str:
    """A file name for a student's page: safe characters, and a hash so two names never collide."""
    readable = _UNSAFE.sub("_", student).strip("._")[:60] or "student"
    digest = hashlib.sha256(student.encode("utf-8", "backslashreplace")).hexdigest()[:8]
    return f"{readable}-{digest}{suffix}"


def moodle_folder(submission: str) -> str | None:
    """``Full Name_12345_assignfeedback_file_`` for a submission downloaded from Moodle, else None."""
    for part in PurePosixPath(submission).parts[:-1]:  # the outermost: a student names the folders inside theirs
        match = MOODLE_FOLDER.match(part)
        if match:
            # Moodle splits the folder name at underscores: one in the name would hide the id.
            # A name is the student's own text: no separator or control character reaches a zip member's name.
            name = _NOT_IN_A_FOLDER_NAME.sub(" ", match.group("name")).strip() or "student"
            return f"{name}_{match.group('id')}_assignfeedback_file_"
    return None


def write_feedback_files(feedback: list[StudentFeedback], out: str | Path, render, fmt: str = "html",
                         zip_layout: str | None = None) -> FeedbackWritten:
    """Write one page per student into ``out`` (created), rendered by ``render(StudentFeedback) -> str``."""
    if fmt not in FORMATS:
        raise GraderError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    if zip_layout is not None and zip_layout not in ZIP_LAYOUTS:
        raise GraderError(f"--zip {zip_layout}: expected one of {', '.join(ZIP_LAYOUTS)}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise GraderError(f"cannot write feedback into {folder}: it is a file; name a folder")
    # Like `grader release`, the folders above are made too: `grader feedback hw2 feedback/hw2/` in a fresh checkout.
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GraderError(f"cannot write feedback into {folder}: {error.strerror}; choose another folder") from None
    written = FeedbackWritten(folder=str(folder), pages={})
    texts: dict[str, str] = {}
    for each in feedback:
        name = page_name(each.verdict.student, FORMATS[fmt])
        text = render(each)
        (folder / name).write_text(text, encoding="utf-8")
        written.pages[each.verdict.student] = name
        texts[each.verdict.student] = text
    if zip_layout == "moodle":
        assignment = feedback[0].assignment if feedback else "feedback"
        zip_path = folder / f"{assignment}-feedback-moodle.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
            for each in feedback:
                member = each.moodle_folder
                if member is None:
                    written.not_packed.append(each.verdict.student)
                    continue
                archive.writestr(f"{member}/{assignment}-feedback{FORMATS[fmt]}", texts[each.verdict.student])
                written.packed.append(each.verdict.student)
        written.zip_path = str(zip_path)
    return written


def roster_moodle_folder(roster, student: str) -> str | None:
    """Moodle's feedback folder for a student whose file did not come from Moodle: the roster's moodle_id."""
    entry = roster.match(student) if roster is not None else None
    if entry is None or not entry.moodle_id:
        return None
    return moodle_folder(f"{entry.name}_{entry.moodle_id}_assignsubmission_file_/x")
