import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.errors import GraderError
from grader.extract import (MAX_CODE_BYTES, MAX_CODE_CELLS, ExtractionError, extract_submission, neutralise,
                            split_lines, writefile_target)
from grader.spec import MAX_SUPPORT_FILES_BYTES, load_assignment


@pytest.fixture
def spec():
    return load_assignment("toy", TEST_ASSIGNMENTS)


def test_magics_and_shell_lines_are_neutralised_not_run():
    code, notes = neutralise("%matplotlib inline\n!pip install torch\nfiles = !ls\nx = 1\n"
                             "for i in range(2):\n    %time y = 2\ntorch.ones?")
    assert code.splitlines() == ["pass", "pass", "files = None", "x = 1", "for i in range(2):", "    pass", "pass"]
    assert len(notes) == 5
    compile(code, "cell", "exec")


def test_cell_magic_drops_the_cell_but_time_keeps_its_body():
    dropped, notes = neutralise("%%bash\nrm -rf /\necho hi")
    assert "rm" not in dropped and notes == ["%%bash cell not run"]
    kept, _ = neutralise("%%time\nz = 3")
    namespace = {}
    exec(kept, namespace)
    assert namespace["z"] == 3


def test_notebook_code_cells_in_order_with_one_based_index(tmp_path, spec):
    path = write_notebook(tmp_path / "alice.ipynb", "a = 1", "%pip install x\nb = 2", "c = a + b")
    extracted = extract_submission(path, spec)
    assert [cell.index for cell in extracted.cells] == [1, 2, 3]
    assert extracted.cells[1].source == "pass\nb = 2"
    assert extracted.student == "alice"
    assert extracted.kind == "notebook"


def test_hash_ignores_outputs_but_not_code(tmp_path, spec):
    first = write_notebook(tmp_path / "a.ipynb", "x = 1")
    notebook = nbformat.read(str(first), as_version=4)
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="noise")]
    nbformat.write(notebook, str(tmp_path / "b.ipynb"))
    changed = write_notebook(tmp_path / "c.ipynb", "x = 2")
    hashes = [extract_submission(p, spec).sha256 for p in (first, tmp_path / "b.ipynb", changed)]
    assert hashes[0] == hashes[1] != hashes[2]


def test_python_file_split_on_cell_markers(tmp_path, spec):
    path = tmp_path / "bob.py"
    path.write_text("import torch\n# %%\ndef f():\n    return 1\n# In[3]:\nprint(f())\n")
    extracted = extract_submission(path, spec)
    assert extracted.kind == "python"
    assert len(extracted.cells) == 3
    assert extracted.cells[1].source.strip().endswith("return 1")


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "invalid JSON at line 1"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (json.dumps({"cells": "nope"}).encode(), "not a valid notebook"),
])
def test_not_a_notebook_is_a_one_line_error_naming_the_file(tmp_path, spec, content, reason):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(ExtractionError) as error:
        extract_submission(path, spec)
    message = str(error.value)
    assert str(path) in message and reason in message and "\n" not in message


def test_oversized_notebook_refused_before_reading(tmp_path, spec):
    path = tmp_path / "huge.ipynb"
    with path.open("wb") as handle:
        handle.truncate(int(spec.extraction.max_notebook_mb * 1e6) + 10)
    with pytest.raises(ExtractionError, match="over the 100 MB limit"):
        extract_submission(path, spec)


def test_lines_split_only_where_python_splits_them():
    source = "# pasted\u2028from a page\nx = 1\r\ny = 2\rz = 3\x0c\n\x0cw = 4\u2029# done"
    assert split_lines(source) == ["# pasted\u2028from a page", "x = 1", "y = 2", "z = 3\x0c", "\x0cw = 4\u2029# done"]
    code, notes = neutralise("%matplotlib inline\n# see\u2028also x = undefined\nx = 1")
    namespace = {}
    exec(compile(code, "cell", "exec"), namespace)
    assert namespace["x"] == 1 and notes == ["not run: %matplotlib inline"]


def test_python_file_with_u2028_in_a_comment_keeps_it_in_the_comment(tmp_path, spec):
    path = tmp_path / "carol.py"
    path.write_text("# note\u2028return 5\ndef answer():\n    return 42\n", encoding="utf-8")
    cells = extract_submission(path, spec).cells
    assert len(cells) == 1 and cells[0].source.count("\n") == 2
    compile(cells[0].source, "cell", "exec")


@pytest.mark.parametrize("magic, expected", [
    ("%%writefile helpers.py", ("helpers.py", False)),
    ("%%writefile -a helpers.py", ("helpers.py", True)),
    ("%%writefile --append data/notes.txt", ("data/notes.txt", True)),
    ("%%file helpers.py", ("helpers.py", False)),
    ("%%writefile ../outside.py", None),
    ("%%writefile /etc/passwd", None),
    ("%%writefile ~/x.py", None),
    ("%%writefile {name}.py", None),
    ("%%writefile $name", None),
    ("%%writefile a.py b.py", None),
    ("%%writefile", None),
    ("%%writefile 'unclosed", None),
])
def test_writefile_names_only_files_inside_the_working_folder(magic, expected):
    assert writefile_target(magic) == expected


def test_writefile_cell_becomes_code_that_writes_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    body = "def f():\n    return '\u2028'  # odd\n"
    for source in ("%%writefile helpers.py\n" + body, "%%writefile -a helpers.py\nX = 1\n"):
        code, notes = neutralise(source)
        exec(compile(code, "cell", "exec"), {})
    assert (tmp_path / "helpers.py").read_text(encoding="utf-8") == body + "X = 1\n"
    assert notes == ["%%writefile helpers.py: the file is written into the working folder"]
    skipped, notes = neutralise("%%writefile ../escape.py\nx = 1")
    assert "escape" not in skipped and notes == ["%%writefile cell not run"]


def test_cells_carry_their_place_among_all_cells_and_their_execution_count(tmp_path, spec):
    notebook = new_notebook(cells=[new_markdown_cell("# hw"), new_code_cell("a = 1", execution_count=3),
                                   new_markdown_cell("text"), new_code_cell("%pip install x\nb = 2")])
    path = tmp_path / "dave.ipynb"
    nbformat.write(notebook, str(path))
    cells = extract_submission(path, spec).cells
    assert [(cell.index, cell.position, cell.execution_count) for cell in cells] == [(1, 2, 3), (2, 4, None)]
    assert [cell.label for cell in cells] == ["cell 2 (In [3])", "cell 4"]
    assert extract_submission(path, spec).notes == ["cell 4: not run: %pip install x"]


def test_outputs_and_attachments_do_not_count_but_code_is_capped(tmp_path, spec):
    notebook = new_notebook(cells=[new_markdown_cell("# hw"), new_code_cell("x = 1")])
    notebook.cells[0]["attachments"] = {"a.png": {"image/png": "A" * 3_000_000}}
    notebook.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "B" * 3_000_000})]
    nbformat.write(notebook, str(tmp_path / "plots.ipynb"))
    assert [cell.source for cell in extract_submission(tmp_path / "plots.ipynb", spec).cells] == ["x = 1"]

    write_notebook(tmp_path / "many.ipynb", *["x = 1"] * (MAX_CODE_CELLS + 1))
    with pytest.raises(ExtractionError, match=f"many.ipynb has {MAX_CODE_CELLS + 1} code cells; the limit is "
                                              f"{MAX_CODE_CELLS} "):
        extract_submission(tmp_path / "many.ipynb", spec)
    write_notebook(tmp_path / "pasted.ipynb", "data = '" + "7" * MAX_CODE_BYTES + "'")
    with pytest.raises(ExtractionError, match=r"pasted.ipynb has 2.0 MB of code; the limit is 2 MB of code"):
        extract_submission(tmp_path / "pasted.ipynb", spec)


def test_a_lone_surrogate_in_the_code_is_a_one_line_error(tmp_path, spec):
    path = tmp_path / "odd.ipynb"
    path.write_text('{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code", '
                    '"metadata": {}, "outputs": [], "execution_count": null, "source": "x = \\"\\ud800\\""}]}')
    with pytest.raises(ExtractionError, match="not valid text"):
        extract_submission(path, spec)


def test_an_old_format_notebook_is_upgraded(tmp_path, spec):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "markdown", "source": "# hw", "metadata": {}},
        {"cell_type": "code", "input": "y = 2", "language": "python", "outputs": [{"output_type": "pyout",
         "prompt_number": 1, "text": "2", "metadata": {}}], "prompt_number": 1, "metadata": {}}]}]}))
    cells = extract_submission(path, spec).cells
    assert [(cell.source, cell.label) for cell in cells] == [("y = 2", "cell 2 (In [1])")]


def test_support_files_travel_as_a_first_cell_that_writes_them_read_only(tmp_path, monkeypatch):
    shipped = load_assignment("shipped", TEST_ASSIGNMENTS)
    extracted = extract_submission(write_notebook(tmp_path / "eve.ipynb", "import helper"), shipped)
    setup = extracted.cells[0]
    assert setup.setup and setup.index == 0 and setup.label == "the assignment's support files"
    assert [cell.index for cell in extracted.cells] == [0, 1]
    monkeypatch.chdir(tmp_path)
    exec(compile(setup.source, "setup", "exec"), {})
    assert (tmp_path / "helper.py").read_bytes() == (shipped.root / "helper.py").read_bytes()
    assert (tmp_path / "data" / "numbers.txt").read_text() == "7\n11\n"
    assert (tmp_path / "helper.py").stat().st_mode & 0o222 == 0
    plain = extract_submission(tmp_path / "eve.ipynb", load_assignment("toy", TEST_ASSIGNMENTS))
    assert plain.sha256 != extracted.sha256  # a changed helper.py is a changed submission: graded again


@pytest.mark.parametrize("entry, message", [
    ('"../secret.py"', "name a file inside the assignment folder"),
    ('"/etc/passwd"', "name a file inside the assignment folder"),
    ('"checks/hidden/test_hidden.py"', "the checks never reach the student's code"),
    ('"missing.py"', "support_files: missing.py is not a file in"),
    ('"big.bin"', "support_files: 2.0 MB in all; the limit is 2 MB"),
])
def test_support_files_must_be_public_files_of_the_assignment(tmp_path, entry, message):
    folder = tmp_path / "bad"
    (folder / "checks" / "hidden").mkdir(parents=True)
    (folder / "checks" / "hidden" / "test_hidden.py").write_text("")
    (folder / "big.bin").write_bytes(b"\0" * (MAX_SUPPORT_FILES_BYTES + 1))
    (folder / "assignment.toml").write_text(f'title = "t"\nnotebook = "t.ipynb"\npoints = 1\nsupport_files = [{entry}]\n')
    with pytest.raises(GraderError, match=re.escape(message)):
        load_assignment("bad", tmp_path)
