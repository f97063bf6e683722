"""Solution regions in a master's code: the template gets a stub, the reference keeps the code."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STUB = "raise NotImplementedError"


@dataclass
class Region:
    """One solution region, as it reads in the reference solution."""

    text: str  # the region's lines, each ending with a newline
    indent: str
    function: str | None  # the def it sits in, if any


@dataclass
class SplitCell:
    template: str
    reference: str
    regions: list[Region] = field(default_factory=list)


_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")


def _enclosing_function(lines: list[str], indent: str) -> str | None:
    for line in reversed(lines):
        match = _DEF.match(line)
        if match and len(match.group(1)) < len(indent):
            return match.group(2)
    return None


def split_solutions(source: str, begin: re.Pattern, end: re.Pattern, where: str,
                    inline: re.Pattern | None = None, stub: str | None = None) -> SplitCell:
    """``source`` with each region between ``begin`` and ``end`` lines replaced by a stub that raises
    NotImplementedError (template), and with only the marker lines removed (reference).

    ``inline`` matches a line that is a solution by itself (otter's ``x = 2 # SOLUTION``): group
    ``keep`` is what the template keeps of it, followed by ``...``. ``stub`` replaces the code stub
    (a Markdown cell's "YOUR ANSWER HERE").
    """
    from grader.errors import GraderError

    template: list[str] = []
    reference: list[str] = []
    regions: list[Region] = []
    inside: list[str] | None = None
    indent = ""
    for line in source.splitlines(keepends=True):
        if not line.endswith("\n"):
            line += "\n"
        if inside is None and begin.match(line):
            inside, indent = [], re.match(r"\s*", line).group(0)
            continue
        if inside is not None and end.match(line):
            regions.append(Region("".join(inside), indent, _enclosing_function(reference, indent)))
            template.append(f"{indent}{stub}\n" if stub else f"{indent}# YOUR CODE HERE\n{indent}{STUB}\n")
            inside = None
            continue
        if inside is not None:
            inside.append(line)
            reference.append(line)
            continue
        match = inline.match(line) if inline is not None else None
        if match:
            reference.append(match.group("code").rstrip() + "\n")
            keep = match.group("keep") or re.match(r"\s*", line).group(0)
            template.append(keep + "...\n")
            continue
        template.append(line)
        reference.append(line)
    if inside is not None:
        raise GraderError(f"{where}: a solution region is not closed; add its END SOLUTION line")
    return SplitCell("".join(template).rstrip("\n"), "".join(reference).rstrip("\n"), regions)


def unsolved_mistakes(reference: str, regions: list[Region], used: set[str]) -> list[dict]:
    """A planted mistake per solution region inside a function the checks use: that region left as the stub.

    Every one must lose points, so `grader validate` shows that each solution is checked."""
    mistakes = []
    seen: dict[str, int] = {}
    position = 0
    for region in regions:
        if region.function is None or region.function not in used or not region.text.strip():
            continue
        offset = reference.find(region.text, position)
        if offset < 0:
            continue
        position = offset + 1
        count = reference.count(region.text)
        occurrence = reference[:offset + len(region.text)].count(region.text) if count > 1 else None
        name = f"{region.function}_unsolved"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        edit = {"find": region.text, "replace": f"{region.indent}{STUB}\n"}
        if occurrence is not None:
            edit["occurrence"] = occurrence
        mistakes.append({"name": name, "description": f"{region.function} left as the template's stub",
                         "edit": [edit]})
    return mistakes


MAGIC = re.compile(r"^([%!].*)$", re.MULTILINE)


def without_magics(source: str) -> str:
    """IPython magics and shell lines (``%matplotlib inline``, ``!pip ...``) commented out: the reference
    solution is a ``.py`` file, and the grader never runs them for students either."""
    return MAGIC.sub(r"# \1", source)
