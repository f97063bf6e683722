import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.extract import ExtractionError, extract_submission, neutralise
from grader.spec import load_assignment


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
