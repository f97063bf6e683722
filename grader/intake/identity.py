"""Who handed a file in: the one place a submission's student is decided.

Recognised without configuration (each with an example in the README):

- flat: ``alice_hw2.ipynb`` (``student_pattern`` on the file name, else the stem);
- folder per student (GitHub Classroom clones): ``hw2-alice/hw2.ipynb`` → ``alice``;
- Moodle's download: ``Full Name_12345_assignsubmission_file_/hw2.ipynb`` → ``Full Name (12345)``;
- Canvas's download: ``lastfirst_12345_67890_hw2.ipynb`` (``_LATE_`` and ``-1`` suffixes too)
  → ``lastfirst (12345)``.

``student_pattern`` (a regex with a group ``student``) is tried on the file name of a file at the
top of the folder given, and on the path below it for a nested file (so it can name a folder),
after the folders above that name a student (Moodle's, ``hw2-<login>``).
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_?$")
CANVAS_FILE = re.compile(r"^(?P<name>[^_/]+?)(?:_LATE)?_(?P<id>\d+)_(?P<submission>\d+)_(?P<original>.+?)"
                         r"(?:-(?P<attempt>\d+))?(?P<suffix>\.ipynb|\.py)$")

# What an editor or a download adds to a generic name: "hw2 (1)", "hw2-2", "hw2_final", "hw2 copy".
_COPY_MARK = re.compile(r"(?:[\s_-]+(?:\d+|final|draft|copy|v\d+)|\s*\(\d+\))+$")


def shown_name(text: str) -> str:
    """A file name as text that can be printed and stored: bytes that are not UTF-8 as \\xNN escapes."""
    return os.fsencode(text).decode("utf-8", "backslashreplace") if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


class Identity:
    """``student`` and ``layout`` of one file; ``attempt`` orders an LMS's resubmissions of one student."""

    def __init__(self, student: str, layout: str, attempt: int = 0):
        self.student, self.layout, self.attempt = student, layout, attempt


def identify(relative: str, spec) -> Identity:
    """``relative``: the file's path (posix, already made printable) below the folder it was found in.

    Everything below a student's own folder is the student's to name, so a nested file's student
    comes from its top folder (a ``Bob Brown_222_assignsubmission_file_`` or ``hw2-bob`` folder that
    Alice made inside her own folder names Alice, never Bob); a top folder named like the assignment
    (``hw2/``, ``submissions/``) only holds the class and is looked into. A file's own name decides
    only for a file at the top.
    """
    parts = PurePosixPath(relative).parts
    if len(parts) == 1:
        return _identify_file(parts[0], spec)
    top = parts[0]
    moodle = MOODLE_FOLDER.match(top)
    if moodle:
        return Identity(f"{moodle.group('name')} ({moodle.group('id')})", "moodle")
    for prefix in (f"{spec.id}-", f"{spec.id}_"):
        if top.lower().startswith(prefix.lower()) and len(top) > len(prefix):
            return Identity(top[len(prefix):], "folder per student")
    if spec.student_pattern:
        match = re.search(spec.student_pattern, relative)
        if match and match.groupdict().get("student"):
            return Identity(match.group("student"), "student_pattern")
    generic = {spec.id.lower(), PurePosixPath(spec.notebook).stem.lower(), "submissions", "submission"}
    if _COPY_MARK.sub("", top.lower()) in generic:  # a folder that only holds the class: look inside it
        return identify("/".join(parts[1:]), spec)
    return Identity(top, "folder per student")


def _identify_file(name: str, spec) -> Identity:
    stem = name.rsplit(".", 1)[0]
    if spec.student_pattern:
        match = re.search(spec.student_pattern, name)
        if match and match.groupdict().get("student"):
            return Identity(match.group("student"), "student_pattern")
    canvas = CANVAS_FILE.match(name)
    if canvas:
        return Identity(f"{canvas.group('name')} ({canvas.group('id')})", "canvas", int(canvas.group("attempt") or 0))
    return Identity(stem, "flat")
