"""Ctrl-C at any moment of a `grader` run: one line on stderr, exit 130, and nothing of the run left running.

Each test starts the real program with SIGINT at its default action, as at a terminal, and sends SIGINT at
a moment the run's timeline (``GRADER_TIMELINE``, ``grader.timeline``) shows it has reached. What no test
here can reach: the interpreter's own start before grader's first line runs (site's imports; see
``grader.interrupts``).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook
from test_check_live import sigint_as_at_a_terminal, takes_sigint

from grader import timeline
from grader.sandbox import proctree
from grader.sandbox.host.warm_worker import WARM_WORKER_MODULE

CHECK_LINE = "interrupted: the check was stopped before it finished; nothing was graded"
GRADE_LINE = "interrupted: every result graded so far is stored"
CORRECT = "def double(x):\n    return x * 2\n\ndef answer():\n    return 42"
PROGRAMS = {
    # the console script pip writes from pyproject's [project.scripts], as a student types it
    "grader": [str(Path(sys.executable).parent / "grader")],
    "python -m grader.cli": [sys.executable, "-m", "grader.cli"],  # the workflows' and the notebooks' way
}


def start(program: list[str], args: list[str], marks: Path, **environment: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if key not in ("GRADER_PORTABLE", "GRADER_NO_BWRAP")}
    env.update({"GRADER_TIMELINE": str(marks), **environment})
    with sigint_as_at_a_terminal():
        return subprocess.Popen(program + args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(marks: Path, event: str, process: subprocess.Popen, timeout: float = 240) -> None:
    """Until the run's timeline holds ``event`` (polled every millisecond: the moment matters)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marks.exists() and f'"event": "{event}"' in marks.read_text():
            return
        assert process.poll() is None, f"the run ended before {event}: {process.communicate()}"
        time.sleep(0.001)
    raise AssertionError(f"no {event} mark within {timeout} s")


def interrupt(process: subprocess.Popen) -> tuple[int, list[str]]:
    assert takes_sigint(process.pid), "the run was started with SIGINT ignored or blocked"
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    return process.returncode, err.decode().splitlines()


def events(marks: Path) -> list[str]:
    return [entry["event"] for entry in timeline.read(marks)] if marks.exists() else []


def command_line(command: str, tmp_path: Path) -> tuple[list[str], str]:
    notebook = write_notebook(tmp_path / "toy.ipynb", CORRECT)
    if command == "check":
        return ["check", "toy", str(notebook), "--assignments", str(TEST_ASSIGNMENTS)], CHECK_LINE
    return ["grade", "toy", str(notebook), "--assignments", str(TEST_ASSIGNMENTS),
            "--db", f"sqlite:///{tmp_path / 'grades.db'}", "--allow-unisolated"], GRADE_LINE


@pytest.mark.parametrize("command", ["check", "grade"])
@pytest.mark.parametrize("program", list(PROGRAMS))
def test_ctrl_c_while_the_cli_imports_is_one_line_and_exit_130(tmp_path, program, command):
    args, line = command_line(command, tmp_path)
    landed_while_starting = []
    for delay in (0, 0.02, 0.08, 0.2):  # from the CLI module's first mark: its imports of click, rich, the api
        marks = tmp_path / f"timeline-{delay}.jsonl"
        process = start(PROGRAMS[program], args, marks)
        wait_for(marks, "cli.start", process)
        time.sleep(delay)
        code, err = interrupt(process)
        assert "Traceback" not in "\n".join(err)
        assert (code, err) == (130, [line]), f"SIGINT {delay} s after cli.start"
        landed_while_starting.append("command" not in events(marks))
    assert landed_while_starting[0], "the first SIGINT came after the command had started: the test missed the imports"


def test_ctrl_c_while_check_imports_is_its_line_in_its_language(tmp_path):
    args, _ = command_line("check", tmp_path)
    marks = tmp_path / "timeline.jsonl"
    process = start(PROGRAMS["grader"], args + ["--lang", "ru"], marks)
    wait_for(marks, "cli.start", process)
    assert interrupt(process) == (130, ["прервано: проверка остановлена до конца; ничего не оценено"])
    assert "command" not in events(marks)


def test_the_console_script_is_the_guarded_entry():
    script = Path(PROGRAMS["grader"][0]).read_text()
    assert "from grader.entry import run" in script, "reinstall (pip install -e .): pyproject names grader.entry:run"


def pidfds_of_descendants(pid: int) -> dict[int, tuple[int, bytes]]:
    """Every process below ``pid`` now: a pidfd each (readable once it has ended; no pid reuse) and its command line."""
    found = {}
    for each in proctree.descendants_of(pid):
        try:
            found[each] = (os.pidfd_open(each), proctree.read_proc(each, "cmdline"))
        except OSError:  # ended meanwhile
            pass
    return found


def still_running(pidfds: dict[int, tuple[int, bytes]], within: float) -> list[bytes]:
    deadline = time.monotonic() + within
    running = dict(pidfds)
    while running and time.monotonic() < deadline:
        ended, _, _ = select.select([fd for fd, _ in running.values()], [], [], max(0.0, deadline - time.monotonic()))
        running = {pid: entry for pid, entry in running.items() if entry[0] not in ended}
    for fd, _ in pidfds.values():
        os.close(fd)
    return [cmdline.replace(b"\0", b" ")[:200] for _, cmdline in running.values()]


@pytest.mark.parametrize("command, after", [("check", "sandbox.launch"), ("grade", "intake.read")])
def test_ctrl_c_after_the_sandbox_launched_leaves_no_unisolated_worker_running(tmp_path, command, after):
    """Without bubblewrap (no --die-with-parent) the warm worker runs in a session of its own: only grader's
    closing it ends it before it imports torch and finds nobody to report to. ``after``: check imports the
    judge (torch) right after the launch; grade takes the launched sandbox over after reading the notebooks."""
    args, line = command_line(command, tmp_path)
    marks = tmp_path / "timeline.jsonl"
    process = start(PROGRAMS["grader"], args, marks, GRADER_NO_BWRAP="1")
    wait_for(marks, after, process)
    launched = pidfds_of_descendants(process.pid)
    assert any(WARM_WORKER_MODULE.encode() in cmdline for _, cmdline in launched.values()), launched
    code, err = interrupt(process)
    assert (code, err) == (130, [line])
    assert "sandbox.ready" not in events(marks)  # interrupted before the worker was waited for
    assert still_running(launched, within=1.0) == []


def test_ctrl_c_in_the_portable_mode_leaves_no_submission_process_running(tmp_path):
    args, line = command_line("check", tmp_path)
    marks = tmp_path / "timeline.jsonl"
    process = start(PROGRAMS["grader"], args, marks, GRADER_PORTABLE="1")
    wait_for(marks, "portable.spawn", process)
    launched = pidfds_of_descendants(process.pid)
    child = [pid for pid, (_, cmdline) in launched.items() if b"grader.sandbox.portable.child" in cmdline]
    assert child, launched
    folder = Path(os.readlink(f"/proc/{child[0]}/cwd"))  # the submission's private working folder
    code, err = interrupt(process)
    assert (code, err[-1:]) == (130, [line])  # after the line saying that the sandbox is off
    assert still_running(launched, within=1.0) == []
    assert folder.name.startswith("grader-check-") and not folder.exists()



def test_ctrl_c_after_the_command_and_a_second_while_it_unwinds_are_noted_not_raised():
    """The phases the CLI goes through (``grader.interrupts``), with real signals: the first Ctrl-C in a command
    raises, the second (while its ``finally`` blocks run) does not; one after the command makes the exit 130."""
    script = """if True:
        import os, signal, sys
        from grader import interrupts
        interrupts.guard(["grade"])
        interrupts.working()
        try:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                sys.exit("not interrupted")
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C as the sandbox is closed
                print("closed", flush=True)
        except KeyboardInterrupt:
            print("interrupted once", flush=True)
        interrupts.finishing()
        os.kill(os.getpid(), signal.SIGINT)
        print("finished", flush=True)
        os._exit(interrupts.exit_status(0))
    """
    with sigint_as_at_a_terminal():
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.splitlines(), done.stderr.splitlines()) == (
        130, ["closed", "interrupted once", "finished"], [GRADE_LINE])
