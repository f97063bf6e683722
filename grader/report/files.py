"""Where a report file may be written: checked before the work, so a typo costs nothing."""

from __future__ import annotations

from pathlib import Path

from grader.errors import GraderError


def writable(path: str | Path) -> Path:
    """``path``, once it is known a file can be written there; else a GraderError naming the fix."""
    path = Path(path)
    if not path.parent.is_dir():
        raise GraderError(f"cannot write {path}: folder {path.parent} does not exist; create it or choose another path")
    if path.is_dir():
        raise GraderError(f"cannot write {path}: it is a folder; name a file")
    return path
