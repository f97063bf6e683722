"""Telling a submission's own timeout from one the grader caused by not letting it run.

A call or a cell that runs out of time is the student's fault when their process ran (or
slept, or waited for its own processes) all that time. It is not when the process was ready
to run and the machine gave its CPU to something else (another submission's processes, other
work on the machine): grading it as a timeout would be a wrong grade. At a timeout this
module compares, over the timed-out window, the process's own CPU time and the time it spent
runnable on a run queue (``/proc/PID/schedstat``), and over the submission's life the CPU
its whole process tree got. Where the process waited for a CPU more than half of the window,
ran less than half of it, and its tree had less than half a CPU over its life, the timeout
becomes :class:`SubmissionStarved`, which the judge must treat as an infrastructure error
(grade the submission again), never as the student's timeout.

Standard library only; reads the host's /proc (the trusted side sees every pid of the sandbox).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from grader.sandbox import proctree
from grader.sandbox.host.errors import CallTimeout

# Thresholds, as shares of the timed-out window (and of one CPU over the submission's life).
STARVED_WAIT_SHARE = 0.5
STARVED_RUN_SHARE = 0.5
STARVED_TREE_SHARE = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class SubmissionStarved(CallTimeout):
    """A call or cell of the submission timed out while its process was ready to run and got no CPU.

    Not the student's fault: the judge should record an infrastructure error and grade the
    submission again. A subclass of ``CallTimeout``, so code that does not know it still ends
    the child as for a timeout.
    """

    def __init__(self, message: str, report: "StarvationReport"):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class SchedSample:
    at: float  # time.monotonic()
    cpu_seconds: float
    wait_seconds: float  # runnable, on a run queue, not running


@dataclass(frozen=True)
class StarvationReport:
    window_seconds: float
    ran_seconds: float
    waited_seconds: float
    tree_cpu_seconds: float
    life_seconds: float

    @property
    def starved(self) -> bool:
        window = max(self.window_seconds, 1e-3)
        tree_share = self.tree_cpu_seconds / max(self.life_seconds, 1e-3)
        return (self.waited_seconds >= STARVED_WAIT_SHARE * window
                and self.ran_seconds < STARVED_RUN_SHARE * window
                and tree_share < STARVED_TREE_SHARE)

    def describe(self) -> str:
        return (f"in {self.window_seconds:.2f} s the submission's process ran {self.ran_seconds:.2f} s and waited "
                f"{self.waited_seconds:.2f} s for a CPU; its processes had {self.tree_cpu_seconds:.2f} s of CPU "
                f"in {self.life_seconds:.2f} s")


def sched_sample(pid: int) -> SchedSample | None:
    """``pid``'s CPU and run-queue wait so far; None where the kernel does not say (no schedstat)."""
    return _parse_schedstat(proctree.read_proc(pid, "schedstat"))


class SchedStatFile:
    """``/proc/PID/schedstat`` held open: a sample is one ``pread`` (about 1 us) where ``sched_sample``
    opens, reads and closes the file (about 14 us). A connection samples its process twice per call.

    The descriptor stays bound to the process it was opened for: once that process is gone, a sample
    is None (the kernel answers ESRCH), never another process's figures under a reused pid.
    """

    def __init__(self, pid: int):
        try:
            self._fd: int | None = os.open(f"/proc/{pid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self._fd = None

    def sample(self) -> SchedSample | None:
        if self._fd is None:
            return None
        try:
            return _parse_schedstat(os.pread(self._fd, 256, 0))
        except OSError:
            return None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    __del__ = close  # a connection dropped without finish() leaves no descriptor behind


def _parse_schedstat(raw: bytes) -> SchedSample | None:
    fields = raw.split()
    if len(fields) < 2:
        return None
    try:
        return SchedSample(time.monotonic(), int(fields[0]) / 1e9, int(fields[1]) / 1e9)
    except ValueError:
        return None


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user and system, with reaped children's) of every process below ``root``."""
    total = 0
    for pid in proctree.descendants_of(root):
        fields = proctree.stat_fields(pid)
        if len(fields) > 14:
            try:
                total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            except ValueError:
                continue
    return total / CLOCK_TICKS


def host_pid_of(parent: int, inside_pid: int) -> int | None:
    """The host pid of ``parent``'s child that its own pid namespace calls ``inside_pid``."""
    for child in proctree.children_of(parent) or []:
        for line in proctree.read_proc(child, "status").decode(errors="replace").splitlines():
            if line.startswith("NSpid:"):
                if line.split()[-1] == str(inside_pid):
                    return child
                break
    return None
