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
    owner: str | None = None  # the class that def belongs to, if any


@dataclass
class SplitCell:
    template: str
    reference: str
    regions: list[Region] = field(default_factory=list)


_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")
_CLASS = re.compile(r"^(\s*)class\s+([A-Za-z_]\w*)\b")


def enclosing(lines: list[str], indent: str) -> tuple[str | None, str | None]:
    """(the def a region at ``indent`` sits in, the class that def belongs to)."""
    function, depth = None, len(indent)
    for line in reversed(lines):
        match = _DEF.match(line) if function is None else _CLASS.match(line)
        if match and len(match.group(1)) < depth:
            if function is not None:
                return function, match.group(2)
            function, depth = match.group(2), len(match.group(1))
        elif function is not None and line.strip() and len(line) - len(line.lstrip()) < depth:
            return function, None  # something else at a shallower indentation: a plain function
    return function, None


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
            function, owner = enclosing(reference, indent)
            regions.append(Region("".join(inside), indent, function, owner))
            template.append("".join(f"{indent}{line}\n" for line in stub.splitlines()) if stub
                            else f"{indent}# YOUR CODE HERE\n{indent}{STUB}\n")
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
        if region.function is None or not region.text.strip() or not (
                region.function in used or region.owner in used):
            continue
        offset = reference.find(region.text, position)
        if offset < 0:
            continue
        position = offset + 1
        count = reference.count(region.text)
        occurrence = reference[:offset + len(region.text)].count(region.text) if count > 1 else None
        label = f"{region.owner}.{region.function}" if region.owner else region.function
        name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", label)).strip("_") + "_unsolved"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        edit = {"find": region.text, "replace": f"{region.indent}{STUB}\n"}
        if occurrence is not None:
            edit["occurrence"] = occurrence
        mistakes.append({"name": name, "description": f"{label} left as the template's stub",
                         "edit": [edit]})
    return mistakes


MAGIC = re.compile(r"^([%!].*)$", re.MULTILINE)


def without_magics(source: str) -> str:
    """IPython magics and shell lines (``%matplotlib inline``, ``!pip ...``) commented out: the reference
    solution is a ``.py`` file, and the grader never runs them for students either."""
    return MAGIC.sub(r"# \1", source)
