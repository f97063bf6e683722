"""Our master format's cells, read and rendered without a sandbox: where a hidden check's Russian goes, and a
cell that only the students' template gets."""

from __future__ import annotations

import tomllib

from grader.authoring import ours, writer

HOME = "assignments/demo"


def code(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source}


SOLUTION = code('import torch\n\n\ndef double(x):\n    """Twice x."""\n    # BEGIN SOLUTION\n    return x * 2\n'
                '    # END SOLUTION')
PUBLIC = code('# grader: check public points=1\n# ru: double удваивает\ndef test_double(student, reference):\n'
              '    """double doubles"""\n    x = torch.ones(2)\n    expect_close(student.double(x), reference.double(x), '
              'what="double(x)", hint="multiply by 2")\n# ru "multiply by 2" = "умножьте на 2"')
HIDDEN = code('# grader: check hidden points=1\n# ru: double на огромных значениях\n'
              'def test_double_huge(student, reference):\n    """double on values of magnitude 1e30"""\n'
              '    x = torch.full((3,), 1e30)\n    expect_close(student.double(x), reference.double(x), what="double(x)", '
              'hint="no clamping")\n# ru "no clamping" = "без ограничения значений"')


def rendered(*cells: dict) -> dict[str, str]:
    return writer.render(ours.read(list(cells), "demo", "demo.ipynb"), "demo.ipynb")


def catalogue(files: dict[str, str], visibility: str) -> dict[str, str]:
    return tomllib.loads(files[f"{HOME}/checks/{visibility}/messages.ru.toml"])


def test_a_hidden_checks_russian_goes_to_the_hidden_catalogue_never_the_public_one():
    files = rendered(SOLUTION, PUBLIC, HIDDEN)
    assert catalogue(files, "public") == {"double doubles": "double удваивает", "multiply by 2": "умножьте на 2"}
    assert catalogue(files, "hidden") == {"double on values of magnitude 1e30": "double на огромных значениях",
                                          "no clamping": "без ограничения значений"}


def test_hidden_checks_without_russian_get_no_hidden_catalogue():
    hidden = code("\n".join(line for line in HIDDEN["source"].splitlines() if not line.startswith("# ru")))
    assert f"{HOME}/checks/hidden/messages.ru.toml" not in rendered(SOLUTION, PUBLIC, hidden)


def test_a_template_cell_goes_to_the_template_without_its_marker_and_never_to_the_reference():
    try_it = code("# grader: template\nprint(double(torch.ones(2)))  # try your function")
    files = rendered(SOLUTION, try_it, PUBLIC)
    template = files[f"{HOME}/demo.ipynb"]
    assert "print(double(torch.ones(2)))  # try your function" in template
    assert "grader: template" not in template
    assert "print(double" not in files["reference_solutions/demo.py"]
    assert "return x * 2" in files["reference_solutions/demo.py"]
