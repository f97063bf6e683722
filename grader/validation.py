"""`grader validate`: the checks against the reference (full marks) and every planted mistake (each caught)."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

from pydantic import BaseModel

from grader.devices import resolve_device
from grader.errors import GraderError
from grader.intake import read_submission, submission_file
from grader.models import Verdict
from grader.spec import load_assignment
from grader.verdicts import Grading


class MutantOutcome(BaseModel):
    name: str
    description: str
    score: float
    max_score: float
    caught_by: list[str]

    @property
    def caught(self) -> bool:
        return self.score < self.max_score


class ValidationReport(BaseModel):
    assignment: str
    reference: Verdict
    mutants: list[MutantOutcome]
    problems: list[str] = []  # what a hand-made assignment can get wrong besides its checks (a misnamed stub)

    @property
    def reference_full_marks(self) -> bool:
        return self.reference.status == "graded" and self.reference.score == self.reference.max_score

    @property
    def ok(self) -> bool:
        return self.reference_full_marks and all(mutant.caught for mutant in self.mutants) and not self.problems


def validate_assignment(assignment: str, device: str = "cpu",
                        assignments_dir: str | Path | None = None) -> ValidationReport:
    """Every check against the reference (full marks required) and every planted mistake of the
    assignment's mistakes.toml (each must lose points; a stale edit fails before anything runs)."""
    from grader.judge import start_judge
    from grader.mutants import planted_submissions

    spec = load_assignment(assignment, assignments_dir)
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(f"no reference solution at {reference}; add reference_solutions/{spec.id}.py")
    mistakes, mutants = planted_submissions(spec)
    device = resolve_device(device)
    unit = read_submission(submission_file(reference, spec), spec, Grading.of(spec, include_hidden=True, device=device))
    verdicts: list[Verdict] = []
    with start_judge(spec, include_hidden=True, device=device) as judge:
        judge.run([unit, *mutants] if not isinstance(unit, Verdict) else mutants, verdicts.append)
    if isinstance(unit, Verdict):
        verdicts.insert(0, unit)
    outcomes = [MutantOutcome(name=mistake.name, description=mistake.description, score=verdict.score,
                              max_score=verdict.max_score,
                              caught_by=[check.name for check in verdict.checks if not check.passed])
                for mistake, verdict in zip(mistakes, verdicts[1:])]
    return ValidationReport(assignment=spec.id, reference=verdicts[0], mutants=outcomes,
                            problems=stub_problems(spec) + translation_problems(spec))


PROXY_METHODS = {"seeded", "has", "get", "put", "fetch", "describe", "build"}


def student_names_called(path: Path) -> dict[str, int]:
    """The functions a check or support file calls as ``student.NAME`` (or ``student.seeded(s).NAME``):
    name -> first line. Values (``student.get("x")``) are the student's to compute, not stubs."""
    names: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute) or node.attr in PROXY_METHODS:
            continue
        base = node.value
        if (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute) and base.func.attr == "seeded"):
            base = base.func.value
        if isinstance(base, ast.Name) and base.id == "student":
            names.setdefault(node.attr, node.lineno)
    return names


def template_names(spec) -> set[str] | None:
    """What the template notebook defines at the top of its code cells; None without a template."""
    from grader.extract import notebook_cells

    if not spec.template.is_file():
        return None
    defined: set[str] = set()
    for source in notebook_cells(spec.template.read_bytes(), spec.template):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
            else:
                defined |= {child.id for child in ast.walk(node)
                            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}
    return defined


def stub_problems(spec) -> list[str]:
    """Each name the checks reach in the student's notebook that the template does not define
    (a stub misnamed ``def rellu``): students would be told to write the wrong name."""
    defined = template_names(spec)
    if defined is None:  # nothing to compare with (`grader release` requires one)
        return []
    problems = []
    for path in spec.check_files(include_hidden=True) + spec.support_files():
        for name, line in student_names_called(path).items():
            if name not in defined:
                close = difflib.get_close_matches(name, sorted(defined), n=1)
                seen = f" (it has {close[0]}: misnamed?)" if close else ""
                problems.append(f"{path.relative_to(spec.root)}:{line} uses student.{name}, but the template "
                                f"{spec.notebook} defines no {name}{seen}; add its stub to the template")
    return problems



def public_texts(path: Path) -> dict[str, int]:
    """What a student reads of a public check file, as written in it: each check's title (its docstring's
    first line) and the literal texts given to ``tr()``, ``fail()`` and ``hint=``: text -> first line."""
    texts: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            docstring = ast.get_docstring(node)
            if docstring and docstring.strip():
                texts.setdefault(docstring.strip().splitlines()[0].strip(), node.lineno)
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        given = node.args[:1] if name == "tr" else node.args[:2] if name == "fail" else []
        given = given + [keyword.value for keyword in node.keywords if keyword.arg == "hint"]
        for argument in given:
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.strip():
                texts.setdefault(argument.value, argument.lineno)
    return texts


def translation_problems(spec) -> list[str]:
    """Each public text without its Russian, where the assignment has a Russian catalogue at all."""
    from grader.i18n import LOCALE_DIR, load_catalog

    catalogues = [spec.public_checks / "messages.ru.toml", spec.checks_root / "messages.ru.toml"]
    if not any(path.is_file() for path in catalogues):
        return []
    russian: dict[str, str] = {}
    for path in [LOCALE_DIR / "ru.toml", *catalogues]:
        if path.is_file():
            russian.update(load_catalog(path))
    problems = []
    files = spec.check_files(include_hidden=False) + [path for path in spec.support_files()
                                                       if path.stem.endswith("_support")]
    for path in files:
        for text, line in public_texts(path).items():
            if not str(russian.get(text, "")).strip():
                problems.append(f"{path.relative_to(spec.root)}:{line}: no Russian for {text[:80]!r} in "
                                "checks/public/messages.ru.toml; add it (students with --lang ru see English)")
    return problems
