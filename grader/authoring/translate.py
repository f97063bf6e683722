"""nbgrader's and otter's tests (statements and asserts on the student's globals) as trusted-side checks.

Such a test was written to run inside the student's kernel. Here it runs in the judge: every
name it reads that the master's own code defines is bound, first thing, through the proxy
(``student.f`` for a function or class, ``student.get("x")`` for a value), so only data
comes back from the student's process. Imports are the judge's own.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from grader.errors import GraderError


@dataclass
class StudentNames:
    """What the master's code (everything but its tests) defines at the top level."""

    callables: set[str]
    values: set[str]
    imported: set[str]
    written: set[str] | None = None  # callables the template has no stub for (a solution cell replaced whole)

    @classmethod
    def of(cls, source: str, where: str) -> "StudentNames":
        tree = parse(source, where)
        callables, values, imported = set(), set(), set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                callables.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                imported |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            else:
                for child in ast.walk(node):
                    if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                        values.add(child.id)
        return cls(callables, values - callables - imported, imported)

    def used_by(self, code: str, where: str) -> list[str]:
        """The student's names that ``code`` reads without binding them itself, in order of first use."""
        return [name for name in unbound_names(code, where) if name in self.callables or name in self.values]

    def binding(self, name: str, side: str = "student") -> str:
        """How a check reaches ``name`` on ``side`` (student: through the proxy)."""
        if side == "student":
            if name in self.callables and self.written and name in self.written:
                return f"student_callable(student.get({name!r}))"  # the student writes it from nothing
            return (f"student_callable(student.{name})" if name in self.callables
                    else f"student_value(student.get({name!r}))")
        return f"{side}.{name}"


def unbound_names(code: str, where: str) -> list[str]:
    """The names ``code`` reads without binding them itself, in order of first use."""
    tree = parse(code, where)
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    used: list[str] = []
    loads = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)),
                   key=lambda node: (node.lineno, node.col_offset))
    for node in loads:
        if node.id not in used and node.id not in bound:
            used.append(node.id)
    return used


def defined_names(source: str) -> set[str]:
    """What ``source`` defines at its top level (functions, classes, imports, assignments); nothing when it
    does not parse (a template cell may be prose for the student)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            names |= {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}
    return names


def top_level_definitions(code: str, where: str) -> list[tuple[set[str], str]]:
    """(the names it binds, its source) for each def, class, import and assignment at the top of ``code``."""
    found = []
    for node in parse(code, where).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {node.name}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            names = {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}
        else:
            continue
        found.append((names, ast.get_source_segment(code, node, padded=False) or ast.unparse(node)))
    return found


def parse(code: str, where: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as error:
        raise GraderError(f"{where}: line {error.lineno}: {error.msg}; fix the master notebook's cell") from None


def module_imports(source: str, where: str) -> list[str]:
    """The top-level import statements of ``source``, for the checks' module."""
    return [ast.unparse(node) for node in parse(source, where).body if isinstance(node, (ast.Import, ast.ImportFrom))]


NOSE = re.compile(r"^(\s*)from\s+nose\.tools\s+import\b", re.MULTILINE)


def without_nose(code: str) -> str:
    """``from nose.tools import ...`` (dead on Python 3.12) from our equivalents."""
    return NOSE.sub(r"\1from grader.authoring.nose_tools import", code)


def _rooted_at(node: ast.AST, roots: set[str]) -> str | None:
    """The student-derived name an attribute or subscript chain (``net.first.weight``) starts from, when it
    has at least one step."""
    steps = 0
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node, steps = node.value, steps + 1
    return node.id if steps and isinstance(node, ast.Name) and node.id in roots else None


def refuse_changes_to_student_objects(code: str, student_names: list[str], where: str) -> None:
    """A test that changes the student's objects in place (``net.fc.weight.fill_(1)``, ``model.scale = 3``)
    would change a copy here: the checks reach them through the proxy, where a tensor comes back as data.
    One line naming the cell, the line and the fix, instead of a check that silently tests something else."""
    tree = parse(code, where)
    derived = set(student_names)
    for _ in range(3):  # names assigned from the student's objects are the student's too
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.With, ast.For)):
                value = getattr(node, "value", None) or getattr(node, "iter", None)
                items = getattr(node, "items", None)
                sources = [value] if value is not None else [item.context_expr for item in items or []]
                if any(isinstance(child, ast.Name) and child.id in derived
                       for source in sources for child in ast.walk(source)):
                    targets = getattr(node, "targets", None) or [getattr(node, "target", None)] + [
                        item.optional_vars for item in items or []]
                    derived |= {child.id for target in targets if target is not None for child in ast.walk(target)
                                if isinstance(child, ast.Name)}
    for node in ast.walk(tree):
        changed = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method.endswith("_") and not method.startswith("__"):
                changed = _rooted_at(node.func.value, derived) and node.func.value
                if changed is None or changed is False:
                    changed = next((argument for argument in node.args[:1] if _rooted_at(argument, derived)), None)
        elif isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            changed = next((target for target in targets if (isinstance(target, ast.Attribute) and (
                _rooted_at(target.value, derived) or isinstance(target.value, ast.Name)
                and target.value.id in student_names)) or (isinstance(target, ast.Subscript)
                                                           and _rooted_at(target.value, derived))), None)
        if changed:
            shown = ast.get_source_segment(code, node) or ast.unparse(node)
            raise GraderError(f"{where}: line {node.lineno}: {shown.splitlines()[0][:80]} changes the student's "
                              "object in place, which a check here cannot do (it reads copies of the student's "
                              "tensors); call a method on the object instead, e.g. "
                              "net.load_state_dict({...}), then test its result")


def with_assert_messages(code: str, where: str) -> str:
    """Each one-line ``assert`` without a message gets its own text as one (``failed: assert x == 2``): what
    the traceback showed the student in the kernel, where a bare AssertionError here would say nothing."""
    lines = code.splitlines()
    asserts = [node for node in ast.walk(parse(code, where))
               if isinstance(node, ast.Assert) and node.msg is None and node.lineno == node.end_lineno]
    for node in sorted(asserts, key=lambda node: (node.lineno, node.col_offset), reverse=True):
        line = lines[node.lineno - 1]
        if len(line.encode("utf-8")) != len(line):
            continue  # offsets are in bytes: leave a line with non-ASCII text as written
        text = line[node.col_offset:node.end_col_offset]
        lines[node.lineno - 1] = line[:node.end_col_offset] + f", {('failed: ' + text)!r}" + line[node.end_col_offset:]
    return "\n".join(lines)


def statements_body(code: str, names: StudentNames, where: str) -> str:
    """A check function's body that binds the student's names, then runs ``code`` as written."""
    code = with_assert_messages(without_nose(code), where)
    used = names.used_by(code, where)
    refuse_changes_to_student_objects(code, used, where)
    lines = [f"{name} = {names.binding(name)}" for name in used] + ["use_student(student)"]
    lines.append(textwrap.dedent(code).strip() or "pass")
    return textwrap.indent("\n".join(lines), "    ")


def split_last_expression(code: str, where: str) -> tuple[str, str | None]:
    """(the statements before, the last expression's source) when ``code`` ends with an expression."""
    tree = parse(code, where)
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return code, None
    last = tree.body[-1]
    lines = code.splitlines()
    before = "\n".join(lines[:last.lineno - 1] + [lines[last.lineno - 1][:last.col_offset].rstrip().rstrip(";")])
    value = last.value
    if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print"
            and value.args and not value.keywords and not any(isinstance(arg, ast.Starred) for arg in value.args)):
        # print(x) shows x: what it printed is what the test compares
        parts = [ast.get_source_segment(code, arg) for arg in value.args]
        return before, parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    return before, ast.get_source_segment(code, value)


def with_earlier_definitions(code: str, earlier: list[tuple[set[str], str]], where: str) -> str:
    """``code`` after the definitions of earlier test cells it reads (and those they read): in the kernel, and
    in otter's run of a question's cases, later ones see them."""
    needed = set(unbound_names(without_nose(code), where))
    chosen: set[int] = set()
    grown = True
    while grown:
        grown = False
        for index, (names, source) in enumerate(earlier):
            if index not in chosen and names & needed:
                chosen.add(index)
                needed |= set(unbound_names(source, where))
                grown = True
    if not chosen:
        return code
    return "\n".join(earlier[index][1] for index in sorted(chosen)) + "\n" + code
