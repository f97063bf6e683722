"""Planted mistakes: an assignment's catalogue of small edits to its reference solution.

``assignments/<id>/mistakes.toml`` lists the mistakes `grader validate` plants in the reference
solution, each of which the checks must catch (lose points on)::

    [[mistake]]
    name = "softmax_dim0"
    description = "softmax normalises over dim 0 (columns) instead of each row"
    [[mistake.edit]]
    find = "x.max(dim=1, keepdim=True)"     # exact text of reference_solutions/<id>.py
    replace = "x.max(dim=0, keepdim=True)"
    occurrence = 1                         # optional: which match, when the text occurs more than once

A mistake is applied in memory (no copy of the reference is kept anywhere), so when the
reference changes, an edit whose ``find`` text is gone is reported as stale instead of
silently testing an old solution. The catalogue never leaves the instructor's machine:
`grader release` refuses a bundle that holds it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import ModuleType

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from grader.errors import GraderError
from grader.extract import python_submission
from grader.models import ExtractedSubmission
from grader.spec import AssignmentSpec

MISTAKES_FILE = "mistakes.toml"


class StaleMistake(GraderError):
    """An edit's ``find`` text does not occur (exactly, or as often as its ``occurrence`` says)."""


class Edit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    find: str = Field(min_length=1, description="exact text of the reference solution")
    replace: str
    occurrence: int | None = Field(None, ge=1, description="which match of find (1 = the first); "
                                                           "needed when find occurs more than once")


class PlantedMistake(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    description: str = Field(min_length=1)
    edits: list[Edit] = Field(min_length=1, alias="edit")
    _catalogue: str = PrivateAttr(default=MISTAKES_FILE)  # the file it comes from, set by read_catalogue

    @property
    def catalogue(self) -> str:
        return self._catalogue


class _Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mistakes: list[PlantedMistake] = Field(default_factory=list, alias="mistake")


def catalogue_path(spec: AssignmentSpec) -> Path:
    return spec.root / MISTAKES_FILE


def read_catalogue(path: Path) -> list[PlantedMistake]:
    """The mistakes of one catalogue file; none when the file does not exist."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GraderError(f"{path}: not valid TOML ({error}); fix the file") from None
    try:
        mistakes = _Catalogue.model_validate(data).mistakes
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise GraderError(f"{path}: {where}: {first['msg']}; fix the entry") from None
    seen: set[str] = set()
    for mistake in mistakes:
        if mistake.name in seen:
            raise GraderError(f"{path}: two mistakes are named {mistake.name!r}; give each its own name")
        seen.add(mistake.name)
        mistake._catalogue = str(path)
    return mistakes


def load_mistakes(spec: AssignmentSpec) -> list[PlantedMistake]:
    return read_catalogue(catalogue_path(spec))


def _preview(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else text
    return repr(first[:60] + ("..." if len(first) > 60 or "\n" in text.strip() else ""))


def apply(mistake: PlantedMistake, reference_source: str, reference_name: str = "the reference solution") -> str:
    """The reference source with the mistake's edits made, one after another."""
    source = reference_source
    for number, edit in enumerate(mistake.edits, start=1):
        where = f"{mistake.catalogue}: mistake {mistake.name!r}, edit {number}"
        count = source.count(edit.find)
        wanted = edit.occurrence or 1
        if count == 0 or count < wanted:
            found = "no longer occurs" if count == 0 else f"occurs {count} time(s), not {wanted}"
            raise StaleMistake(f"{where}: its find text {_preview(edit.find)} {found} in {reference_name}; "
                               "update the entry to the reference's current code")
        if count > 1 and edit.occurrence is None:
            raise StaleMistake(f"{where}: its find text {_preview(edit.find)} occurs {count} times in "
                               f"{reference_name}; say which with occurrence = N, or make find longer")
        start = -1
        for _ in range(wanted):
            start = source.index(edit.find, start + 1)
        source = source[:start] + edit.replace + source[start + len(edit.find):]
    return source


def apply_all(mistakes: list[PlantedMistake], reference: Path) -> dict[str, str]:
    """Every mistake's source; a stale edit anywhere fails, naming each stale entry."""
    source = reference.read_text(encoding="utf-8")
    planted: dict[str, str] = {}
    stale: list[str] = []
    for mistake in mistakes:
        try:
            planted[mistake.name] = apply(mistake, source, str(reference))
        except StaleMistake as error:
            stale.append(str(error))
    if stale:
        more = f" (and {len(stale) - 1} more stale entries)" if len(stale) > 1 else ""
        raise StaleMistake(stale[0] + more)
    return planted


def as_submission(mistake: PlantedMistake, source: str, spec: AssignmentSpec) -> ExtractedSubmission:
    """The planted source as the judge takes a ``.py`` submission, built in memory."""
    return python_submission(f"{mistake.catalogue}#{mistake.name}", mistake.name, source, spec)


def planted_submissions(spec: AssignmentSpec) -> tuple[list[PlantedMistake], list[ExtractedSubmission]]:
    """What `grader validate` judges after the reference: one in-memory submission per mistake."""
    mistakes = load_mistakes(spec)
    planted = apply_all(mistakes, spec.reference_solution())
    return mistakes, [as_submission(mistake, planted[mistake.name], spec) for mistake in mistakes]


def planted_module(mistake: PlantedMistake, reference: Path) -> ModuleType:
    """The reference with the mistake planted, imported as a module (trusted side only).

    For checks that run a known mistake to say which one a student's result looks like.
    """
    source = apply(mistake, reference.read_text(encoding="utf-8"), str(reference))
    module = ModuleType(f"grader_mistake_{mistake.name}")
    module.__file__ = f"{mistake.catalogue}#{mistake.name}"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
