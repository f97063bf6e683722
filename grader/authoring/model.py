"""What every reader of a master notebook produces, and the writer turns into an assignment folder."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.mutants import PlantedMistake


class TemplateCell(BaseModel):
    """One cell of the student's template notebook, solutions already replaced by stubs."""

    kind: Literal["code", "markdown"]
    source: str


class AuthoredCheck(BaseModel):
    """One pytest check: ``code`` defines the function (its points decorator is the writer's)."""

    name: str = Field(pattern=r"^test_[A-Za-z0-9_]+$")
    title: str
    visibility: Literal["public", "hidden"]
    points: float = Field(ge=0)
    code: str
    helpers: str = ""  # module-level code the check needs (placed before it in its file)
    title_ru: str | None = None


class Master(BaseModel):
    """An assignment as a master notebook declares it, in any of the formats we read."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    format: Literal["grader", "nbgrader", "otter"]
    config: dict[str, Any] = Field(default_factory=dict, description="assignment.toml, less notebook and points")
    template: list[TemplateCell]
    reference: str = Field(description="the reference solution's source: the master's code, solutions kept")
    imports: list[str] = Field(default_factory=list, description="import lines the checks get at module level")
    checks: list[AuthoredCheck]
    mistakes: list[PlantedMistake] = Field(default_factory=list)
    catalogue_ru: dict[str, str] = Field(default_factory=dict, description="public texts' Russian, beyond titles")
    catalogue_ru_hidden: dict[str, str] = Field(default_factory=dict,
                                                description="hidden checks' texts' Russian, beyond titles")
    files: dict[str, str] = Field(default_factory=dict, description="support files students get: name in the "
                                                                     "assignment folder -> the master's file")
    manual: list[str] = Field(default_factory=list, description="what the master grades by hand: one line each, "
                                                               "not scored here")

    @property
    def points(self) -> float:
        return sum(check.points for check in self.checks)

    def readme(self) -> str:
        """The student README: the master's Markdown cells, in order."""
        return "\n\n".join(cell.source.strip() for cell in self.template
                           if cell.kind == "markdown" and cell.source.strip()) + "\n"
