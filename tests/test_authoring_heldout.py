"""Masters written the way an intro PyTorch course writes them in nbgrader's and otter's formats (not the
conformance suite's): each authored, validated, released and used to grade students who filled in the released
template with known mistakes. Every score is the one the tool's own rule gives (nbgrader: a grade cell passes or
fails whole; otter: a question's points shared by its cases unless a case gives its own, hidden cases counted),
and nothing a student receives holds a solution line or a hidden test."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from conftest import run_grader
from test_authoring import MASTERS
from test_authoring_conformance import assert_none_in


class FilledCourse:
    """One master authored, validated and released; students are the template with some cells replaced."""

    def __init__(self, root: Path, master: str, assignment: str, students: dict[str, dict[int, str]]):
        self.root, self.assignment = root, assignment
        self.home = root / "assignments" / assignment
        self.authored = run_grader("author", str(MASTERS / master), str(self.home))
        assert self.authored.returncode == 0, self.authored.stdout + self.authored.stderr
        self.validated = run_grader("validate", assignment, "--assignments", str(root / "assignments"),
                                    "--device", "cpu")
        self.released_result = run_grader("release", assignment, str(root / "bundle"), "--assignments",
                                          str(root / "assignments"))
        folder = root / "students"
        folder.mkdir()
        paths = []
        for name, answers in students.items():
            notebook = nbformat.read(str(self.home / f"{assignment}.ipynb"), as_version=4)
            for index, source in answers.items():
                notebook.cells[index].source = source
            paths.append(folder / f"{name}.ipynb")
            nbformat.write(notebook, str(paths[-1]))
        self.db = f"sqlite:///{root / 'g.db'}"
        graded = run_grader("grade", assignment, *map(str, paths), "--assignments", str(root / "assignments"),
                            "--db", self.db, "--json", str(root / "out.json"), "--workers", "1", "--device", "cpu",
                            "--allow-unisolated")
        assert graded.returncode == 0, graded.stdout + graded.stderr
        self.verdicts = {Path(item["submission"]).stem: item for item in json.loads((root / "out.json").read_text())}
        self.feedback_result = run_grader("feedback", assignment, str(root / "feedback"), "--format", "md",
                                          "--db", self.db, "--assignments", str(root / "assignments"))
        assert self.feedback_result.returncode == 0, self.feedback_result.stdout + self.feedback_result.stderr
        self.checked = run_grader("check", assignment, str(paths[-1]), cwd=root / "bundle")

    def scores(self) -> dict[str, float]:
        return {name: verdict["score"] for name, verdict in self.verdicts.items()}

    def students_receive(self) -> str:
        """Template, README, the released folder (the wheel excepted), grader check's output."""
        assert self.released_result.returncode == 0, self.released_result.stdout + self.released_result.stderr
        files = [path for path in (self.root / "bundle").rglob("*") if path.is_file() and path.suffix != ".whl"]
        return "\n".join([path.read_text(errors="replace") for path in files]
                         + [(self.home / "README.md").read_text(), self.checked.stdout, self.checked.stderr])

    def feedback(self) -> str:
        pages = sorted((self.root / "feedback").rglob("*.md"))
        assert len(pages) == len(self.verdicts), pages
        return "\n".join(path.read_text() for path in pages)


# --- nbgrader: softmax and one-hot (extension metadata, cell ids, locked helpers, loops and prints) -------------

SOFTMAX = '''def stable_softmax(x):
    """Softmax over the last dimension."""
    shifted = x - x.max(dim=-1, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(dim=-1, keepdim=True)'''
ONE_HOT = '''def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    out[torch.arange(len(labels)), labels] = 1.0
    return out'''
# template cells: 2 helpers (locked), 4 stable_softmax, 8 one_hot
SOFTMAX_STUDENTS = {
    "correct": {4: SOFTMAX, 8: ONE_HOT},
    # no max shift: the visible lines pass, the hidden overflow line fails its cell (3): 2 + 0 + 1 + 2
    "naive": {4: "def stable_softmax(x):\n    return x.exp() / x.exp().sum(dim=-1, keepdim=True)", 8: ONE_HOT},
    # int64 one-hot: the dtype assert fails test_one_hot (1); the hidden cell compares values, passes: 2 + 3 + 2
    "int_one_hot": {4: SOFTMAX, 8: ONE_HOT.replace("num_classes)", "num_classes, dtype=torch.long)").replace(
        "1.0", "1")},
    # softmax over dim 0, and the locked helper edited to pass anything: nbgrader grades with the master's
    # helper, so both softmax cells fail (0 + 0); one_hot right (1 + 2)
    "edited_helper": {2: "def close(a, b, tol=1e-5):\n    return True\n\n\ndef sample(rows, cols, seed=0):\n"
                         "    g = torch.Generator().manual_seed(seed)\n    return torch.randn(rows, cols, generator=g) * 3",
                      4: SOFTMAX.replace("dim=-1", "dim=0"), 8: ONE_HOT},
}


@pytest.fixture(scope="module")
def softmax_course(tmp_path_factory) -> FilledCourse:
    return FilledCourse(tmp_path_factory.mktemp("softmax"), "heldout_nbgrader_softmax.ipynb", "softmax",
                        SOFTMAX_STUDENTS)


def test_nbgrader_softmax_validates(softmax_course):
    assert softmax_course.validated.returncode == 0, softmax_course.validated.stdout
    assert "reference solution: 8/8" in softmax_course.validated.stdout


def test_nbgrader_softmax_scores_each_grade_cell_whole(softmax_course):
    assert softmax_course.scores() == {"correct": 8, "naive": 5, "int_one_hot": 7, "edited_helper": 3}


def test_nbgrader_softmax_gives_students_no_solution_or_hidden_test(softmax_course):
    solutions = ["x.max(dim=-1, keepdim=True).values", "exps / exps.sum", "out[torch.arange(len(labels)), labels]",
                 "the shift does not change the result"]
    hidden = ["1000.0, 1001.0", "overflow on large logits", "torch.tensor([4]), 5", "dtype=torch.long), 2",
              "HIDDEN TESTS"]
    assert_none_in(softmax_course.students_receive(), solutions + hidden)
    assert_none_in(softmax_course.feedback(), hidden)
