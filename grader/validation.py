"""`grader validate`: the checks against the reference (full marks), every planted mistake (each caught), and
the example submissions of ``submissions/<id>/expected.json`` (each scores what it says)."""

from __future__ import annotations

import ast
import difflib
import json
import math
from pathlib import Path

from pydantic import BaseModel

from grader.devices import resolve_device
from grader.errors import GraderError
from grader.intake import read_submission, submission_file
from grader.models import ExtractedSubmission, Verdict
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


class ExampleOutcome(BaseModel):
    """One example submission listed in ``submissions/<id>/expected.json``, graded as `grader grade` grades it."""

    file: str  # as validate names it: submissions/<id>/<name>
    expected: dict[str, float | str]  # {"score": 10.0} and/or {"status": "error"}
    status: str | None = None  # None: the file is missing
    score: float | None = None
    max_score: float | None = None
    problem: str | None = None  # one line naming the file, where it does not score what expected.json says

    @property
    def holds(self) -> bool:
        return self.problem is None


class ValidationReport(BaseModel):
    assignment: str
    reference: Verdict
    mutants: list[MutantOutcome]
    problems: list[str] = []  # what a hand-made assignment can get wrong besides its checks (a misnamed stub)
    examples: list[ExampleOutcome] = []
    examples_note: str = ""  # where the examples' expectations came from, or why there were none to check

    @property
    def reference_full_marks(self) -> bool:
        return self.reference.status == "graded" and self.reference.score == self.reference.max_score

    @property
    def ok(self) -> bool:
        return (self.reference_full_marks and all(mutant.caught for mutant in self.mutants) and not self.problems
                and all(example.holds for example in self.examples))


def validate_assignment(assignment: str, device: str = "cpu",
                        assignments_dir: str | Path | None = None) -> ValidationReport:
    """Every check against the reference (full marks required), every planted mistake of the
    assignment's mistakes.toml (each must lose points; a stale edit fails before anything runs), and
    every example submission listed in ``submissions/<id>/expected.json`` (each must score, or end with
    the status, it says; an unreadable expected.json fails before anything runs)."""
    from grader.judge import start_judge
    from grader.mutants import planted_submissions

    spec = load_assignment(assignment, assignments_dir)
    reference = spec.reference_solution()
    if not reference.is_file():
        raise GraderError(spec.missing_reference())
    mistakes, mutants = planted_submissions(spec)
    examples, examples_note = expected_examples(spec)  # an unreadable expected.json stops here, before judging
    device = resolve_device(device)
    grading = Grading.of(spec, include_hidden=True, device=device)
    unit = read_submission(submission_file(reference, spec), spec, grading)
    found = {name: read_submission(submission_file(path, spec), spec, grading)
             for name, (path, _) in examples.items() if path.is_file()}
    units = [unit, *mutants, *found.values()]
    verdicts = {_key(item): item for item in units if isinstance(item, Verdict)}  # unreadable: already a verdict
    with start_judge(spec, include_hidden=True, device=device) as judge:
        judge.run([item for item in units if not isinstance(item, Verdict)],
                  lambda verdict: verdicts.__setitem__(verdict.submission, verdict))
    outcomes = [MutantOutcome(name=mistake.name, description=mistake.description, score=verdict.score,
                              max_score=verdict.max_score,
                              caught_by=[check.name for check in verdict.checks if not check.passed])
                for mistake, verdict in zip(mistakes, (verdicts[mutant.path] for mutant in mutants))]
    example_outcomes = [example_outcome(name, expected, verdicts[_key(found[name])] if name in found else None, spec)
                        for name, (_, expected) in examples.items()]
    return ValidationReport(assignment=spec.id, reference=verdicts[_key(unit)], mutants=outcomes,
                            problems=stub_problems(spec) + translation_problems(spec),
                            examples=example_outcomes, examples_note=examples_note)


def _key(item: ExtractedSubmission | Verdict) -> str:
    """The name the judge's verdict for ``item`` carries."""
    return item.submission if isinstance(item, Verdict) else item.path


EXAMPLES_FILE = "expected.json"
EXPECTED_KEYS = {"score", "status"}


def examples_folder(spec) -> Path:
    """``submissions/<id>/`` beside the course's assignments/ folder: the example submissions."""
    return spec.root.parent.parent / "submissions" / spec.id


def _shown(path: Path, spec) -> str:
    try:
        return path.relative_to(spec.root.parent.parent).as_posix()
    except ValueError:
        return str(path)


def expected_examples(spec) -> tuple[dict[str, tuple[Path, dict]], str]:
    """``{name: (its path, what it must score)}`` from ``submissions/<id>/expected.json``, and a line saying where
    they came from or why there are none. Invalid JSON, or an entry that is not ``{"score": N}`` /
    ``{"status": "graded"|"error"}``, is a GraderError naming the file."""
    folder = examples_folder(spec)
    listing = folder / EXAMPLES_FILE
    if not folder.is_dir():
        return {}, f"no {_shown(folder, spec)}/ folder: no example submissions to check"
    if not listing.is_file():
        return {}, f"no {_shown(listing, spec)}: the example submissions' scores are not checked"
    shown = _shown(listing, spec)
    fix = 'write it as {"correct.ipynb": {"score": 10.0}, "broken.ipynb": {"status": "error"}}'
    try:
        data = json.loads(listing.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GraderError(f"{shown}: not valid JSON ({error}); {fix}") from None
    if not isinstance(data, dict):
        raise GraderError(f"{shown}: expected an object of file names, not {type(data).__name__}; {fix}")
    examples: dict[str, tuple[Path, dict]] = {}
    for name, expected in data.items():
        path = folder / name
        score = expected.get("score") if isinstance(expected, dict) else None
        if (not isinstance(expected, dict) or not expected or set(expected) - EXPECTED_KEYS
                or ("score" in expected and (isinstance(score, bool) or not isinstance(score, (int, float))))
                or expected.get("status", "graded") not in ("graded", "error")):
            raise GraderError(f"{shown}: the entry for {name!r} is {json.dumps(expected)[:80]}; {fix}")
        if path.resolve().parent != folder.resolve():
            raise GraderError(f"{shown}: {name!r} is not a file name in {_shown(folder, spec)}/; {fix}")
        examples[name] = (path, expected)
    return examples, f"{len(examples)} example submissions listed in {shown}"


def example_outcome(name: str, expected: dict, verdict: Verdict | None, spec) -> ExampleOutcome:
    """What the example scored against what expected.json says, with the line saying how they differ."""
    shown = _shown(examples_folder(spec) / name, spec)
    if verdict is None:
        return ExampleOutcome(file=shown, expected=expected,
                              problem=f"{shown}: listed in expected.json but missing; add it or remove its entry")
    outcome = ExampleOutcome(file=shown, expected=expected, status=verdict.status, score=verdict.score,
                             max_score=verdict.max_score)
    got = (f"status error ({verdict.message[:80]})" if verdict.status == "error"
           else f"{verdict.score:g}/{verdict.max_score:g}")
    if "status" in expected and verdict.status != expected["status"]:
        outcome.problem = f"{shown}: {got}, but expected.json says status {expected['status']}"
    elif "score" in expected and not math.isclose(verdict.score, expected["score"], rel_tol=1e-9, abs_tol=1e-6):
        outcome.problem = f"{shown}: {got}, but expected.json says score {expected['score']:g}"
    return outcome


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
