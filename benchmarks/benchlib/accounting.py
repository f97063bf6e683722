"""CPU seconds of a measured process tree, and of everything else the machine ran meanwhile."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


def rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class TreeCpu:
    """The CPU time of a whole process tree, sandboxes included, from a cgroup v1 ``cpuacct`` group.

    getrusage misses the processes inside bubblewrap (its pid 1 reaps them and their time never
    reaches us), a third of the grader's CPU. A cgroup counts every process started in it. Where
    no ``cpuacct`` hierarchy is writable (not root, cgroup v2 only), ``available`` is False and the
    benchmark falls back to getrusage.
    """

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.path: Path | None = None
        if os.geteuid() == 0 and (self.ROOT / "cpuacct.usage").is_file():
            path = self.ROOT / f"grader-bench-{os.getpid()}-{time.monotonic_ns()}"
            try:
                path.mkdir()
                self.path = path
            except OSError:
                self.path = None

    @property
    def available(self) -> bool:
        return self.path is not None

    def enter(self) -> None:
        """Run in the child before exec (``preexec_fn``)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text("0")

    def seconds(self) -> float:
        assert self.path is not None
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass  # a process still in it: the kernel keeps it until that one ends


class CpuAccount:
    """Busy CPU seconds on the machine during a block, split into ours (the measured tree + self) and others'.

    With ``tree`` (a ``TreeCpu`` the measured command runs in) the tree's time is exact; without
    it, getrusage of the waited-for children, which misses the sandboxes' time.
    """

    def __init__(self, tree: TreeCpu | None = None):
        self.tree = tree if tree is not None and tree.available else None

    def __enter__(self) -> "CpuAccount":
        self.machine = machine_busy_seconds()
        self.children = self.tree.seconds() if self.tree else rusage_seconds(resource.RUSAGE_CHILDREN)
        self.me = rusage_seconds(resource.RUSAGE_SELF)
        self.wall = time.perf_counter()
        self.load = os.getloadavg()[0]
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.machine = machine_busy_seconds() - self.machine
        ended = self.tree.seconds() if self.tree else rusage_seconds(resource.RUSAGE_CHILDREN)
        self.children = ended - self.children
        self.me = rusage_seconds(resource.RUSAGE_SELF) - self.me

    def as_dict(self) -> dict:
        cores = len(os.sched_getaffinity(0))
        foreign = max(0.0, self.machine - self.children - self.me)
        return {"measured_cpu_s": round(self.children, 2), "benchmark_cpu_s": round(self.me, 2),
                "accounting": "cgroup" if self.tree else "getrusage",
                "other_processes_cpu_s": round(foreign, 2),
                "other_processes_share": round(foreign / (cores * self.wall), 3) if self.wall else 0.0,
                "load_average_at_start": round(self.load, 2)}
