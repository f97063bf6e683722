"""Limits over a whole sandbox (every process a submission starts), with cgroups.

rlimits are per process, and RLIMIT_NPROC does not bind inside bubblewrap started by
root (the sandbox's uid is root outside), so a fork bomb or four processes of 1 GB each
pass them. A cgroup per warm worker caps the number of tasks and the memory of the warm
worker; each submission gets cgroups of its own beside it (:class:`SubmissionCgroup`),
made by the trusted side and joined by the submission's process before anything else:
its tasks and memory are counted there, so what one submission left charged (a segment,
a file in a tmpfs, freed a moment later) never lowers the next one's limit.
Only cgroup v1 with the ``pids`` and ``memory`` controllers writable is used for now.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
# One CPU per submission at most (its whole tree; torch runs one thread in the sandbox), and the
# default weight: dozens of spinning processes weigh, together, as much as one process elsewhere.
SUBMISSION_CPUS = 1
CPU_SHARES = 1024


def _own_path(controller: str) -> str:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path.lstrip("/")
    except OSError:
        pass
    return ""


def available() -> bool:
    return os.geteuid() == 0 and all(os.access(V1_ROOT / c / _own_path(c), os.W_OK) for c in CONTROLLERS)


def cpu_available() -> bool:
    """Whether the cgroup v1 ``cpu`` controller is writable here (quota and weight per submission).

    GRADER_NO_CPU_CGROUP=1 runs without it, as on a machine that lacks it (to debug or to test).
    """
    return os.environ.get("GRADER_NO_CPU_CGROUP") != "1" and os.geteuid() == 0 and os.access(V1_ROOT / "cpu" / _own_path("cpu"), os.W_OK)


def _write_memory_limit(folder: Path, memory_bytes: int) -> None:
    (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
    swap_limit = folder / "memory.memsw.limit_in_bytes"
    if swap_limit.exists():
        try:
            swap_limit.write_text(str(memory_bytes))
        except OSError:
            pass


class SandboxCgroup:
    """One cgroup per controller, made for one warm worker and removed with it."""

    def __init__(self, max_tasks: int, memory_bytes: int):
        name = f"grader-{uuid.uuid4().hex[:12]}"
        self.paths = {c: V1_ROOT / c / _own_path(c) / name for c in CONTROLLERS}
        for path in self.paths.values():
            path.mkdir()
        (self.paths["pids"] / "pids.max").write_text(str(max_tasks))
        _write_memory_limit(self.paths["memory"], memory_bytes)

    def enter(self) -> None:
        """Move the calling process in (run from the sandbox's launcher before exec)."""
        for path in self.paths.values():
            (path / "cgroup.procs").write_text("0")

    def remove(self) -> None:
        for path in self.paths.values():
            try:
                path.rmdir()
            except OSError:
                pass  # still busy: the kernel frees it once its last process is gone


class SubmissionCgroup:
    """One submission's own cgroups (tasks, memory; CPU quota and weight where the ``cpu`` controller
    is writable), beside its warm worker's; removed once it ended.

    The submission's process joins them through :attr:`procs_fds`, ``cgroup.procs`` files opened
    here and handed to the warm worker with the spawn request (the sandbox cannot see /sys/fs/cgroup).
    """

    def __init__(self, max_tasks: int, memory_bytes: int, cpu: bool = False):
        name = f"grader-sub-{uuid.uuid4().hex[:12]}"
        controllers = CONTROLLERS + (("cpu",) if cpu else ())
        self.paths = {c: V1_ROOT / c / _own_path(c) / name for c in controllers}
        self.procs_fds: list[int] = []
        try:
            for path in self.paths.values():
                path.mkdir()
            (self.paths["pids"] / "pids.max").write_text(str(max_tasks))
            _write_memory_limit(self.paths["memory"], memory_bytes)
            if cpu:
                period = int((self.paths["cpu"] / "cpu.cfs_period_us").read_text())
                (self.paths["cpu"] / "cpu.cfs_quota_us").write_text(str(period * SUBMISSION_CPUS))
                (self.paths["cpu"] / "cpu.shares").write_text(str(CPU_SHARES))
            self.procs_fds = [os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC) for path in self.paths.values()]
        except OSError:
            self.remove()
            raise

    def close_fds(self) -> None:
        for fd in self.procs_fds:
            os.close(fd)
        self.procs_fds = []

    def remove(self) -> None:
        self.close_fds()
        for path in self.paths.values():
            try:
                path.rmdir()
            except OSError:
                pass  # not made, or still busy: the kernel frees it once its last process is gone
