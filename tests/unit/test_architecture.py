"""The layout's rules, checked on the source: one facade, one verdict builder, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import grader.api

PACKAGE = Path(grader.api.__file__).resolve().parent


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def top_level_imports(tree: ast.Module, name: str) -> set[str]:
    """Modules imported when this one is (not inside functions, not under TYPE_CHECKING)."""
    imported = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Try):
            nodes = node.body
        else:
            nodes = [node]
        for each in nodes:
            if isinstance(each, ast.Import):
                imported |= {alias.name for alias in each.names}
            elif isinstance(each, ast.ImportFrom) and each.module and each.level == 0:
                imported.add(each.module)
                imported |= {f"{each.module}.{alias.name}" for alias in each.names}
    return {module for module in imported if module.startswith("grader")}


def test_the_facade_exports_exactly_these_names():
    assert sorted(grader.api.__all__) == sorted([
        "check_notebook", "check_in_notebook", "student_assignments_dir", "grade_submissions", "latest_results", "student_result", "student_history",
        "export_results", "write_html_report", "validate_assignment", "ValidationReport", "MutantOutcome",
        "sandbox_report", "doctor", "DoctorReport", "resolve_device", "release_assignment", "run_ci",
        "serve",
        "write_feedback", "override_score", "void_check", "adjustment_log", "assignment_runs",
        "exclude_run", "course_results", "export_course", "gradescope_zip", "run_gradescope",
        "author_assignment"])
    assert all(callable(getattr(grader.api, name)) for name in grader.api.__all__)


def test_no_library_module_imports_the_facade():
    importers = [name for name, tree in modules().items()
                 if name not in ("grader.api", "grader.cli", "grader")  # grader.check: the notebook's entry point
                 and any(node for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom) and node.module == "grader.api"
                         or isinstance(node, ast.ImportFrom) and node.module == "grader"
                         and any(alias.name == "api" for alias in node.names))]
    assert importers == []


def test_module_level_imports_have_no_cycles():
    trees = modules()
    graph = {name: {target for target in top_level_imports(tree, name) if target in trees and target != name}
             for name, tree in trees.items()}
    # A package's __init__ importing its own submodules is how packages re-export; a submodule importing its
    # package's __init__ back would be a cycle.
    cycles = []

    def visit(node: str, path: list[str], on_path: set[str], done: set[str]) -> None:
        for target in graph[node]:
            if target in on_path:
                cycles.append(path[path.index(target):] + [target])
            elif target not in done:
                on_path.add(target)
                visit(target, path + [target], on_path, done)
                on_path.discard(target)
        done.add(node)

    done: set[str] = set()
    for start in graph:
        if start not in done:
            visit(start, [start], {start}, done)
    real = [cycle for cycle in cycles if not all(b.startswith(a + ".") or a.startswith(b + ".")
                                                 for a, b in zip(cycle, cycle[1:]))]
    assert real == []


def test_verdicts_are_built_in_one_module():
    builders = sorted(name for name, tree in modules().items()
                      for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Verdict")
    # The gradebook rebuilds stored runs; everything that judges builds through grader.verdicts.
    assert set(builders) <= {"grader.verdicts", "grader.store"}
