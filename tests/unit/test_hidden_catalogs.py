"""Hidden checks speak the student's language too: every text they show (titles, hints, labels, case names,
messages) is a catalog key with a Russian entry in ``checks/hidden/messages.ru.toml``, and none is built with an
f-string (which no catalog can hold). Homeworks are listed here as their hidden checks are translated."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.i18n import load_catalog
from test_i18n_catalogs import catalog_problems, scan_source

REPO = Path(__file__).resolve().parents[2]
TRANSLATED = ["hw2", "hw3"]


def _is_prose(label: object) -> bool:
    """A label with words outside its brackets ("softmax on a batch"), not a call ("predict_no_grad(w, x)")."""
    text = str(label)
    while re.search(r"\([^()]*\)|\[[^\[\]]*\]", text):
        text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", text)
    return " " in text.strip()


def hidden_texts(path: Path) -> tuple[dict[str, str], list[str]]:
    """What ``scan_source`` finds, plus hint variables, ``what=`` labels and the keys of ``cases`` tables."""
    source = path.read_text(encoding="utf-8")
    label = str(path.relative_to(REPO))
    scan = scan_source(source, label)
    texts, errors = dict(scan.texts), list(scan.errors)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and "hint" in target.id.lower()
                                                for target in node.targets):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                texts.setdefault(node.value.value, f"{label}:{node.lineno} (hint variable)")
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "cases"
                                                for target in node.targets) and isinstance(node.value, ast.Dict):
            for key in node.value.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    texts.setdefault(key.value, f"{label}:{key.lineno} (case name)")
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "what" and isinstance(keyword.value, ast.JoinedStr):
                    errors.append(f"{label}:{keyword.value.lineno}: what= is an f-string; "
                                  "use tr(\"... {field} ...\")")
                if keyword.arg == "what" and isinstance(keyword.value, ast.Constant) and _is_prose(keyword.value.value):
                    errors.append(f"{label}:{keyword.value.lineno}: what={keyword.value.value!r} is prose; "
                                  "wrap it in tr()")
    return texts, errors


@pytest.mark.parametrize("homework", TRANSLATED)
def test_hidden_check_texts_have_russian_translations(homework):
    folder = REPO / "assignments" / homework / "checks" / "hidden"
    texts: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.py")):
        found, errors = hidden_texts(path)
        problems += errors
        for text, where in found.items():
            texts.setdefault(text, where)
    assert len(texts) > 10
    catalog_path = folder / "messages.ru.toml"
    assert catalog_path.is_file(), f"{catalog_path} is missing"
    problems += catalog_problems(texts, load_catalog(catalog_path), str(catalog_path.relative_to(REPO)))
    assert not problems, "\n".join(problems)
