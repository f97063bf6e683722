"""A master authored into a course of its own and used the way an instructor would: the steps the authoring
suites (conformance, held-out) share, each a real `grader` command run once per course."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from conftest import run_grader
from test_authoring import MASTERS


def assert_none_in(text: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], leaked


def assert_ok(result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


class AuthoredCourse:
    """`grader author` a master into root/assignments/<assignment>, then validate and release it; the students'
    notebooks (written by ``write_students(folder, home)``) are graded into one gradebook and given feedback."""

    def __init__(self, root: Path, master: str, assignment: str,
                 write_students: Callable[[Path, Path], list[Path]]):
        self.root, self.assignment = root, assignment
        self.home = root / "assignments" / assignment
        self.authored = run_grader("author", str(MASTERS / master), str(self.home))
        assert_ok(self.authored)
        self.validated = run_grader("validate", assignment, "--assignments", str(root / "assignments"),
                                    "--device", "cpu")
        self.released_result = run_grader("release", assignment, str(root / "bundle"), "--assignments",
                                          str(root / "assignments"))
        folder = root / "students"
        folder.mkdir()
        self.student_paths = write_students(folder, self.home)
        self.db = f"sqlite:///{root / 'g.db'}"
        graded = run_grader("grade", assignment, *map(str, self.student_paths), "--assignments",
                            str(root / "assignments"), "--db", self.db, "--json", str(root / "out.json"),
                            "--workers", "1", "--device", "cpu", "--allow-unisolated")
        assert_ok(graded)
        self.verdicts = {Path(item["submission"]).stem: item for item in json.loads((root / "out.json").read_text())}
        self.feedback_result = run_grader("feedback", assignment, str(root / "feedback"), "--format", "md",
                                          "--db", self.db, "--assignments", str(root / "assignments"))
        assert_ok(self.feedback_result)

    def released_files(self) -> list[str]:
        """The released folder's files (the wheel excepted), as text."""
        assert_ok(self.released_result)
        return [path.read_text(errors="replace") for path in (self.root / "bundle").rglob("*")
                if path.is_file() and path.suffix != ".whl"]

    def feedback(self) -> str:
        """Every student's feedback page (each shows the student's own code, solutions included where right)."""
        pages = sorted((self.root / "feedback").rglob("*.md"))
        assert len(pages) == len(self.verdicts), pages  # a page per student, each read below
        return "\n".join(path.read_text() for path in pages)

    def students_receive(self) -> str:
        """Everything of the course a student is given, as text (each suite says what that is)."""
        raise NotImplementedError

    def assert_kept_from_students(self, solutions: list[str], hidden: list[str]) -> None:
        """No solution line or hidden test in what students receive, and no hidden test in any feedback page
        (a page shows the student's own code, so a solution the student wrote may be on it)."""
        assert_none_in(self.students_receive(), solutions + hidden)
        assert_none_in(self.feedback(), hidden)
