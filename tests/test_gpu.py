"""Grading on an NVIDIA GPU. Marked ``cuda`` and skipped where torch sees no CUDA device:

    python -m pytest -q -m cuda tests

The parts that run without a GPU (planning, the sandbox's GPU mounts, skipped device
checks, out-of-memory messages) are in test_devices.py.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

from conftest import REPO, TEST_ASSIGNMENTS, read_json, run_grader, write_notebook
from grader.api import grade_submissions

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")]

HOMEWORKS = ["hw1", "hw2", "hw3", "hw4", "hw5"]
DEVICE_MIXING = Path(__file__).resolve().parent / "data" / "device_mixing"
CORRECT = ("import torch\n\ndef scale(x, factor):\n    return x * factor\n\n"
           "def halves(x):\n    middle = x.shape[0] // 2\n    return x[:middle], x[middle:]\n\n"
           "def answer():\n    return 42\n")


def grade(tmp_path, assignment, paths, **options):
    verdicts = grade_submissions(assignment, [str(p) for p in paths], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                 device="cuda", **options)
    return {verdict.student: verdict for verdict in verdicts}


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_reference_full_marks_and_every_mutant_caught_on_cuda(homework):
    result = run_grader("validate", homework, "--device", "cuda")
    assert "reference solution: 10/10" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_examples_score_the_same_on_cuda_as_on_cpu(homework, tmp_path):
    """expected.json holds the CPU scores (tests/test_assignments.py checks them there)."""
    examples = REPO / "submissions" / homework
    expected = json.loads((examples / "expected.json").read_text())
    result = run_grader("grade", homework, str(examples), "--device", "cuda", "--db",
                        f"sqlite:///{tmp_path / 'g.db'}", "--json", str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    verdicts = {item["submission"].rsplit("/", 1)[-1]: item for item in read_json(tmp_path / "out.json")}
    for name, want in expected.items():
        got = verdicts[name]
        assert got["device"] == "cuda"
        if "status" in want:
            assert got["status"] == want["status"], name
        if "score" in want:
            assert got["score"] == pytest.approx(want["score"]), (name, got["checks"])


def test_a_submission_whose_results_leave_the_gpu_loses_the_device_checks(tmp_path):
    shutil.copy(DEVICE_MIXING / "devices_mixing.ipynb", tmp_path / "mixing.ipynb")
    write_notebook(tmp_path / "correct.ipynb", CORRECT)
    verdicts = grade(tmp_path, "devices", [tmp_path / "mixing.ipynb", tmp_path / "correct.ipynb"],
                     assignments_dir=TEST_ASSIGNMENTS)
    assert verdicts["correct"].score == 3
    assert all(check.message == "" for check in verdicts["correct"].checks)  # nothing skipped on a GPU
    mixing = {check.name: check for check in verdicts["mixing"].checks}
    assert verdicts["mixing"].score == 1 and mixing["test_answer"].passed
    assert mixing["test_scale"].message == "scale(x, 3): your result is on cpu, the input was on cuda:0"
    assert mixing["test_halves"].message == ("halves(x): your results are on different devices (cpu, cuda:0); "
                                             "the input was on cuda:0")


def test_hw2_device_mixing_notebook_loses_points_on_cuda_and_every_lost_check_names_the_device(tmp_path):
    verdict = grade(tmp_path, "hw2", [DEVICE_MIXING / "hw2_device_mixing.ipynb"])["hw2_device_mixing"]
    failed = [check for check in verdict.checks if not check.passed]
    assert verdict.score < 10 and failed
    for check in failed:
        assert "is on cpu, the input was on cuda:0" in check.message or "different devices" in check.message, \
            (check.name, check.message)


def test_out_of_memory_fails_that_check_and_the_next_submission_is_graded_normally(tmp_path):
    shutil.copy(DEVICE_MIXING / "devices_out_of_memory.ipynb", tmp_path / "a_greedy.ipynb")
    write_notebook(tmp_path / "b_next.ipynb", CORRECT)
    verdicts = grade(tmp_path, "devices", [tmp_path / "a_greedy.ipynb", tmp_path / "b_next.ipynb"],
                     assignments_dir=TEST_ASSIGNMENTS, workers=1)
    greedy = {check.name: check for check in verdicts["a_greedy"].checks}
    assert not greedy["test_scale"].passed
    assert greedy["test_scale"].message.startswith(
        "scale(...) ran out of GPU memory: a submission may use 256 MB of GPU memory (cell 3, line 3)")  # cell 3 of the notebook: code cell 2
    assert greedy["test_halves"].passed and greedy["test_answer"].passed  # the same process goes on
    assert verdicts["b_next"].status == "graded" and verdicts["b_next"].score == 3


def test_the_next_submission_cannot_read_what_the_previous_one_left_on_the_gpu(tmp_path):
    size = 100 << 20  # with its comparison's bool tensor, within the 256 MB cap
    write_notebook(tmp_path / "a_writer.ipynb", CORRECT, f"""
secret = torch.full(({size},), 0x5A, dtype=torch.uint8, device="cuda")
torch.cuda.synchronize()
print("WROTE", int((secret == 0x5A).sum()))
""")
    write_notebook(tmp_path / "b_reader.ipynb", CORRECT, f"""
probe = torch.empty(({size},), dtype=torch.uint8, device="cuda")
print("LEFTOVER", int((probe == 0x5A).sum()))
""")
    verdicts = grade(tmp_path, "devices", [tmp_path / "a_writer.ipynb", tmp_path / "b_reader.ipynb"],
                     assignments_dir=TEST_ASSIGNMENTS, workers=1)
    assert f"WROTE {size}" in verdicts["a_writer"].stdout
    leftover = int(verdicts["b_reader"].stdout.split("LEFTOVER", 1)[1].split()[0])
    assert leftover < size // 100, leftover  # chance bytes at most; a leak would be all of them


def test_a_gpu_child_is_seeded_capped_and_deterministic_as_its_assignment_asks(tmp_path):
    probe = write_notebook(tmp_path / "probe.ipynb", CORRECT, """
import os
print("DETERMINISTIC", torch.are_deterministic_algorithms_enabled())
print("CUBLAS", os.environ.get("CUBLAS_WORKSPACE_CONFIG"))
print("DEVICE", torch.cuda.current_device())
print("SEEDS", torch.initial_seed() == torch.cuda.initial_seed())
print("TF32", torch.backends.cuda.matmul.allow_tf32)
try:
    too_big = torch.empty(300 << 20, dtype=torch.uint8, device="cuda")
    print("CAP not applied")
except torch.cuda.OutOfMemoryError:
    print("CAP applied")
""")
    devices = grade(tmp_path, "devices", [probe], assignments_dir=TEST_ASSIGNMENTS)["probe"]
    lines = set(devices.stdout.splitlines())
    assert {"DETERMINISTIC True", "CUBLAS :4096:8", "DEVICE 0", "SEEDS True", "TF32 False",
            "CAP applied"} <= lines, devices.stdout + devices.stderr
    assert devices.score == 3

    write_notebook(tmp_path / "toy_probe.ipynb", "def double(x):\n    return x * 2\n\ndef answer():\n    return 42",
                   "import torch\nprint('DETERMINISTIC', torch.are_deterministic_algorithms_enabled())")
    toy = grade(tmp_path, "toy", [tmp_path / "toy_probe.ipynb"], assignments_dir=TEST_ASSIGNMENTS)["toy_probe"]
    assert "DETERMINISTIC False" in toy.stdout and toy.score == 4


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs")
def test_a_batch_spreads_its_workers_over_every_gpu(tmp_path):
    for index in range(8):
        write_notebook(tmp_path / f"s{index}.ipynb", CORRECT + f"# {index}",
                       "print('DEVICE', torch.cuda.current_device())")
    verdicts = grade(tmp_path, "devices", [tmp_path], assignments_dir=TEST_ASSIGNMENTS, workers=8)
    assert all(verdict.score == 3 and verdict.device == "cuda" for verdict in verdicts.values())
    used = {line for verdict in verdicts.values() for line in verdict.stdout.splitlines() if line.startswith("DEVICE")}
    assert {"DEVICE 0", "DEVICE 1"} <= used
