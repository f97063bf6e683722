"""`grader.check("hw2")` in a real Jupyter kernel (ipykernel, driven by nbclient), as a student runs it."""

import os
import sys

import nbformat
import pytest

from conftest import REPO

nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REFERENCE = (REPO / "reference_solutions" / "hw2.py").read_text()
WRONG_SOFTMAX = "\n\ndef softmax(x):\n    return torch.exp(x)  # not normalised\n"


def run_notebook(folder, *cells, name="hw2.ipynb", session=True, unsaved=()):
    """Save a notebook of ``cells`` in ``folder`` and run it in a fresh kernel there, as Jupyter would;
    ``session``: the kernel knows its notebook (Jupyter's JPY_SESSION_NAME); ``unsaved``: the positions of
    cells that run but are not in the saved file (edited since the last save)."""
    path = folder / name
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    saved = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for index, cell in enumerate(cells)
                                            if index not in unsaved])
    nbformat.write(saved, str(path))
    environment = {key: value for key, value in os.environ.items() if key != "JPY_SESSION_NAME"}
    if session:
        environment["JPY_SESSION_NAME"] = str(path)
    environment["GRADER_ASSIGNMENTS"] = str(REPO / "assignments")
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.km = client.create_kernel_manager()
    client.start_new_kernel(env=environment)
    client.start_new_kernel_client()
    try:
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    finally:
        client._cleanup_kernel()
    last = notebook.cells[-1].outputs
    html = "".join(output.get("data", {}).get("text/html", "") for output in last)
    text = "".join(output.get("text", "") for output in last if output.get("output_type") == "stream")
    return html, text, path


def test_check_in_a_notebook_grades_the_saved_file_and_renders_full_marks(tmp_path):
    html, text, path = run_notebook(tmp_path, REFERENCE, "import grader\ngrader.check('hw2')")
    assert "<table>" in html and "Public score: 6/6." in html
    assert f"graded the saved file {path}, saved at" in html and "it holds the cell you ran last" in html
    assert html.count("✓") == 6 and "✗" not in html
    assert "▸ cell 1" in text  # the cells as they ran in the sandbox


def test_check_in_a_notebook_shows_a_failing_checks_feedback(tmp_path):
    html, _, _ = run_notebook(tmp_path, REFERENCE + WRONG_SOFTMAX, "import grader\ngrader.check('hw2')")
    assert "Public score: 3.5/6." in html  # softmax's two checks and predict_proba's, which uses it
    assert html.count("✗") == 3 and "make rows sum to 1." in html  # the failing check's hint


def test_check_in_a_notebook_says_when_the_saved_file_is_behind_what_ran(tmp_path):
    html, _, path = run_notebook(tmp_path, REFERENCE, "x = 1  # typed and run, not saved yet",
                                 "import grader\ngrader.check('hw2')", unsaved={1})
    assert "the cell you ran last is not in it: save the notebook (Ctrl+S) and check again" in html


def test_check_in_a_kernel_without_a_notebook_grades_the_cells_it_ran(tmp_path):
    html, _, _ = run_notebook(tmp_path, REFERENCE, "import grader\ngrader.check('hw2')", name="scratch.ipynb",
                              session=False)
    assert "graded the cells this kernel has run" in html and "Public score: 6/6." in html


def test_shell_check_from_a_notebook_says_it_grades_the_saved_file(tmp_path):
    _, text, path = run_notebook(tmp_path, REFERENCE, "import sys\n!{sys.executable} -m grader.cli check hw2")
    assert f"this grades the saved file {path} (saved at" in text and "Public score: 6/6." in text


def test_check_in_colab_without_its_live_notebook_says_how_to_name_the_drive_path(monkeypatch, capsys):
    import types

    import grader

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))  # what Colab's kernel has
    assert grader.check("hw2") is None
    err = capsys.readouterr().err
    assert err.startswith("error: in Colab your notebook is in Google Drive") and \
        "grader.check('hw2', '/content/drive/MyDrive/PATH/TO/hw2.ipynb')" in err and err.count("\n") == 1


def test_the_grader_magic_checks_like_grader_check(tmp_path):
    html, _, _ = run_notebook(tmp_path, REFERENCE, "%load_ext grader", "%grader check hw2 --lang ru")
    assert "Баллы за открытые проверки: 6/6." in html and "проверен сохранённый файл" in html


def test_cell_progress_in_a_notebook_is_rewritten_in_place(tmp_path):
    # ipykernel's stdout is never a tty, yet Jupyter draws a \r: the running line stays live there.
    _, text, _ = run_notebook(tmp_path, "import sys\nfrom grader.notebook import rewrites_lines\n"
                                        "print(type(sys.stdout).__module__, sys.stdout.isatty(), rewrites_lines(sys.stdout))")
    assert text.split()[1:] == ["False", "True"], text
