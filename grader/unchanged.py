"""Which submissions a SQLite gradebook already holds a graded run of, read before SQLAlchemy is imported.

`grader grade` launches its sandboxes (each imports torch: seconds of CPU) as early as it can, but a
resume whose every submission is unchanged needs none. This is the cheap look that decides it, with the
standard library's sqlite3 only, so a batch with changes still launches them at once. It only ever says
"graded already" of what ``grader.store.Gradebook.unchanged`` would also find; anything it cannot tell
(another database, a gradebook not made yet or of an older schema, any error) is None: launch.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

_SQLITE_FILE = re.compile(r"^sqlite(\+pysqlite)?:///(?P<path>[^?%]+)$")

_GRADED = """
SELECT submissions.path, submissions.sha256 FROM runs
JOIN submissions ON runs.submission_id = submissions.id
JOIN assignments ON submissions.assignment_id = assignments.id
WHERE assignments.name = ? AND runs.status = 'graded' AND runs.checks_fingerprint = ?
  AND runs.grader_version = ? AND runs.include_hidden = ? AND runs.device = ?
"""


def graded_codes(db_url: str, grading) -> set[tuple[str, str]] | None:
    """(path, sha256) of every submission with a graded run under ``grading``'s checks, grader and device
    (``grading``: a ``grader.verdicts.Grading``); None where the gradebook is not an existing SQLite file
    this can read. An empty set: a gradebook where nothing of this assignment is graded yet."""
    found = _SQLITE_FILE.match(db_url)
    if found is None or found["path"] == ":memory:":
        return None
    path = Path(found["path"])
    if not path.is_file():
        return None  # a new gradebook: everything is to grade
    try:
        # mode=rw: never creates a file; the gradebook's own connections set WAL, readers need nothing more.
        connection = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=rw", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        rows = connection.execute(_GRADED, (grading.assignment, grading.checks_fingerprint, grading.grader_version,
                                            1 if grading.include_hidden else 0, grading.device)).fetchall()
    except sqlite3.Error:  # no such table or column: made by an older grader, to be migrated
        return None
    finally:
        connection.close()
    return {(submission, sha256) for submission, sha256 in rows}
