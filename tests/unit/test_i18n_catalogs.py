"""Every student-facing text of the public checks has a Russian translation, and no more.

The texts are found by reading the check files (public checks and the shared support
module) with ``ast``, the way a translator would list them:

- a check's title: the first line of a ``test_*`` function's docstring;
- a string given as ``hint=`` or as the 1st/2nd positional argument of ``fail(...)``;
- the first argument of ``tr(...)``;
- module-level strings assigned to a name containing ``HINT`` or ``MISTAKES``.

Each must have a non-empty entry in that file's catalog (``checks/public/messages.ru.toml``
for public checks, ``checks/messages.ru.toml`` for the support module), with exactly the
``{fields}`` of the English template; a catalog entry that matches no text is stale. An
f-string or a ``+`` concatenation given to ``fail()`` or ``hint=`` cannot be a catalog key,
so it is an error: write ``tr("... {field} ...", field=value)`` instead.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.assertions import CheckFailed
from grader.i18n import load_catalog, set_language

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(path for path in (REPO / "assignments").iterdir() if (path / "checks" / "public").is_dir())
CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")
LETTERS = re.compile(r"[A-Za-zа-яА-ЯёЁ]")


@dataclass
class Scan:
    texts: dict[str, str] = field(default_factory=dict)  # English text -> where it was found
    errors: list[str] = field(default_factory=list)


def _fields(template: str) -> set[str]:
    """The ``{fields}`` of a template, with their conversion and format spec."""
    return {f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
            for _, name, spec, conversion in string.Formatter().parse(template) if name is not None}


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _has_string_part(node: ast.AST) -> bool:
    return any(_is_string(part) or isinstance(part, ast.JoinedStr) for part in ast.walk(node))


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def scan_source(source: str, label: str) -> Scan:
    """The translatable texts of one check file, and the texts that cannot be translated."""
    scan = Scan()
    tree = ast.parse(source)

    def add(node: ast.AST, role: str) -> None:
        where = f"{label}:{node.lineno} ({role})"
        if _is_string(node):
            scan.texts.setdefault(node.value, where)
        elif isinstance(node, ast.JoinedStr):
            scan.errors.append(f"{where}: an f-string cannot be translated; use tr(\"... {{field}} ...\", field=...)")
        elif isinstance(node, ast.BinOp) and _has_string_part(node):
            scan.errors.append(f"{where}: a string built with + cannot be translated; use a tr() template")
        elif isinstance(node, ast.IfExp):
            add(node.body, role)
            add(node.orelse, role)

    for statement in tree.body:  # module-level HINT / MISTAKES constants
        if isinstance(statement, ast.Assign):
            names = [target.id for target in statement.targets if isinstance(target, ast.Name)]
            if any("HINT" in name or "MISTAKES" in name for name in names):
                for node in ast.walk(statement.value):
                    if _is_string(node):
                        scan.texts.setdefault(node.value, f"{label}:{node.lineno} ({names[0]})")
                    elif isinstance(node, ast.JoinedStr):
                        add(node, names[0])

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            docstring = ast.get_docstring(node)
            if docstring and docstring.strip():
                title = docstring.strip().splitlines()[0].strip()
                scan.texts.setdefault(title, f"{label}:{node.lineno} (title of {node.name})")
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name == "fail":
            for argument in node.args[:2]:
                add(argument, "fail()")
        if name == "tr" and node.args:
            add(node.args[0], "tr()")
            template = node.args[0]
            if _is_string(template) and not any(keyword.arg is None for keyword in node.keywords):
                given = {keyword.arg for keyword in node.keywords}
                needed = {name for _, name, _, _ in string.Formatter().parse(template.value) if name}
                if needed - given:
                    scan.errors.append(f"{label}:{node.lineno}: tr() template needs {sorted(needed - given)}, "
                                       f"which the call does not give")
        for keyword in node.keywords:
            if keyword.arg == "hint":
                add(keyword.value, "hint=")
    return scan


def catalog_problems(texts: dict[str, str], catalog: dict[str, object], catalog_name: str) -> list[str]:
    """What is wrong between the texts found in the code and their catalog."""
    problems = []
    for text, where in sorted(texts.items()):
        translation = catalog.get(text)
        if not isinstance(translation, str) or not translation.strip():
            problems.append(f"{where}: no translation in {catalog_name} for {text!r}")
            continue
        try:
            want, got = _fields(text), _fields(translation)
        except ValueError as error:
            problems.append(f"{catalog_name}: {text!r} or its translation is not a valid template ({error})")
            continue
        if want != got:
            problems.append(f"{catalog_name}: the translation of {text!r} has fields {sorted(got)}, "
                            f"the English text has {sorted(want)}")
        without_fields = string.Formatter().parse(translation)
        prose = "".join(literal for literal, *_ in without_fields)
        if LETTERS.search(prose) and not CYRILLIC.search(prose):
            problems.append(f"{catalog_name}: the translation of {text!r} is not in Russian: {translation!r}")
    for key in sorted(set(catalog) - set(texts)):
        problems.append(f"{catalog_name}: stale entry {key!r} matches no text in the checks")
    return problems


def _check_files(assignment: Path) -> dict[Path, list[Path]]:
    """Each catalog of the assignment, with the check files it translates."""
    checks = assignment / "checks"
    groups = {checks / "public" / "messages.ru.toml": sorted((checks / "public").glob("*.py"))}
    support = sorted(checks.glob("*_support.py"))
    if support:
        groups[checks / "messages.ru.toml"] = support
    return groups


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[path.name for path in ASSIGNMENTS])
def test_public_check_texts_have_russian_translations(assignment: Path):
    problems = []
    for catalog_path, files in _check_files(assignment).items():
        texts: dict[str, str] = {}
        for path in files:
            scan = scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
            problems += scan.errors
            for text, where in scan.texts.items():
                texts.setdefault(text, where)
        assert texts, f"found no texts in {files}; the scan is broken"
        name = str(catalog_path.relative_to(REPO))
        if not catalog_path.is_file():
            problems.append(f"{name} is missing ({len(texts)} texts to translate)")
            continue
        catalog = load_catalog(catalog_path)  # the grader's own loader: valid TOML, strings only
        problems += catalog_problems(texts, catalog, name)
    assert not problems, "\n".join(problems)


def test_scan_finds_texts_and_untranslatable_strings():
    source = '''
SIZE_HINT = ("use nn.Linear"
             "(784, 128)")
OTHER = "not collected"

def helper(what):
    fail(f"{what} is wrong", "a literal hint")
    fail(tr("{what} is not {kind}", what=what), hint="try " + SIZE_HINT)
    fail(tr("{what} needs {missing}", what=what))

def test_something(student):
    """the title line

    more text
    """
    expect_close(1, 2, what="x", hint=tr("plain"))
'''
    scan = scan_source(source, "example.py")
    assert set(scan.texts) == {"use nn.Linear(784, 128)", "a literal hint", "{what} is not {kind}",
                               "{what} needs {missing}", "the title line", "plain"}
    assert len(scan.errors) == 4, scan.errors
    assert any(error.startswith("example.py:7 (fail()): an f-string") for error in scan.errors)
    assert any(error.startswith("example.py:8 (hint=): a string built with +") for error in scan.errors)
    assert any("needs ['kind']" in error for error in scan.errors)
    assert any("needs ['missing']" in error for error in scan.errors)


def test_catalog_problems_catch_missing_stale_wrong_fields_and_english():
    texts = {"{what} is wrong": "a.py:1", "the title": "a.py:2", "no fields": "a.py:3", "gone": "a.py:4"}
    catalog = {"{what} is wrong": "{wat} неверно", "the title": "the title", "no fields": "без полей",
               "old text": "старый текст"}
    problems = catalog_problems(texts, catalog, "messages.ru.toml")
    assert len(problems) == 4, problems
    assert any("'{what} is wrong' has fields ['{wat}']" in problem for problem in problems)
    assert any("a.py:4: no translation in messages.ru.toml for 'gone'" in problem for problem in problems)
    assert any("'the title' is not in Russian" in problem for problem in problems)
    assert any("stale entry 'old text'" in problem for problem in problems)


def _load_support(assignment: str):
    path = REPO / "assignments" / assignment / "checks" / f"{assignment}_support.py"
    spec = importlib.util.spec_from_file_location(f"_i18n_{assignment}_support", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def test_support_message_comes_out_in_russian():
    """A real hw5 check helper, judged on the trusted side with the catalogs loaded."""
    support = _load_support("hw5")
    checks = REPO / "assignments" / "hw5" / "checks"
    set_language("ru", [checks, checks / "public"])
    try:
        with pytest.raises(CheckFailed) as failure:
            support.expect_mean_loss(2.0, [1.0, 2.0], samples=8, what="train_epoch")
    finally:
        set_language("en")
    message = str(failure.value)
    assert message.startswith("train_epoch вернула 2, а это не среднее"), message
    assert "последнего батча" in failure.value.hint, failure.value.hint
    assert "loss.item()" in failure.value.hint

    with pytest.raises(CheckFailed) as failure:  # and back in English
        support.expect_mean_loss(2.0, [1.0, 2.0], samples=8, what="train_epoch")
    assert str(failure.value).startswith("train_epoch returned 2, which is not the mean of the batch losses")
    assert failure.value.hint.startswith("you returned the last batch's loss; return the mean")
