"""Limits over a whole sandbox (every process a submission starts), with cgroups.

rlimits are per process, and RLIMIT_NPROC does not bind inside bubblewrap started by
root (the sandbox's uid is root outside), so a fork bomb or four processes of 1 GB each
pass them. A cgroup per warm worker caps the number of tasks and the memory of the
whole tree; the worker runs one submission at a time, so that is a cap per submission.
Only cgroup v1 with the ``pids`` and ``memory`` controllers writable is used for now.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")


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


class SandboxCgroup:
    """One cgroup per controller, made for one warm worker and removed with it."""

    def __init__(self, max_tasks: int, memory_bytes: int):
        name = f"grader-{uuid.uuid4().hex[:12]}"
        self.paths = {c: V1_ROOT / c / _own_path(c) / name for c in CONTROLLERS}
        for path in self.paths.values():
            path.mkdir()
        (self.paths["pids"] / "pids.max").write_text(str(max_tasks))
        (self.paths["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap_limit = self.paths["memory"] / "memory.memsw.limit_in_bytes"
        if swap_limit.exists():
            try:
                swap_limit.write_text(str(memory_bytes))
            except OSError:
                pass

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
