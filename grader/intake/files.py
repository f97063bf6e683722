"""Finding the submissions in what an instructor has: files, folders of any layout, LMS zips.

Every file found is accounted for: it becomes a ``SubmissionFile`` to grade, or one refused
with the reason (a link, a file outside the folder), which becomes an ``error`` row.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel

from grader.errors import GraderError
from grader.intake.identity import identify, shown_name

SUBMISSION_SUFFIXES = (".ipynb", ".py")
IGNORED_NAMES = {"expected.json", "README.md"}
ZIP_MAX_MEMBERS = 20_000
ZIP_MAX_TOTAL_BYTES = 4 << 30
ZIP_MAX_MEMBER_BYTES = 512 << 20


class SubmissionFile(BaseModel):
    """One file handed in. ``name`` is how it is shown and stored; ``source`` is where it is read from."""

    name: str
    source: str
    student: str
    layout: str
    submitted_at: datetime | None = None
    attempt: int = 0
    refused: str | None = None  # why it is not graded: becomes the message of its error row
    set_aside_for: str | None = None  # another file of the same student was chosen: that one's name


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, tz=timezone.utc)
    except OSError:
        return None


def _wanted(relative: Path) -> bool:
    return (relative.suffix in SUBMISSION_SUFFIXES and relative.name not in IGNORED_NAMES
            and not any(part.startswith(".") or part == "__MACOSX" for part in relative.parts))


def _inside(path: Path, root: Path) -> bool:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return resolved == root or root in resolved.parents


def _refusal(path: Path, walked: Path, inodes: dict[tuple[int, int], int]) -> str | None:
    """Why a file found under ``walked`` cannot be taken as the one a student handed in, or None."""
    shown = shown_name(str(path))
    root = walked.resolve()
    if path.is_symlink():
        return f"{shown} is a symbolic link, not a file a student handed in; copy the file itself there"
    relative = path.relative_to(walked).parts
    linked_folder = any((walked / Path(*relative[:depth])).is_symlink() for depth in range(1, len(relative)))
    if linked_folder or not _inside(path, root):
        return f"{shown} lies outside {shown_name(str(root))} (through a linked folder); copy the file itself there"
    info = path.lstat()
    if info.st_nlink > inodes.get((info.st_dev, info.st_ino), 1):
        return f"{shown} is a hard link to a file outside {shown_name(str(root))}; copy the file itself there"
    return None


def _walk(root: Path) -> list[Path]:
    """Every wanted file under ``root``, links included (they are refused later, not skipped)."""
    found = []
    # Linked folders are walked, so their files become refused rows, not silence; a link back to a folder
    # above it (a loop) is not walked again.
    for folder, folders, files in os.walk(root, followlinks=True):
        relative = Path(folder).relative_to(root).parts
        above = {os.path.realpath(root.joinpath(*relative[:depth])) for depth in range(len(relative))}
        if relative and os.path.realpath(folder) in above:
            folders[:] = []
            continue
        folders[:] = sorted(name for name in folders if not name.startswith(".") and name != "__MACOSX")
        for name in files:
            path = Path(folder, name)
            if _wanted(path.relative_to(root)):
                found.append(path)
    return sorted(set(found))


def _from_folder(root: Path, spec, files: list[SubmissionFile]) -> None:
    candidates = _walk(root)
    inodes: dict[tuple[int, int], int] = {}
    for path in candidates:
        if not path.is_symlink():
            info = path.lstat()
            inodes[(info.st_dev, info.st_ino)] = inodes.get((info.st_dev, info.st_ino), 0) + 1
    for path in candidates:
        identity = identify(shown_name(path.relative_to(root).as_posix()), spec)
        files.append(SubmissionFile(
            name=shown_name(str(path)), source=str(path), student=identity.student,
            layout=identity.layout, attempt=identity.attempt, submitted_at=_mtime(path),
            refused=_refusal(path, root, inodes)))


def _member_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time).astimezone(timezone.utc)  # a zip keeps local time, no zone
    except ValueError:
        return None


def _unpack_zip(archive: Path, into: Path) -> list[tuple[str, Path | None, datetime | None, str]]:
    """Safely unpack the submissions in ``archive``: no absolute or ``..`` paths, no links, capped sizes."""
    shown = shown_name(str(archive))
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise GraderError(f"{shown}: not a readable zip file ({error}); download it again from the LMS") from None
    with bundle:
        members = bundle.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise GraderError(f"{shown}: {len(members)} files in the zip, more than {ZIP_MAX_MEMBERS}; unpack it "
                              "and pass the folder")
        if sum(member.file_size for member in members) > ZIP_MAX_TOTAL_BYTES:
            raise GraderError(f"{shown}: more than {ZIP_MAX_TOTAL_BYTES >> 30} GB once unpacked; unpack it and "
                              "pass the folder")
        unpacked = []
        for index, member in enumerate(members):
            name = member.filename.replace("\\", "/")
            parts = [part for part in name.split("/") if part not in ("", ".")]
            clean = [part for part in parts if part != ".."]
            is_link = stat.S_ISLNK(member.external_attr >> 16)
            if member.is_dir() or not clean or not _wanted(Path(*clean)):
                continue
            if name.startswith("/") or ".." in parts or ":" in parts[0] or is_link \
                    or member.file_size > ZIP_MAX_MEMBER_BYTES:
                unpacked.append(("/".join(clean), None, _member_time(member), name))
                continue
            target = into / str(index) / Path(*parts).name
            target.parent.mkdir(parents=True)
            try:
                with bundle.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError):  # damaged, encrypted
                unpacked.append(("/".join(clean), None, _member_time(member), name))
                continue
            unpacked.append(("/".join(parts), target, _member_time(member), name))
        return unpacked


def _from_zip(archive: Path, spec, scratch: Path, files: list[SubmissionFile]) -> None:
    shown_archive = shown_name(str(archive))
    for relative, target, when, raw in _unpack_zip(archive, scratch / f"zip{len(files)}"):
        identity = identify(shown_name(relative), spec)
        shown = shown_name(raw)
        refused = None if target is not None else (
            f"{shown_archive}:{shown} is a link, an absolute or '..' path, too large, damaged or encrypted in "
            "the zip; it was not unpacked")
        files.append(SubmissionFile(name=f"{shown_archive}:{shown}", source=str(target or ""),
                                    student=identity.student, layout=identity.layout, attempt=identity.attempt,
                                    submitted_at=when, refused=refused))


def choose_per_student(files: list[SubmissionFile]) -> list[SubmissionFile]:
    """Where one student handed in several files, the newest is chosen; the others are set aside (graded and
    kept in the history, never the student's result). Ties go to a notebook over a .py draft, then to the
    LMS's later attempt."""
    by_student: dict[str, list[SubmissionFile]] = {}
    for file in files:
        if file.refused is None:
            by_student.setdefault(file.student, []).append(file)
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    chosen_of: dict[str, str] = {}
    for student, group in by_student.items():
        if len(group) > 1:
            chosen = max(group, key=lambda f: (f.submitted_at or epoch, f.name.endswith(".ipynb"), f.attempt, f.name))
            for file in group:
                if file is not chosen:
                    chosen_of[file.name] = chosen.name
    return [file.model_copy(update={"set_aside_for": chosen_of.get(file.name)}) for file in files]


class Intake:
    """The submissions found in ``paths``; a context manager, since a zip is unpacked for the batch's length."""

    def __init__(self, paths, spec):
        self.scratch: Path | None = None
        found: list[SubmissionFile] = []
        try:
            for raw in paths:
                path = Path(raw)
                shown = shown_name(str(raw))
                if path.is_dir() and not path.is_symlink():
                    _from_folder(path, spec, found)
                elif path.suffix.lower() == ".zip" and path.is_file():
                    if self.scratch is None:
                        self.scratch = Path(tempfile.mkdtemp(prefix="grader-zip-"))
                    _from_zip(path, spec, self.scratch, found)
                elif path.exists() or path.is_symlink():
                    _from_folder_file(path, spec, shown, found)
                else:
                    raise GraderError(f"{shown}: no such file or folder; name notebooks, folders of notebooks "
                                      "or an LMS's zip")
        except BaseException:
            self.close()
            raise
        if not found:
            self.close()
            raise GraderError("no submissions found in " + ", ".join(shown_name(str(p)) for p in paths)
                              + " (looked for .ipynb and .py files)")
        unique: dict[str, SubmissionFile] = {}
        for file in found:
            unique.setdefault(file.name, file)
        self.files = choose_per_student(list(unique.values()))

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> "Intake":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _from_folder_file(path: Path, spec, shown: str, files: list[SubmissionFile]) -> None:
    """A file named on the command line: taken as it is, but never through a link."""
    identity = identify(shown_name(path.name), spec)
    refusal = None
    if path.is_symlink():
        refusal = f"{shown} is a symbolic link, not a file a student handed in; copy the file itself there"
    elif not path.is_file():
        refusal = f"{shown} is not a regular file"
    files.append(SubmissionFile(name=shown, source=str(path), student=identity.student, layout=identity.layout,
                                attempt=identity.attempt, submitted_at=_mtime(path), refused=refusal))
