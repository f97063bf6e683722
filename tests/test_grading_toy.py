"""Real notebooks through the real sandbox, judge and SQLite, on a tiny assignment."""

import os
import sqlite3

import pytest

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader.api import grade_submissions
from grader.sandbox import cgroups
from grader.sandbox.inside import landlock
from grader.sandbox.layers import LAYER_NAMES, detect_layers
from grader.store import Gradebook

CORRECT = "import torch\n\ndef double(x):\n    return x + x\n\ndef answer():\n    return 42\n"


def grade(tmp_path, *paths, db="grades.db"):
    url = f"sqlite:///{tmp_path / db}"
    verdicts = grade_submissions("toy", [str(p) for p in paths], db_url=url, assignments_dir=TEST_ASSIGNMENTS)
    return {v.student: v for v in verdicts}, url


def test_batch_with_broken_cells_hangs_crashes_and_a_non_notebook(tmp_path):
    write_notebook(tmp_path / "correct.ipynb", "%matplotlib inline\n!pip install nothing", CORRECT)
    write_notebook(tmp_path / "scratch.ipynb", CORRECT, "print(undefined_name)", "def broken(:\n    pass",
                   "import module_that_needs_the_network")
    write_notebook(tmp_path / "stub.ipynb",
                   "def double(x):\n    raise NotImplementedError\n\ndef answer():\n    raise NotImplementedError")
    write_notebook(tmp_path / "hangs.ipynb", "def double(x):\n    return 2 * x",
                   "def answer():\n    while True:\n        pass")
    write_notebook(tmp_path / "toplevel_loop.ipynb", "while True:\n    pass", CORRECT)
    write_notebook(tmp_path / "exits.ipynb", "import os\nos._exit(3)", CORRECT)
    write_notebook(tmp_path / "float_only.ipynb", "def double(x):\n    return x * 2.0\n\ndef answer():\n    return 42")
    (tmp_path / "notes.ipynb").write_text("this is not a notebook")
    (tmp_path / "plain.py").write_text(CORRECT)

    verdicts, url = grade(tmp_path, tmp_path)

    assert len(verdicts) == 9
    assert verdicts["correct"].score == 4 and verdicts["correct"].max_score == 4
    assert verdicts["plain"].score == 4

    scratch = verdicts["scratch"]
    assert scratch.score == 4
    errors = {cell.index: cell for cell in scratch.cells if cell.status != "ok"}
    assert errors[2].error.type == "NameError"
    assert errors[3].error.type == "SyntaxError"
    assert errors[4].error.type == "ModuleNotFoundError"

    stub = verdicts["stub"]
    assert stub.score == 0
    assert "double(...) raised NotImplementedError" in stub.checks[0].message

    hangs = verdicts["hangs"]
    assert hangs.score == 3
    failed = [check for check in hangs.checks if not check.passed]
    assert [check.name for check in failed] == ["test_answer"]
    assert "did not return within 3 s" in failed[0].message

    toplevel = verdicts["toplevel_loop"]
    assert toplevel.score == 4
    assert toplevel.cells[0].status == "timeout"

    exits = verdicts["exits"]
    assert exits.score == 4
    assert exits.cells[0].status == "crashed" and "exit code 3" in exits.cells[0].error.message

    float_only = verdicts["float_only"]
    assert float_only.score == 3
    message = next(check.message for check in float_only.checks if check.name == "test_double_int")
    assert "dtype is torch.float32, expected torch.int64" in message

    notes = verdicts["notes"]
    assert notes.status == "error" and "not a notebook" in notes.message and notes.score == 0

    rows = sqlite3.connect(tmp_path / "grades.db").execute(
        "select s.student, r.status, r.score, r.max_score from runs r join submissions s on s.id = r.submission_id"
    ).fetchall()
    assert sorted(rows) == sorted((v.student, v.status, v.score, 4.0) for v in verdicts.values())
    checks = sqlite3.connect(tmp_path / "grades.db").execute(
        "select count(*), sum(passed) from check_results").fetchone()
    assert checks == (8 * 4, sum(sum(c.passed for c in v.checks) for v in verdicts.values()))


def test_grading_again_adds_a_run_and_overwrites_nothing(tmp_path):
    path = write_notebook(tmp_path / "alice.ipynb", CORRECT)
    grade(tmp_path, path)
    write_notebook(path, "def double(x):\n    return x\n\ndef answer():\n    return 42")
    grade(tmp_path, path)
    gradebook = Gradebook(f"sqlite:///{tmp_path / 'grades.db'}")
    history = gradebook.history("toy", "alice")
    assert [run.score for run in history] == [4, 1]
    assert [v.score for v in gradebook.latest("toy")] == [1]
    assert history[0].sha256 != history[1].sha256
    # Each stored run records the layers its sandbox had: the same machine, the same layers.
    assert history[1].layers["bubblewrap"] is detect_layers().bwrap
    assert history[1].layers == history[0].layers
    gradebook.close()


# What each layer needs of this machine; a layer is asserted present wherever its precondition holds.
BWRAP = detect_layers().bwrap
LAYER_PRECONDITIONS = {
    "bubblewrap": (BWRAP, "bubblewrap does not work here"),
    "network_namespace": (BWRAP, "bubblewrap does not work here"),
    "filesystem_isolation": (BWRAP, "bubblewrap does not work here"),
    "unprivileged_uid": (BWRAP or os.getuid() != 0, "grading as root without bubblewrap"),
    "subreaper": (True, ""),
    "landlock": (landlock.abi_version() >= 1 and os.environ.get("GRADER_NO_LANDLOCK") != "1",
                 "this kernel has no Landlock"),
    "rlimits": (True, ""),
    "cgroup_limits": (cgroups.available(), "no writable cgroup v1 pids and memory controllers here"),
    "scrubbed_environment": (True, ""),
    "cgroup_per_submission": (cgroups.available(), "no writable cgroup v1 pids and memory controllers here"),
    "cpu_share_per_submission": (cgroups.available() and os.environ.get("GRADER_NO_CPU_CGROUP") != "1",
                                 "no writable cgroup v1 cpu controller here"),
    "ipc_namespace_per_submission": (BWRAP, "no user namespaces for the submission's own IPC namespace"),
    "session_keyring_per_submission": (BWRAP, "no user namespaces for the submission's own keyrings"),
}


@pytest.fixture(scope="module")
def recorded_layers(tmp_path_factory) -> dict[str, bool]:
    folder = tmp_path_factory.mktemp("layers")
    verdicts, _ = grade(folder, write_notebook(folder / "layers.ipynb", CORRECT))
    assert verdicts["layers"].score == 4
    return verdicts["layers"].layers


def test_every_layer_is_recorded_with_every_run(recorded_layers):
    assert set(recorded_layers) == set(LAYER_NAMES) | {"allowed_unisolated"}
    assert set(LAYER_PRECONDITIONS) == set(LAYER_NAMES)


@pytest.mark.parametrize("layer", sorted(LAYER_NAMES))
def test_the_sandbox_has_each_layer_this_machine_gives(recorded_layers, layer):
    holds, missing = LAYER_PRECONDITIONS[layer]
    if not holds:
        pytest.skip(missing)
    assert recorded_layers[layer] is True


def test_a_run_with_every_required_layer_is_not_marked_unisolated(recorded_layers):
    if not BWRAP and not landlock.abi_version():
        pytest.skip("neither bubblewrap nor Landlock here: grading needs --allow-unisolated")
    assert recorded_layers["allowed_unisolated"] is False


def test_hidden_failure_messages_do_not_reveal_expected_values(tmp_path):
    path = write_notebook(tmp_path / "off.ipynb", "def double(x):\n    return x * 3\n\ndef answer():\n    return 41")
    verdicts, _ = grade(tmp_path, path)
    messages = {check.name: check.message for check in verdicts["off"].checks}
    assert "42" not in messages["test_answer"] and "41" in messages["test_answer"]
    assert "largest difference" in messages["test_double_float64"]
    assert "expected" not in messages["test_double_float64"].split("largest")[1]


def test_each_phase_of_a_check_decides_its_verdict(tmp_path):
    """A check fails in setup, call or teardown, skips, or passes; only a clean pass scores."""
    first = write_notebook(tmp_path / "first.ipynb", "def square(x):\n    return x * x")
    second = write_notebook(tmp_path / "second.ipynb", "def square(x):\n    return x ** 2")
    verdicts = grade_submissions("phases", [str(first), str(second)], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                 assignments_dir=TEST_ASSIGNMENTS)
    for verdict in verdicts:
        checks = {check.name: check for check in verdict.checks}
        assert [name for name, check in checks.items() if check.passed] == ["test_passes"]
        assert verdict.score == 1 and verdict.max_score == 5
        assert checks["test_setup_fails"].message == \
            "the check could not use your result: RuntimeError: the input could not be made"
        assert checks["test_skips"].message == "skipped"
        assert checks["test_teardown_fails"].message == \
            "the check could not use your result: RuntimeError: cleaning up failed"
        assert "square(2)" in checks["test_fails"].message
