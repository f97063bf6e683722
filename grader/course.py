"""The course: who is enrolled (``roster.csv`` beside ``assignments/``), and one row per student.

A roster is a CSV file with a header: ``id`` and ``name`` are required; ``email``, ``section``
and ``aliases`` (other names the student goes by, separated by ``;``: a GitHub login, the name
an LMS puts in file names, an LMS's participant id) are optional, and ``canvas_id`` and
``sis_login_id`` help the Canvas export, ``moodle_id`` (Moodle's participant id) packs a
student's feedback for Moodle; ``deadline_hw2`` (a date and time with its offset)
is that student's extension for hw2. A submission's student (as intake named it) is matched
to the entry whose id, email, name or alias it equals (case and spacing ignored); a name
such as Moodle's ``Ann Lee (101)`` also tries ``Ann Lee`` and ``101``. A submission that
matches nobody is listed, never dropped, and never counted for anyone.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from grader.errors import GraderError
from grader.models import Verdict

REQUIRED_COLUMNS = ("id", "name")
KNOWN_COLUMNS = ("id", "name", "email", "section", "aliases", "canvas_id", "sis_login_id", "moodle_id",
                 "deadline_<assignment>")
_LMS_ID_SUFFIX = re.compile(r"^(?P<name>.+?) \((?P<id>\d+)\)$")


class RosterEntry(BaseModel):
    id: str
    name: str
    email: str = ""
    section: str = ""
    aliases: list[str] = []
    canvas_id: str = ""
    sis_login_id: str = ""
    moodle_id: str = ""  # Moodle's participant id: packs this student's feedback for Moodle's upload
    deadlines: dict[str, datetime] = {}  # a column deadline_<assignment>: this student's extension

    def names(self) -> tuple[str, ...]:
        return tuple(name for name in (self.id, self.name, self.email, self.canvas_id, self.sis_login_id,
                                       *self.aliases) if name)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


class Roster(BaseModel):
    path: str
    students: list[RosterEntry]

    def keys(self) -> dict[str, str]:
        """Every name a student is known by → their id. Built once; ambiguity is refused at load."""
        found: dict[str, str] = {}
        for entry in self.students:
            for name in (entry.id, entry.email, entry.canvas_id, entry.sis_login_id, *entry.aliases):
                if name:
                    found.setdefault(_key(name), entry.id)
        names: dict[str, set[str]] = {}
        for entry in self.students:
            names.setdefault(_key(entry.name), set()).add(entry.id)
        for name, ids in names.items():
            if len(ids) == 1:  # two students of one name: neither is matched by it (give them aliases)
                found.setdefault(name, next(iter(ids)))
        return found

    def match(self, student: str) -> RosterEntry | None:
        """The enrolled student a submission's student name belongs to, if any."""
        keys = self.keys()
        candidates = [student]
        lms = _LMS_ID_SUFFIX.match(student)
        if lms:
            candidates += [lms.group("name"), lms.group("id")]
        by_id = {entry.id: entry for entry in self.students}
        for candidate in candidates:
            if _key(candidate) in keys:
                return by_id[keys[_key(candidate)]]
        return None


def roster_path(assignments_root: Path) -> Path:
    return assignments_root.parent / "roster.csv"


def load_roster(path: str | Path) -> Roster:
    """Read ``roster.csv``; every problem is one line naming the file, the row and the fix."""
    path = Path(path)
    if not path.is_file():
        raise GraderError(f"no roster at {path}: write roster.csv beside assignments/ (columns id,name,email,"
                          "section,aliases) or pass --roster FILE")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except (OSError, UnicodeDecodeError) as error:
        raise GraderError(f"{path}: cannot read the roster ({error}); save it as UTF-8 CSV") from None
    reader = csv.DictReader(text.splitlines())
    header = [_key(name) for name in reader.fieldnames or []]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise GraderError(f"{path}: the roster needs the columns {', '.join(REQUIRED_COLUMNS)} in its first row "
                          f"(missing {', '.join(missing)})")
    students: list[RosterEntry] = []
    seen: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(reader, start=2):
        values = {_key(key or ""): (value or "").strip() for key, value in row.items() if key is not None}
        if not any(values.values()):
            continue
        if not values.get("id") or not values.get("name"):
            raise GraderError(f"{path}, line {line}: a student needs an id and a name")
        deadlines = {}
        for column, value in values.items():
            if column.startswith("deadline_") and value:
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    moment = None
                if moment is None or moment.tzinfo is None:
                    raise GraderError(f"{path}, line {line}: {column} {value!r}: give a date and time with its UTC "
                                      "offset, e.g. 2026-12-03T23:59:00+03:00")
                deadlines[column.removeprefix("deadline_")] = moment
        entry = RosterEntry(id=values["id"], name=values["name"], email=values.get("email", ""), deadlines=deadlines,
                            section=values.get("section", ""),
                            aliases=[alias.strip() for alias in values.get("aliases", "").split(";") if alias.strip()],
                            canvas_id=values.get("canvas_id", ""), sis_login_id=values.get("sis_login_id", ""),
                            moodle_id=values.get("moodle_id", ""))
        for name in {_key(n) for n in (entry.id, entry.email, entry.canvas_id, entry.sis_login_id, *entry.aliases)
                     if n}:
            if name in seen and seen[name][0] != entry.id:
                raise GraderError(f"{path}, line {line}: {name!r} already names {seen[name][0]} (line "
                                  f"{seen[name][1]}); an id, email or alias must name one student")
            seen[name] = (entry.id, line)
        students.append(entry)
    ids = [entry.id for entry in students]
    duplicate = next((each for each in ids if ids.count(each) > 1), None)
    if duplicate:
        raise GraderError(f"{path}: the id {duplicate!r} is given twice; each student once")
    return Roster(path=str(path), students=students)


class CourseCell(BaseModel):
    score: float = 0.0
    max_score: float = 0.0
    status: str = "missing"  # graded, error or missing (counted as 0)
    adjusted: bool = False
    submission: str = ""


class CourseRow(BaseModel):
    student: RosterEntry
    cells: dict[str, CourseCell]  # assignment -> its cell

    @property
    def total(self) -> float:
        return round(sum(cell.score for cell in self.cells.values()), 6)


class Unmatched(BaseModel):
    assignment: str
    student: str
    submission: str


class CourseTable(BaseModel):
    assignments: list[str]
    max_scores: dict[str, float]
    rows: list[CourseRow]
    unmatched: list[Unmatched]

    @property
    def max_total(self) -> float:
        return round(sum(self.max_scores.values()), 6)

    def only(self, assignment: str) -> "CourseTable":
        """The same table with one assignment's column (and its unmatched submissions) only."""
        return CourseTable(assignments=[assignment], max_scores={assignment: self.max_scores[assignment]},
                           rows=[CourseRow(student=row.student, cells={assignment: row.cells[assignment]})
                                 for row in self.rows],
                           unmatched=[each for each in self.unmatched if each.assignment == assignment])


def newest_per_enrolled_student(verdicts: list[Verdict], roster: Roster) -> list[Verdict]:
    """One verdict per enrolled student (the newest, where their files came under two names), then every
    verdict that matches nobody, in the order given."""
    newest: dict[str, Verdict] = {}
    for verdict in verdicts:
        entry = roster.match(verdict.student)
        key = entry.id if entry is not None else f"\0{verdict.student}"  # unmatched: each its own
        if key not in newest or verdict.started_at > newest[key].started_at:
            newest[key] = verdict
    kept = {id(verdict) for verdict in newest.values()}
    return [verdict for verdict in verdicts if id(verdict) in kept]


def course_table(roster: Roster, results: dict[str, list[Verdict]], max_scores: dict[str, float]) -> CourseTable:
    """One row per enrolled student: each assignment's final score (missing: 0), the total; and the
    submissions that matched nobody. ``results``: each assignment's latest verdicts (final scores)."""
    rows = {entry.id: CourseRow(student=entry, cells={name: CourseCell(max_score=max_scores[name])
                                                      for name in results}) for entry in roster.students}
    unmatched: list[Unmatched] = []
    for assignment, verdicts in results.items():
        chosen: dict[str, Verdict] = {}
        for verdict in verdicts:
            entry = roster.match(verdict.student)
            if entry is None:
                unmatched.append(Unmatched(assignment=assignment, student=verdict.student,
                                           submission=verdict.submission))
                continue
            # One student under two names (a resubmission through another layout): the newest counts.
            if entry.id not in chosen or verdict.started_at > chosen[entry.id].started_at:
                chosen[entry.id] = verdict
        for student_id, verdict in chosen.items():
            rows[student_id].cells[assignment] = CourseCell(
                score=verdict.score, max_score=verdict.max_score or max_scores[assignment], status=verdict.status,
                adjusted=bool(verdict.adjustments), submission=verdict.submission)
    return CourseTable(assignments=list(results), max_scores=max_scores, rows=list(rows.values()),
                       unmatched=unmatched)


def gradebook_course_table(gradebook, root: Path, roster: Roster) -> CourseTable:
    """The course table from a gradebook: the assignments in ``root`` that have results (else every graded
    one), each out of its graded maximum (its declared points while nothing of it is graded)."""
    from grader.spec import available_assignments, load_assignment

    graded = gradebook.assignment_names()
    course = [name for name in available_assignments(root) if name in graded] or graded
    results = {name: gradebook.latest(name) for name in course}
    max_scores = {}
    for name, verdicts in results.items():
        graded_max = [verdict.max_score for verdict in verdicts if verdict.status == "graded" and verdict.include_hidden]
        if graded_max:
            max_scores[name] = max(graded_max)
        else:
            try:
                max_scores[name] = load_assignment(name, root).points
            except GraderError:
                max_scores[name] = max((verdict.max_score for verdict in verdicts), default=0.0)
    return course_table(roster, results, max_scores)
