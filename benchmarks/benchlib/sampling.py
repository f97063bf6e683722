"""Memory of a process tree, sampled in a thread: PSS from /proc, GPU memory from nvidia-smi.

Reading smaps_rollup walks a process's page tables under its memory lock, so sampling slows
what it samples: a timed run is never sampled.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time

from grader.sandbox.host.warm_worker import WARM_WORKER_MODULE
from grader.sandbox.proctree import process_table, tree_of


def _proc_field(pid: int, file: str, key: str) -> int | None:
    """The first number of the ``key:`` line of /proc/PID/FILE, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/{file}") as proc:
            for line in proc:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def pss_kb(pid: int) -> int | None:
    return _proc_field(pid, "smaps_rollup", "Pss:")


def thread_count(pid: int) -> int:
    return _proc_field(pid, "status", "Threads:") or 0


def _role(pid: int, parent: int | None, parent_roles: dict[int, str]) -> str:
    if parent is None:
        return "coordinator"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmdline = ""
    program = os.path.basename(cmdline.split(" ", 1)[0])
    if program == "bwrap":  # its command line holds the fork server's: test it first
        return "bubblewrap"
    if parent_roles.get(parent) in ("fork server", "submission child"):
        return "submission child"  # forked from the fork server: same command line
    if WARM_WORKER_MODULE in cmdline:
        return "fork server"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline:
        return "judge worker"
    return "other"


def roles_of(tree: list[int]) -> dict[int, str]:
    """What each process of a ``tree_of`` tree is (its parents come first, as tree_of orders them)."""
    table = process_table()
    roles: dict[int, str] = {}
    for pid in tree:
        entry = table.get(pid)
        roles[pid] = _role(pid, entry.ppid if entry else None, roles)
    return roles


class PssSampler(threading.Thread):
    """Samples the summed PSS of a process tree until stopped."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, kB, processes)
        self.peak_kb = 0
        self.peak_roles: dict[str, dict] = {}
        self.unreadable = 0
        self.stop_event = threading.Event()
        self.started = time.perf_counter()

    def run(self) -> None:
        while not self.stop_event.is_set():
            tick = time.perf_counter()
            self.sample()
            self.stop_event.wait(max(0.0, self.interval - (time.perf_counter() - tick)))

    def sample(self) -> None:
        tree = tree_of(self.root)
        values = {}
        for pid in tree:
            value = pss_kb(pid)
            if value is None:
                if os.path.exists(f"/proc/{pid}"):
                    self.unreadable += 1
                continue
            values[pid] = value
        if not values:
            return
        total = sum(values.values())
        self.samples.append((time.perf_counter() - self.started, total, len(values)))
        if total > self.peak_kb:
            self.peak_kb = total
            roles = roles_of(tree)
            breakdown: dict[str, dict] = {}
            for pid, value in values.items():
                entry = breakdown.setdefault(roles.get(pid, "other"), {"processes": 0, "pss_mb": 0.0, "threads": 0})
                entry["processes"] += 1
                entry["pss_mb"] = round(entry["pss_mb"] + value / 1024, 1)
                entry["threads"] += thread_count(pid)
            self.peak_roles = dict(sorted(breakdown.items()))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)

    def quarter_peaks_mb(self) -> list[float]:
        if not self.samples:
            return []
        end = self.samples[-1][0] or 1.0
        peaks = [0.0] * 4
        for seconds, kb, _ in self.samples:
            quarter = min(3, int(4 * seconds / end))
            peaks[quarter] = max(peaks[quarter], kb / 1024)
        return [round(peak, 1) for peak in peaks]

    def as_dict(self) -> dict:
        return {
            "peak_pss_mb": round(self.peak_kb / 1024, 1),
            "peak_by_role": self.peak_roles,
            "peak_by_quarter_mb": self.quarter_peaks_mb(),
            "samples": len(self.samples),
            "max_processes": max((count for _, _, count in self.samples), default=0),
            "unreadable_samples": self.unreadable,
        }


class GpuSampler(threading.Thread):
    """Samples each process's GPU memory (nvidia-smi) in the grader's tree; peaks by role, in MiB."""

    QUERY = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_by_role: dict[str, int] = {}
        self.child_peaks: dict[int, int] = {}
        self.samples = 0
        self.error = ""
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def sample(self) -> None:
        try:
            listing = subprocess.run(self.QUERY, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired) as error:
            self.error = str(error)
            return
        used = {}
        for line in listing.splitlines():
            pid, _, mib = line.partition(",")
            if pid.strip().isdigit() and mib.strip().isdigit():
                used[int(pid)] = int(mib)
        roles = roles_of(tree_of(self.root))
        self.samples += 1
        for pid, mib in used.items():
            if pid not in roles:
                continue
            role = roles[pid]
            self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), mib)
            if role == "submission child":
                self.child_peaks[pid] = max(self.child_peaks.get(pid, 0), mib)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=15)

    def as_dict(self) -> dict:
        peaks = list(self.child_peaks.values())
        return {"peak_mib_by_role": self.peak_by_role, "children_seen": len(peaks),
                "child_peak_mib_max": max(peaks, default=0),
                "child_peak_mib_median": statistics.median(peaks) if peaks else 0,
                "samples": self.samples, "error": self.error}
