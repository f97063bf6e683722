"""Where the time of one submission's sandbox goes: spawn, a trivial cell, one call, finish.

    python benchmarks/bench_submission_steps.py --n 40

Starts one warm worker (every layer this machine has), then N times: spawn a child, run one
trivial cell, make one call, finish it. Prints, per step, the median and the 90th percentile
in ms (the host's steps, the warm worker's as it reports them in ``WarmWorkerHost.last_steps``,
and the child's start up to its first event, measured here), and the CPU milliseconds per
submission of this process, the warm worker, and the children it reaped. The load average
is printed beside, since the machine may be shared. No torch is imported here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from grader import wire
from grader.sandbox.host.warm_worker import WarmWorkerHost

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LIMITS = {"cpu_seconds": 300, "memory_bytes": 2048 << 20, "output_bytes": 64 << 10, "file_bytes": 64 << 20,
          "processes": 64, "open_files": 256, "max_transfer_bytes": 256 << 20, "device": {"type": "cpu"}}


def cpu_ticks(pid: int) -> tuple[int, int, int, int]:
    """``pid``'s own utime+stime and its reaped children's cutime+cstime (clock ticks), then its own
    and its reaped children's minor page faults."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[7]), int(fields[8]))


def decoder(blobs):
    return wire.Decoder(blobs)


def one_submission(server: WarmWorkerHost, timings: dict[str, list[int]], cell: str = "x = 1") -> None:
    started = time.perf_counter_ns()
    child = server.spawn(dict(LIMITS))
    spawned = time.perf_counter_ns()
    child.send({"op": "run_cells"}, {"cells": [(0, cell, "cell 1")], "skip": []})
    first = None
    while True:
        header, _ = child.receive(time.monotonic() + 30, decoder)
        first = first or time.perf_counter_ns()
        if header.get("event") == "cells_finished":
            break
    cells = time.perf_counter_ns()
    child.send({"op": "get", "name": "x"})
    header, value = child.receive(time.monotonic() + 30, decoder)
    assert header.get("ok") and value == 1, header
    called = time.perf_counter_ns()
    child.finish()
    finished = time.perf_counter_ns()
    for name, value in server.last_steps.items():
        timings.setdefault(name, []).append(value)
    for name, value in (("total.spawn", spawned - started), ("total.child_start_to_first_event", first - spawned),
                        ("total.cells", cells - spawned), ("total.call", called - cells),
                        ("total.finish", finished - called), ("total.submission", finished - started)):
        timings.setdefault(name, []).append(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cell-ms", type=float, default=0.0,
                        help="the one cell sleeps this long (a submission as long as a real one: 60-80 ms for hw2)")
    parser.add_argument("--gap-ms", type=float, default=0.0,
                        help="sleep between one finish and the next spawn, as the judge's own work there "
                             "(storing the verdict, the next notebook) leaves the warm worker idle")
    arguments = parser.parse_args()
    with WarmWorkerHost(warm_optimizer=False) as server:
        server.start()
        print("layers:", {name: held for name, held in server.reported_layers.items() if held}, file=sys.stderr)
        timings: dict[str, list[int]] = {}
        cell = "x = 1" + (f"\nimport time\ntime.sleep({arguments.cell_ms / 1000})" if arguments.cell_ms else "")
        for _ in range(arguments.warmup):
            one_submission(server, {})
        worker = server.worker_host_pid()
        host_before, worker_before = os.times(), cpu_ticks(worker)
        load_before = os.getloadavg()
        for _ in range(arguments.n):
            time.sleep(arguments.gap_ms / 1000)
            one_submission(server, timings, cell)
        host_after, worker_after = os.times(), cpu_ticks(worker)
        load_after = os.getloadavg()
    n = arguments.n
    print(f"n={n}, cell {arguments.cell_ms:g} ms, gap {arguments.gap_ms:g} ms; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"{'step':44s} {'median ms':>10s} {'p90 ms':>8s}")
    for name in sorted(timings):
        values = sorted(timings[name])
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"{name:44s} {statistics.median(values) / 1e6:10.2f} {p90 / 1e6:8.2f}")
    host_cpu = (host_after.user + host_after.system - host_before.user - host_before.system) * 1000 / n
    worker_cpu = (worker_after[0] - worker_before[0]) * 1000 / CLOCK_TICKS / n
    children_cpu = (worker_after[1] - worker_before[1]) * 1000 / CLOCK_TICKS / n
    print(f"CPU ms per submission: host {host_cpu:.1f}, warm worker {worker_cpu:.1f}, children {children_cpu:.1f}")
    print(f"minor page faults per submission: warm worker {(worker_after[2] - worker_before[2]) / n:.0f}, "
          f"children {(worker_after[3] - worker_before[3]) / n:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
