"""The Dataset/DataLoader lesson, kept only as a master notebook (reference_solutions/masters/dataloader.ipynb):
authored into a temporary course, it validates, releases without its secrets, and grades hand-written
students' notebooks (tests/data/dataloader_submissions/) with the scores their mistakes should cost.

Every object the checks use (a dataset, a loader, a split) is built in the student's process; only data
comes back (``remote.collect()``, ``remote.call("__len__")``, a Subset's items).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, read_json, run_grader

MASTER = REPO / "reference_solutions" / "masters" / "dataloader.ipynb"
SUBMISSIONS = Path(__file__).resolve().parent / "data" / "dataloader_submissions"
PUBLIC = ["test_dataset_length_and_items", "test_loader_keeps_order", "test_loader_shuffles_by_seed",
          "test_count_batches"]
HIDDEN = ["test_dataset_transform", "test_dataset_dtypes", "test_loader_drop_last", "test_class_counts",
          "test_split_train_val"]


def master_cells() -> list:
    return nbformat.read(str(MASTER), as_version=4).cells


def declared_mistakes() -> list[str]:
    config = next(cell.source for cell in master_cells() if cell.source.startswith("# grader: config"))
    text = "\n".join(re.sub(r"^# ?", "", line) for line in config.splitlines()[1:])
    return [mistake["name"] for mistake in tomllib.loads(text)["mistake"]]


def solution_lines() -> list[str]:
    """Each line of the master's solution regions, less those the students are shown anyway (the Markdown,
    the public checks: e.g. the README's `generator=torch.Generator().manual_seed(seed)`)."""
    shown = "\n".join(cell.source for cell in master_cells()
                      if cell.cell_type == "markdown" or cell.source.startswith("# grader: check public"))
    lines, inside = [], False
    for cell in master_cells():
        for line in cell.source.splitlines():
            if line.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
                inside = line.strip() == "# BEGIN SOLUTION"
            elif inside and line.strip() and line.strip() not in shown:
                lines.append(line.strip())
    return lines


def bundle_text(bundle: Path) -> str:
    """Every file of a release as text, the members of its wheel too."""
    texts = []
    for path in sorted(bundle.rglob("*")):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                texts += [wheel.read(name).decode(errors="replace") for name in wheel.namelist()]
        elif path.is_file():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    result = run_grader("author", str(MASTER), str(course / "assignments" / "dataloader"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 checks, 10 points, 18 planted mistakes" in result.stdout
    assert "no Russian" not in result.stdout + result.stderr
    return course


@pytest.fixture(scope="module")
def verdicts(course, tmp_path_factory) -> dict[str, dict]:
    """The reference, the template and the students' notebooks, graded in one batch."""
    folder = tmp_path_factory.mktemp("graded")
    shutil.copyfile(course / "reference_solutions" / "dataloader.py", folder / "reference.py")
    shutil.copyfile(course / "assignments" / "dataloader" / "dataloader.ipynb", folder / "template.ipynb")
    for notebook in SUBMISSIONS.glob("*.ipynb"):
        shutil.copyfile(notebook, folder / notebook.name)
    result = run_grader("grade", "dataloader", str(folder), "--assignments", str(course / "assignments"),
                        "--db", f"sqlite:///{folder / 'g.db'}", "--json", str(folder / "out.json"),
                        "--workers", "1", "--device", "cpu", "--allow-unisolated")
    assert result.returncode == 0, result.stdout + result.stderr
    graded = {Path(item["submission"]).name: item for item in read_json(folder / "out.json")}
    assert all(item["status"] == "graded" for item in graded.values()), graded
    return graded


def failed(verdict: dict) -> dict[str, str]:
    return {check["name"]: check["message"] for check in verdict["checks"] if not check["passed"]}


def test_the_master_lives_with_the_solutions_and_its_folder_is_not_committed():
    assert MASTER.parent.parent.name == "reference_solutions"
    assert not (REPO / "assignments" / "dataloader").exists()  # the folder is authored, never committed


def test_the_folder_validates_and_every_planted_mistake_loses_points(course):
    result = run_grader("validate", "dataloader", "--assignments", str(course / "assignments"), "--device", "cpu")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reference solution: 10/10" in result.stdout
    assert "18/18 mutants caught" in result.stdout
    mistakes = (course / "assignments" / "dataloader" / "mistakes.toml").read_text()
    for name in declared_mistakes():
        assert f'name = "{name}"' in mistakes, name
    assert len(declared_mistakes()) == 11


def test_the_release_holds_no_solution_line_and_no_hidden_check(course, tmp_path):
    bundle = tmp_path / "bundle"
    result = run_grader("release", "dataloader", str(bundle), "--assignments", str(course / "assignments"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "public checks 5/5 on the reference, 5 hidden checks kept back" in result.stdout
    assert "5 recorded reference answers" in result.stdout
    everything = bundle_text(bundle)
    secrets = solution_lines()
    assert len(secrets) >= 20, secrets
    for line in secrets:
        assert line not in everything, line
    for name in HIDDEN + declared_mistakes():
        assert name not in everything, name
    hidden = (course / "assignments" / "dataloader" / "checks" / "hidden" / "test_dataloader_hidden.py").read_text()
    assert "reference.split_train_val(TensorDataset(X, ids), 0.25, 3)" in hidden
    assert "reference.split_train_val" not in everything


def test_the_released_public_checks_replay_the_reference_for_a_student(course, tmp_path):
    bundle = tmp_path / "bundle"
    assert run_grader("release", "dataloader", str(bundle), "--assignments", str(course / "assignments")).returncode == 0
    shutil.copyfile(SUBMISSIONS / "global_seed_count_by_division.ipynb", bundle / "dataloader.ipynb")
    # a wide terminal, so each check's message is one line of the table
    result = subprocess.run([sys.executable, "-m", "grader.cli", "check", "dataloader"], capture_output=True,
                            text=True, cwd=bundle, timeout=600, env={**os.environ, "COLUMNS": "400"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Public score: 3/5. 5 hidden checks run at grading time." in result.stdout
    assert "a DataLoader with generator=torch.Generator().manual_seed(7) gives [1, 9, 15" in result.stdout
    assert "count_batches(loader) for 10 samples in batches of 4 returned int 2, expected 3" in result.stdout


def test_the_reference_scores_10(verdicts):
    assert verdicts["reference.py"]["score"] == verdicts["reference.py"]["max_score"] == 10
    assert failed(verdicts["reference.py"]) == {}


def test_the_template_scores_0(verdicts):
    assert verdicts["template.ipynb"]["score"] == 0
    assert sorted(failed(verdicts["template.ipynb"])) == sorted(PUBLIC + HIDDEN)


def test_a_len_one_short_and_labels_left_int32_score_7(verdicts):
    verdict = verdicts["len_short_labels_as_given.ipynb"]
    assert verdict["score"] == 7
    messages = failed(verdict)
    assert sorted(messages) == ["test_dataset_dtypes", "test_dataset_length_and_items"]
    assert "returned int 11, expected 12" in messages["test_dataset_length_and_items"]
    assert "dtype is torch.int32, expected torch.int64" in messages["test_dataset_dtypes"]


def test_a_global_seed_and_batches_counted_by_division_score_8(verdicts):
    verdict = verdicts["global_seed_count_by_division.ipynb"]
    assert verdict["score"] == 8
    messages = failed(verdict)
    assert sorted(messages) == ["test_count_batches", "test_loader_shuffles_by_seed"]
    assert "under seed=7 your loader gave the samples in the order" in messages["test_loader_shuffles_by_seed"]
    assert "returned int 2, expected 3" in messages["test_count_batches"]


def test_pixels_over_255_overwritten_counts_and_a_swapped_split_score_7(verdicts):
    verdict = verdicts["scale_255_counts_overwritten_split_swapped.ipynb"]
    assert verdict["score"] == 7
    assert sorted(failed(verdict)) == ["test_class_counts", "test_dataset_transform", "test_split_train_val"]


def test_a_transformed_label_and_a_missing_import_score_8(verdicts):
    verdict = verdicts["transform_on_label_no_random_split.ipynb"]
    assert verdict["score"] == 8
    messages = failed(verdict)
    assert sorted(messages) == ["test_dataset_transform", "test_split_train_val"]
    assert "dtype is torch.float32, expected torch.int64" in messages["test_dataset_transform"]
    assert "NameError: name 'random_split' is not defined" in messages["test_split_train_val"]
