"""What a student may see of their verdict: the one gate every feedback page goes through."""

from __future__ import annotations

from pathlib import PurePosixPath

from pydantic import BaseModel

from grader.models import CodeCell, Verdict
from grader.student_view import student_view


class StudentFeedback(BaseModel):
    """One student's page: their verdict as they may see it, and the code they handed in."""

    assignment: str
    title: str
    verdict: Verdict
    code: list[CodeCell] | None = None  # None: stored before the gradebook kept code
    moodle_folder: str | None = None  # the feedback zip's folder for this student, when the file came from Moodle


def student_visible(verdict: Verdict, policy=None) -> Verdict:
    """``verdict`` with only what its student may see.

    Hidden checks keep their title, pass/fail and points, never their message (it may name a
    hidden input or an expected value). The submission's stdout and stderr go too: the student's
    code runs while the hidden checks call it, so what it printed may hold their inputs. The
    sandbox's layers and the folders the instructor keeps submissions in are the instructor's
    business: the submission is named by its file name alone. ``policy``: the assignment's
    ``[feedback] hidden`` (``grader.student_view``); None: "safe".
    """
    seen = student_view(verdict, policy if policy is not None else "safe")
    checks = seen.checks
    file_name = PurePosixPath(verdict.submission).name or verdict.submission
    message = verdict.message.replace(verdict.submission, file_name) if verdict.submission else verdict.message
    return verdict.model_copy(update=dict(checks=checks, stdout="", stderr="", layers={}, submission=file_name,
                                          message=message))
