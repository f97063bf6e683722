"""`grader check` while it runs: a line per cell, each cell's output once, Ctrl-C, messages in Russian."""

import os
import selectors
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook

from grader.api import check_notebook, student_assignments_dir

CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42"


def read_until(process, needle: str, timeout: float) -> str:
    """The process's stdout so far, once it holds ``needle`` (or the timeout passed)."""
    seen, deadline = "", time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while needle not in seen and time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=0.5):
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


@contextmanager
def sigint_as_at_a_terminal():
    """While it lasts, a child started here gets SIGINT as a student's `grader check` does at a terminal:
    its default action (Python turns it into KeyboardInterrupt), not blocked.

    A test run started as a background job by a script (``python -m pytest tests > log &``: a shell without
    job control starts it with SIGINT ignored) passes that on to every child, since an ignored signal stays
    ignored across exec, and Python installs no KeyboardInterrupt handler then: the child would never see the
    Ctrl-C this test sends, and would grade to the end (a minute; the test failed its 60 s timeout that way).
    A handled signal is reset to its default by exec, so handling it here for the moment of the start is enough.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)


def takes_sigint(pid: int, patience: float = 2.0) -> bool:
    """Whether process ``pid`` neither ignores nor keeps blocked SIGINT (its /proc status masks).

    Ignored is final (inherited from a background start). Blocked can be a moment's: CPython blocks every
    signal in the parent while a vfork'ed child execs (subprocess.Popen), so a block must last ``patience``
    seconds to count."""
    bit = 1 << (signal.SIGINT - 1)
    deadline = time.monotonic() + patience
    while True:
        masks = {}
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("SigIgn", "SigBlk"):
                    masks[name] = int(value, 16)
        if masks["SigIgn"] & bit:
            return False
        if not masks["SigBlk"] & bit:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)


def test_ctrl_c_during_check_prints_one_line_and_exits_130(tmp_path):
    notebook = write_notebook(tmp_path / "hw2.ipynb", "print('first cell ran')",
                              (REPO / "reference_solutions" / "hw2.py").read_text(), "while True:\n    pass")
    with sigint_as_at_a_terminal():
        process = subprocess.Popen([sys.executable, "-m", "grader.cli", "check", "hw2", str(notebook)], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # The endless loop's cell is on screen while it runs (cell 4: the markdown cell is cell 1).
        seen = read_until(process, "▸ cell 4 while True: …", timeout=240)
        assert "▸ cell 4 while True: …" in seen and process.poll() is None, seen
        assert "▸ cell 2 print('first cell ran') " in seen
        assert takes_sigint(process.pid), "grader check was started with SIGINT ignored or blocked"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.decode().splitlines() == ["interrupted: the check was stopped before it finished; nothing was graded"]


def test_an_endless_loop_is_reported_when_its_cell_limit_hits_and_earlier_output_shows_once(tmp_path):
    # an endless loop that sleeps: one that spins may be judged starved on a busy machine (an error row)
    notebook = write_notebook(tmp_path / "toy.ipynb", "print('first cell ran')", CORRECT,
                              "while True:\n    __import__('time').sleep(0.05)")
    events = []
    verdict = check_notebook("toy", notebook, assignments_dir=TEST_ASSIGNMENTS, on_cell=events.append)
    assert verdict.score == verdict.max_score == 2
    # the cells before the loop ran again in a fresh process (their state was lost with it); their
    # output and their progress lines come once
    assert verdict.stdout.count("first cell ran") == 1
    assert [(event.label, event.state) for event in events] == [
        ("cell 2", "running"), ("cell 2", "ok"), ("cell 3", "running"), ("cell 3", "ok"),
        ("cell 4", "running"), ("cell 4", "timeout")]
    assert events[-1].limit == 3 and events[-2].first_line == "while True: …"


def test_russian_check_names_the_line_in_russian(tmp_path):
    notebook = write_notebook(tmp_path / "toy.ipynb", CORRECT, "x = 1\nraise ValueError('boom')")
    verdict = check_notebook("toy", notebook, assignments_dir=TEST_ASSIGNMENTS, lang="ru")
    errors = [cell.error for cell in verdict.cells if cell.error is not None]
    assert [error.where for error in errors] == ["ячейка 3, строка 2"]


def test_check_from_another_folder_finds_the_bundle_beside_the_notebook(tmp_path):
    bundle = tmp_path / "hw2"
    (bundle / "assignments" / "hw2").mkdir(parents=True)
    (bundle / "assignments" / "hw2" / "assignment.toml").write_text('title = "x"\nnotebook = "hw2.ipynb"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import os, sys; from grader.api import student_assignments_dir as find; os.chdir(sys.argv[1]); "
              "print(find('hw2', sys.argv[2]))")
    found = subprocess.run([sys.executable, "-c", script, str(elsewhere), str(bundle / "hw2.ipynb")],
                           capture_output=True, text=True, env={**os.environ, "GRADER_ASSIGNMENTS": ""})
    assert found.stdout.strip() == str(bundle / "assignments"), found.stderr
    assert student_assignments_dir("hw2", None, TEST_ASSIGNMENTS) == TEST_ASSIGNMENTS
