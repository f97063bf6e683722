"""`grader check --lang ru`: the grader's own messages have Russian, and a student sees them."""

import ast
import string
import tomllib

from conftest import REPO, run_grader

from grader.i18n import LOCALE_DIR, set_language, tr
from grader.spec import load_assignment


def translatable_literals() -> set[str]:
    """Every literal passed to tr() in the grader's own code."""
    found = set()
    for path in (REPO / "grader").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr" and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_grader_message_has_a_russian_translation_with_the_same_fields():
    catalog = tomllib.loads((LOCALE_DIR / "ru.toml").read_text(encoding="utf-8"))
    literals = translatable_literals()
    assert len(literals) > 40
    missing = sorted(literals - set(catalog))
    assert not missing, f"no Russian for: {missing}"
    stale = sorted(set(catalog) - literals)
    assert not stale, f"catalog entries nothing uses: {stale}"
    for english, russian in catalog.items():
        assert russian.strip() and fields(english) == fields(russian), english


def test_tr_fills_fields_and_keeps_english_when_a_translation_is_missing():
    try:
        set_language("ru")
        assert tr("Hint: {hint}", hint="x") == "Подсказка: x"
        assert tr("no such entry {n}", n=3) == "no such entry 3"
        set_language("en")
        assert tr("Hint: {hint}", hint="x") == "Hint: x"
    finally:
        set_language("en")


def test_check_in_russian_on_a_partial_notebook(tmp_path):
    notebook = tmp_path / "hw2.ipynb"
    notebook.write_bytes((REPO / "submissions" / "hw2" / "partial.ipynb").read_bytes())
    english = run_grader("check", "hw2", cwd=tmp_path)
    russian = run_grader("check", "hw2", "--lang", "ru", cwd=tmp_path)
    assert english.returncode == russian.returncode == 1, russian.stderr
    assert "Public score:" in english.stdout and "Hint:" in english.stdout
    assert "Баллы за открытые проверки:" in russian.stdout
    hidden = load_assignment("hw2").hidden_check_count()
    assert f"Скрытых проверок, которые запустятся при оценивании: {hidden}." in russian.stdout
    assert "Подсказка:" in russian.stdout and "Hint:" not in russian.stdout
    # the same score whatever the language
    score = english.stdout.split("Public score: ")[1].split(".")[0]
    assert f"Баллы за открытые проверки: {score}." in russian.stdout


def test_unknown_language_is_one_line_and_exit_2(tmp_path):
    result = run_grader("check", "hw2", "--lang", "de", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "de" in result.stderr
