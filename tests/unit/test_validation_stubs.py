"""`grader validate` names each student function the checks reach that the template does not stub."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.spec import load_assignment
from grader.validation import stub_problems, student_names_called


def _assignment(tmp_path, template_code: str, check_code: str):
    home = tmp_path / "assignments" / "acts"
    (home / "checks" / "public").mkdir(parents=True)
    (home / "assignment.toml").write_text('title = "Acts"\nnotebook = "acts.ipynb"\npoints = 1\n')
    nbformat.write(new_notebook(cells=[new_code_cell("import torch"), new_code_cell(template_code)]),
                   str(home / "acts.ipynb"))
    (home / "checks" / "public" / "test_acts.py").write_text(check_code)
    return load_assignment("acts", tmp_path / "assignments")


CHECK = '''import pytest


@pytest.mark.points(1)
def test_relu(student, reference):
    """relu"""
    student.seeded(0).relu(1)
    student.get("THRESHOLD")
    student.has("relu")
'''


def test_a_misnamed_stub_is_named_with_its_close_match(tmp_path):
    spec = _assignment(tmp_path, "def rellu(x):\n    raise NotImplementedError", CHECK)
    problems = stub_problems(spec)
    assert problems == ["checks/public/test_acts.py:7 uses student.relu, but the template acts.ipynb defines no "
                        "relu (it has rellu: misnamed?); add its stub to the template"]


def test_every_name_stubbed_is_no_problem(tmp_path):
    spec = _assignment(tmp_path, "def relu(x):\n    raise NotImplementedError", CHECK)
    assert stub_problems(spec) == []


def test_names_reached_through_the_proxy_not_its_own_methods(tmp_path):
    spec = _assignment(tmp_path, "", CHECK)
    assert student_names_called(spec.public_checks / "test_acts.py") == {"relu": 7}


TRANSLATED_CHECK = '''import pytest
from grader.assertions import expect_close


@pytest.mark.points(1)
def test_relu(student, reference):
    """relu keeps the positive entries"""
    expect_close(student.relu(1.0), 1.0, what="relu(1)", hint="return max(x, 0)")
'''


def test_a_public_text_without_its_russian_is_named(tmp_path):
    from grader.validation import translation_problems

    spec = _assignment(tmp_path, "def relu(x):\n    raise NotImplementedError", TRANSLATED_CHECK)
    catalogue = spec.public_checks / "messages.ru.toml"
    catalogue.write_text('"relu keeps the positive entries" = "relu оставляет положительные элементы"\n')
    assert translation_problems(spec) == [
        "checks/public/test_acts.py:8: no Russian for 'return max(x, 0)' in checks/public/messages.ru.toml; add it "
        "(students with --lang ru see English)"]
    catalogue.write_text(catalogue.read_text() + '"return max(x, 0)" = "верните max(x, 0)"\n')
    assert translation_problems(spec) == []


def test_an_assignment_without_a_russian_catalogue_is_not_asked_for_one(tmp_path):
    from grader.validation import translation_problems

    spec = _assignment(tmp_path, "def relu(x):\n    raise NotImplementedError", TRANSLATED_CHECK)
    assert translation_problems(spec) == []
