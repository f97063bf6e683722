"""Notebooks as students save them, graded through the real sandbox, judge and SQLite.

Each notebook starts from the course's correct hw2 notebook and changes one thing students
really do: a comment pasted from a web page, plots saved in the outputs, matplotlib, a
``%%writefile`` helper module, a module the sandbox lacks, scratch cells by the thousand.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, run_grader, write_notebook
from grader.extract import MAX_CODE_CELLS
from grader.api import check_notebook, grade_submissions
from grader.release import release_assignment

HW2_CORRECT = REPO / "submissions" / "hw2" / "correct.ipynb"
SIGMOID_CELL = 5  # the cell that defines sigmoid, among all cells of correct.ipynb (it shows In [3])


def hw2_notebook() -> dict:
    return json.loads(HW2_CORRECT.read_text())


def code_cell(source: str, execution_count: int | None = None) -> dict:
    return {"cell_type": "code", "execution_count": execution_count, "id": uuid.uuid4().hex[:8], "metadata": {},
            "outputs": [], "source": source}


def cell_source(notebook: dict, position: int) -> str:
    source = notebook["cells"][position - 1]["source"]
    return "".join(source) if isinstance(source, list) else source


def save(notebook: dict, path: Path) -> Path:
    path.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    return path


def with_u2028_comment(folder: Path) -> Path:
    notebook = hw2_notebook()
    sigmoid = cell_source(notebook, SIGMOID_CELL)
    # Pasted from a web page: U+2028 (line separator) and a form feed inside comments.
    notebook["cells"][SIGMOID_CELL - 1]["source"] = (
        "# the logistic function, see the lecture notes\u2028return 1 / (1 + exp(-x)) is the formula\n"
        "# \x0c page break from a PDF\u2029next paragraph\n" + sigmoid)
    return save(notebook, folder / "u2028.ipynb")


def with_big_outputs(folder: Path) -> Path:
    notebook = hw2_notebook()
    plot = base64.b64encode(os.urandom(2_400_000)).decode()  # a 3.2 MB PNG, as base64, in every code cell
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"image/png": plot, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]
        else:
            cell["attachments"] = {"plot.png": {"image/png": plot[:1_000_000]}}
    return save(notebook, folder / "big_outputs.ipynb")


def with_matplotlib(folder: Path) -> Path:
    notebook = hw2_notebook()
    # The course's first cell: matplotlib imported, then the functions defined in the same cell.
    notebook["cells"][SIGMOID_CELL - 1]["source"] = (
        "import matplotlib.pyplot as plt\nimport numpy as np\n\n" + cell_source(notebook, SIGMOID_CELL)
        + "\n\nxs = torch.linspace(-6, 6, 50)\nplt.plot(xs.numpy(), sigmoid(xs).numpy())\nplt.title('sigmoid')\n"
        "plt.savefig('sigmoid.png')\nplt.show()\n")
    return save(notebook, folder / "matplotlib.ipynb")


def with_writefile(folder: Path) -> Path:
    notebook = hw2_notebook()
    sigmoid = cell_source(notebook, SIGMOID_CELL)
    notebook["cells"][SIGMOID_CELL - 1]["source"] = "%%writefile activations.py\nimport torch\n\n" + sigmoid
    notebook["cells"].insert(SIGMOID_CELL, code_cell("%%writefile -a activations.py\n\nLIMIT = 1000\n"))
    notebook["cells"].insert(SIGMOID_CELL + 1, code_cell("from activations import sigmoid, LIMIT\nassert LIMIT == 1000"))
    return save(notebook, folder / "writefile.ipynb")


def with_missing_module(folder: Path) -> Path:
    notebook = hw2_notebook()
    notebook["cells"][SIGMOID_CELL - 1]["source"] = "import seaborn as sns\n" + cell_source(notebook, SIGMOID_CELL)
    return save(notebook, folder / "missing_module.ipynb")


def with_many_cells(folder: Path) -> Path:
    notebook = hw2_notebook()
    notebook["cells"] += [code_cell("x = 1") for _ in range(100_000)]
    return save(notebook, folder / "many_cells.ipynb")


@pytest.fixture(scope="module")
def hw2_verdicts(tmp_path_factory):
    """Every hw2 notebook of this file, graded in one batch (public and hidden checks) into SQLite."""
    folder = tmp_path_factory.mktemp("hw2_notebooks")
    for build in (with_u2028_comment, with_big_outputs, with_matplotlib, with_writefile, with_missing_module,
                  with_many_cells):
        build(folder)
    url = f"sqlite:///{folder / 'grades.db'}"
    verdicts = grade_submissions("hw2", [folder], db_url=url)
    return {verdict.student: verdict for verdict in verdicts}


def full_marks(verdict) -> bool:
    return verdict.status == "graded" and verdict.max_score == 10 and verdict.score == 10


def test_a_comment_pasted_with_u2028_and_form_feeds_scores_full_marks(hw2_verdicts):
    verdict = hw2_verdicts["u2028"]
    assert full_marks(verdict), [(check.name, check.message) for check in verdict.checks]
    assert all(cell.status == "ok" for cell in verdict.cells), verdict.cells


def test_a_30_mb_notebook_of_plots_scores_full_marks(hw2_verdicts):
    path = Path(hw2_verdicts["big_outputs"].submission)
    assert path.stat().st_size > 30e6
    assert full_marks(hw2_verdicts["big_outputs"]), hw2_verdicts["big_outputs"].message


def test_100000_code_cells_are_refused_naming_the_limit(hw2_verdicts):
    verdict = hw2_verdicts["many_cells"]
    assert verdict.status == "error" and verdict.score == 0
    assert f"many_cells.ipynb has 100009 code cells; the limit is {MAX_CODE_CELLS}" in verdict.message
    assert "sandbox" not in verdict.message and "\n" not in verdict.message


def test_matplotlib_in_the_first_cell_with_plt_show_scores_full_marks_quickly(hw2_verdicts):
    verdict = hw2_verdicts["matplotlib"]
    assert full_marks(verdict), [(cell.index, cell.error) for cell in verdict.cells if cell.error]
    plotting = next(cell for cell in verdict.cells if cell.index == 3)  # the sigmoid cell, now with the plot
    assert plotting.status == "ok" and plotting.seconds < 15  # plt.show() drew nothing on a screen, never waited


def test_writefile_then_import_scores_full_marks(hw2_verdicts):
    verdict = hw2_verdicts["writefile"]
    assert full_marks(verdict), [(cell.index, cell.error) for cell in verdict.cells if cell.error]
    assert all(cell.status == "ok" for cell in verdict.cells)


def test_a_module_the_sandbox_lacks_is_named_and_the_rest_of_its_cell_said_not_run(hw2_verdicts):
    verdict = hw2_verdicts["missing_module"]
    failed = [cell for cell in verdict.cells if cell.status != "ok"]
    assert failed[0].index == 3 and failed[0].error.type == "ModuleNotFoundError"
    assert failed[0].error.where == f"cell {SIGMOID_CELL} (In [3]), line 1"
    assert failed[0].error.message == (
        "No module named 'seaborn': the grader's sandbox does not have it; the rest of cell 5 (In [3]) did not "
        "run, so nothing it defines after the failed import exists")
    sigmoid_checks = [check for check in verdict.checks if "sigmoid" in check.name]
    assert sigmoid_checks and not any(check.passed for check in sigmoid_checks)


def test_cells_are_named_by_their_place_among_all_cells_and_their_in_number(tmp_path):
    notebook = hw2_notebook()
    # Cell 5 (In [3]) raises at its top level; cell 8 (In [4]) defines a softmax that raises when called.
    notebook["cells"][SIGMOID_CELL - 1]["source"] = cell_source(notebook, SIGMOID_CELL) + "\n\nprint(1 / 0)"
    notebook["cells"][7]["source"] = "def softmax(x):\n    return x.no_such_method()"
    verdict = grade_submissions("hw2", [save(notebook, tmp_path / "named.ipynb")],
                                db_url=f"sqlite:///{tmp_path / 'g.db'}")[0]
    raised = {cell.index: cell.error.where for cell in verdict.cells if cell.status != "ok"}
    assert raised[3] == "cell 5 (In [3]), line 6"
    assert raised[6] == "cell 8 (In [4]), line 2"  # cell 9 calls the softmax of cell 8, which raised there
    softmax = next(check for check in verdict.checks if not check.passed and "softmax" in check.name)
    assert "(cell 8 (In [4]), line 2)" in softmax.message, softmax.message
    shown = run_grader("check", "hw2", str(tmp_path / "named.ipynb"))  # what the student reads
    assert "cell 5 (In [3]), line 6: ZeroDivisionError: division by zero" in shown.stdout, shown.stdout
    assert "code cell" not in shown.stdout


def test_support_files_of_the_assignment_are_importable_and_read_only(tmp_path):
    path = write_notebook(
        tmp_path / "uses_helper.ipynb",
        "from helper import scale\n\ndef scaled(x):\n    return scale(x)",
        "def first_number():\n    with open('data/numbers.txt') as numbers:\n        return int(numbers.readline())",
        "open('helper.py', 'w').write('SCALE = 0')")
    verdict = grade_submissions("shipped", [path], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                assignments_dir=TEST_ASSIGNMENTS)[0]
    assert verdict.status == "graded" and verdict.score == verdict.max_score == 2, verdict.checks
    overwrite = [cell for cell in verdict.cells if cell.status != "ok"]
    assert [cell.error.type for cell in overwrite] == ["PermissionError"]
    assert overwrite[0].error.where == "cell 4, line 1"


def test_no_warning_of_the_grader_reaches_the_student(tmp_path):
    notebook = hw2_notebook()
    notebook["nbformat_minor"] = 5  # saved by a tool that wrote no cell ids: nbformat warns about that
    for cell in notebook["cells"]:
        cell.pop("id", None)
    save(notebook, tmp_path / "hw2.ipynb")
    started = time.monotonic()
    result = run_grader("check", "hw2", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Public score: 6/6." in result.stdout
    assert "Warning" not in result.stderr and "site-packages" not in result.stderr, result.stderr
    assert time.monotonic() - started < 120


def test_a_released_bundle_carries_the_support_files_and_grader_check_uses_them(tmp_path):
    report = release_assignment("shipped", tmp_path / "bundle", assignments_dir=TEST_ASSIGNMENTS)
    assert {"helper.py", "data/numbers.txt", "assignments/shipped/helper.py",
            "assignments/shipped/data/numbers.txt"} <= set(report.files)
    bundle = tmp_path / "bundle"
    notebook = write_notebook(bundle / "shipped.ipynb", "from helper import scale\n\ndef scaled(x):\n    return scale(x)",
                              "def first_number():\n    return int(open('data/numbers.txt').readline())")
    verdict = check_notebook("shipped", notebook, assignments_dir=bundle / "assignments")
    assert verdict.status == "graded" and verdict.score == verdict.max_score == 2, verdict.checks
