"""One submission cannot starve another (project issue 23, part 4).

A submission that keeps dozens of spinning processes alive (each in its own session) while its
cells and calls sleep once starved a correct submission on the other worker into a timeout.
Each submission's processes now share one CPU quota and weigh as one process; and a timeout
suffered while the process was ready to run but got no CPU is a ``SubmissionStarved``, never a
silent wrong grade.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import TEST_ASSIGNMENTS, write_notebook
from grader import wire
from grader.api import grade_submissions
from grader.sandbox import cgroups
from grader.sandbox.host.errors import CallTimeout
from grader.sandbox.host.starvation import SchedStatFile, SubmissionStarved, sched_sample
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.layers import detect_layers

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None or not detect_layers().bwrap,
                                 reason="needs a working bubblewrap")
needs_cpu_cgroup = pytest.mark.skipif(not (cgroups.available() and cgroups.cpu_available()),
                                      reason="needs writable cgroup v1 pids, memory and cpu controllers")

# Correct, with real work in the cell that defines the functions: a few tenths of a second of one CPU,
# far under the 3 s a cell may take; a cell that runs out of time defines nothing and scores 0.
CORRECT = ["WORK = sum(i * i for i in range(5_000_000))\n\n"
           "def double(x):\n    return x * 2\n\ndef answer():\n    return 42\n"]
SPINNERS = 40
# Dozens of spinning processes, each in its own session, started at once (each waits a second before
# it spins); then the cells and the calls only sleep, within their limits, while the spinners spin.
HOG_CELLS = [
    "import os, time\n",
    f"for _ in range({SPINNERS}):\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(1)\n"
    "        while True:\n            pass\n",
    "time.sleep(2.5)\n",
    "time.sleep(2.5)\n",
    "def double(x):\n    time.sleep(2.5)\n    return x * 2\n\ndef answer():\n    time.sleep(2.5)\n    return 42\n",
]


@needs_bwrap
@needs_cpu_cgroup
def test_a_cpu_hog_beside_correct_notebooks_takes_no_mark_from_them(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    write_notebook(folder / "a_hog.ipynb", *HOG_CELLS)  # graded first: one worker holds it while the other grades
    for index in range(8):
        write_notebook(folder / f"correct{index}.ipynb", *CORRECT)
    verdicts = grade_submissions("toy", [folder], db_url=f"sqlite:///{tmp_path / 'grades.db'}", workers=2,
                                 assignments_dir=TEST_ASSIGNMENTS)
    scores = {verdict.student: (verdict.status, verdict.score) for verdict in verdicts}
    assert {student: scores[student] for student in scores if student.startswith("correct")} == \
        {f"correct{index}": ("graded", 4) for index in range(8)}, scores
    assert all(verdict.layers.get("cpu_share_per_submission") for verdict in verdicts)


def _start_submission(host: WarmWorkerHost, source: str):
    """A submission's process on ``host`` with its one cell run, through the lowest-level API."""
    child = host.spawn({})
    child.send({"op": "run_cells"}, {"cells": [[0, source]], "skip": []})
    deadline = time.monotonic() + 30
    while True:
        header, _ = child.receive(deadline, wire.Decoder)
        if header.get("event") == "cells_finished":
            return child


def _call_until_timeout(child, name: str, seconds: float):
    child.send({"op": "call", "name": name}, ([], {}))
    child.receive(time.monotonic() + seconds, wire.Decoder)


@needs_bwrap
@needs_cpu_cgroup
def test_a_timeout_while_the_process_could_not_get_a_cpu_is_starvation_not_the_students():
    """The submission's process is moved, from outside, into a cgroup allowed 1% of a CPU: it spins,
    ready to run, and hardly runs. Its timeout says so."""
    host = WarmWorkerHost(warm_optimizer=False, batch_warmups=False)
    host.start()
    throttle = Path("/sys/fs/cgroup/cpu") / cgroups._own_path("cpu") / f"grader-test-throttle-{uuid.uuid4().hex[:8]}"
    throttle.mkdir()
    try:
        (throttle / "cpu.cfs_quota_us").write_text(str(int((throttle / "cpu.cfs_period_us").read_text()) // 100))
        child = _start_submission(host, "def spin():\n    while True:\n        pass\n")
        try:
            (throttle / "cgroup.procs").write_text(str(child.host_pid()))
            with pytest.raises(SubmissionStarved) as starved:
                _call_until_timeout(child, "spin", 3)
            report = starved.value.report
            assert report.waited_seconds > 2 and report.ran_seconds < 0.5, report
        finally:
            child.finish()
    finally:
        host.close()
        for _ in range(50):
            try:
                throttle.rmdir()
                break
            except OSError:
                time.sleep(0.1)


@needs_bwrap
@pytest.mark.parametrize("body", ["while True:\n        pass", "import time\n    time.sleep(60)"],
                         ids=["spinning", "sleeping"])
def test_a_timeout_of_a_process_that_was_not_kept_from_running_is_the_student_s(body):
    host = WarmWorkerHost(warm_optimizer=False, batch_warmups=False)
    host.start()
    try:
        child = _start_submission(host, f"def stuck():\n    {body}\n")
        try:
            with pytest.raises(CallTimeout) as timeout:
                _call_until_timeout(child, "stuck", 2)
            assert not isinstance(timeout.value, SubmissionStarved), timeout.value
        finally:
            child.finish()
    finally:
        host.close()


def test_a_schedstat_file_held_open_follows_its_process_and_goes_blank_when_it_ends():
    process = subprocess.Popen([sys.executable, "-c", "import sys, time\nend = time.monotonic() + 0.3\n"
                                "while time.monotonic() < end: pass\nsys.stdin.read()"], stdin=subprocess.PIPE)
    held = SchedStatFile(process.pid)
    try:
        first = held.sample()
        time.sleep(0.5)
        second = held.sample()
        opened_again = sched_sample(process.pid)
        assert first is not None and second is not None and opened_again is not None
        assert second.cpu_seconds > first.cpu_seconds  # the same figures as opening the file each time
        assert abs(opened_again.cpu_seconds - second.cpu_seconds) < 0.05
        process.stdin.close()
        process.wait()
        assert held.sample() is None  # its process is gone: no figures, never a later process's
    finally:
        held.close()
        if process.poll() is None:
            process.kill()
            process.wait()
