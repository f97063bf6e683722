"""What one call into the sandbox costs, on the judge's side and in the submission's process.

    python benchmarks/bench_proxy_calls.py --n 30

Starts one warm worker (every layer this machine has) and grades one hw2 notebook
(``submissions/hw2/correct.ipynb`` unless ``--notebook``) N times in each of three ways:

- ``judge``: through the real judge (pytest's session, hw2's 13 checks, the proxy), as ``grader grade`` does;
- ``direct``: the same check functions called straight, with the proxy as ``student`` (no pytest);
- ``cells``: the notebook's cells only, no call (the children's baseline).

and, in this process without any sandbox, the checks with the reference solution as the student (the
checks' own trusted work, ``in-process``). It prints, per submission: the calls, the bytes the judge sent
and received, this process's CPU, the CPU of the judge's thread inside ``StudentSession.request`` (encoding,
sending, waiting is not CPU, reading, decoding), the warm worker's and the children's CPU (from /proc, clock
ticks, as ``bench_submission_steps.py``) and the children's minor page faults; then per call: the judge's CPU inside a request and the children's
CPU beyond the cells-only baseline, less the student's own compute measured in-process. The load average
is printed beside, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import io
import os
import sys
import time
from pathlib import Path

import torch

from grader import wire
from grader.extract import extract_submission
from grader.judge.proxy import StudentProxy, StudentSession
from grader.judge.runner import Judge
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.spec import load_assignment
from grader.wire import values as wire_values

REPO = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> tuple[int, int, int]:
    """``pid``'s own utime+stime and its reaped children's cutime+cstime (clock ticks), then its reaped
    children's minor page faults."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[8])


class Counters:
    """Calls, bytes each way and the judge thread's CPU inside requests, counted by wrapping the real functions."""

    def __init__(self) -> None:
        self.calls = 0
        self.sent = 0
        self.received = 0
        self.request_cpu = 0.0
        self._request = StudentSession.request
        self._encode = wire_values.encode_message
        self._receive = wire.receive_message

    def install(self) -> None:
        counters = self

        def request(session, *args, **kwargs):
            counters.calls += 1
            started = time.thread_time()
            try:
                return counters._request(session, *args, **kwargs)
            finally:
                counters.request_cpu += time.thread_time() - started

        def encode_message(*args, **kwargs):
            parts = counters._encode(*args, **kwargs)
            counters.sent += sum(len(part) if isinstance(part, bytes) else part.nbytes for part in parts)
            return parts

        def receive_message(*args, **kwargs):
            header, blobs = counters._receive(*args, **kwargs)
            counters.received += sum(len(blob) for blob in blobs)
            return header, blobs

        StudentSession.request = request
        wire_values.encode_message = encode_message
        wire.receive_message = receive_message

    def reset(self) -> None:
        self.calls = self.sent = self.received = 0
        self.request_cpu = 0.0


def load_module(path: Path, name: str):
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def check_functions(spec) -> list:
    checks = []
    for number, path in enumerate(spec.check_files(True)):
        module = load_module(path, f"bench_proxy_checks_{number}")
        checks += [value for name, value in vars(module).items() if name.startswith("test_") and callable(value)]
    return checks


def run_checks(checks: list, fixtures: dict) -> int:
    failed = 0
    for check in checks:
        try:
            check(**{name: fixtures[name] for name in inspect.signature(check).parameters})
        except AssertionError:
            failed += 1
    return failed


class Measured:
    def __init__(self, name: str, server: WarmWorkerHost, counters: Counters):
        self.name, self.server, self.counters = name, server, counters

    def __enter__(self) -> "Measured":
        self.counters.reset()
        self.worker = self.server.worker_host_pid()
        self.times, self.ticks, self.load = os.times(), cpu_ticks(self.worker), os.getloadavg()[0]
        return self

    def __exit__(self, *exc) -> None:
        self.server.settle()  # the last submission's deferred teardown: its child is reaped and counted
        times, ticks = os.times(), cpu_ticks(self.worker)
        self.host_ms = (times.user + times.system - self.times.user - self.times.system) * 1000
        self.worker_ms = (ticks[0] - self.ticks[0]) * 1000 / CLOCK_TICKS
        self.children_ms = (ticks[1] - self.ticks[1]) * 1000 / CLOCK_TICKS
        self.children_faults = ticks[2] - self.ticks[2]
        self.load_after = os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30, help="submissions per way (at most 50)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--notebook", default=str(REPO / "submissions/hw2/correct.ipynb"))
    parser.add_argument("--only", default="judge,direct,cells", help="which ways to run, comma-separated")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the judge way into FILE (pstats)")
    arguments = parser.parse_args()
    n = min(arguments.n, 50)
    ways = arguments.only.split(",")
    torch.set_num_threads(1)
    spec = load_assignment("hw2")
    submission = extract_submission(arguments.notebook, spec)
    checks = check_functions(spec)
    reference = load_module(spec.reference_solution(), "bench_proxy_reference")

    # The checks' own work in this process, the reference in the student's place; the student's part timed apart.
    student_seconds = [0.0]

    class TimedReference:
        def __getattr__(self, name):
            function = getattr(reference, name)

            def call(*args, **kwargs):
                started = time.thread_time()
                try:
                    return function(*args, **kwargs)
                finally:
                    student_seconds[0] += time.thread_time() - started
            return call

    local = {"student": TimedReference(), "reference": reference, "device": torch.device("cpu")}
    for _ in range(5):
        run_checks(checks, local)
    student_seconds[0] = 0.0
    started = time.thread_time()
    for _ in range(n):
        run_checks(checks, local)
    in_process_ms = (time.thread_time() - started) * 1000 / n
    student_ms = student_seconds[0] * 1000 / n

    counters = Counters()
    counters.install()
    results: dict[str, Measured] = {}
    with WarmWorkerHost.for_limits(spec.limits, "cpu", warm_optimizer=spec.warms_optimizer()) as server:
        server.start()
        judge = Judge(spec, server=server)

        def one_session(calls: bool) -> None:
            session = StudentSession(server, submission, spec.limits, "cpu")
            try:
                session.start()
                if calls:
                    failed = run_checks(checks, {"student": StudentProxy(session), "reference": reference,
                                                 "device": torch.device("cpu")})
                    assert failed == 0 or "correct" not in arguments.notebook, f"{failed} checks failed"
            finally:
                session.close()

        if "judge" in ways:
            verdicts = []

            def submissions():
                for _ in range(arguments.warmup):
                    yield submission
                measured = Measured("judge", server, counters)
                results["judge"] = measured
                profiler = None
                if arguments.profile:
                    import cProfile
                    profiler = cProfile.Profile(time.thread_time)  # CPU, not the waits
                with measured:
                    if profiler:
                        profiler.enable()
                    for _ in range(n):
                        yield submission
                    if profiler:
                        profiler.disable()
                        profiler.dump_stats(arguments.profile)
                    measured.calls, measured.sent, measured.received = counters.calls, counters.sent, counters.received
                    measured.request_cpu = counters.request_cpu

            with contextlib.redirect_stdout(io.StringIO()):
                judge.run(submissions(), verdicts.append)
            scores = {verdict.score for verdict in verdicts}
            print(f"judge: {len(verdicts)} verdicts, scores {sorted(scores)}", file=sys.stderr)
        for way in ("direct", "cells"):
            if way not in ways:
                continue
            for _ in range(arguments.warmup):
                one_session(way == "direct")
            with Measured(way, server, counters) as measured:
                for _ in range(n):
                    one_session(way == "direct")
                measured.calls, measured.sent, measured.received = counters.calls, counters.sent, counters.received
                measured.request_cpu = counters.request_cpu
            results[way] = measured

    print(f"n={n} per way; {Path(arguments.notebook).name}; torch threads 1")
    print(f"in-process (no sandbox, no pytest): checks {in_process_ms:.2f} ms per submission, of which the "
          f"student's functions {student_ms:.2f} ms (trusted side alone {in_process_ms - student_ms:.2f} ms)")
    print(f"{'way':8s} {'load':>10s} {'calls':>6s} {'sent MB':>8s} {'recv KB':>8s} {'host ms':>8s} "
          f"{'in requests':>11s} {'worker ms':>9s} {'children ms':>11s} {'faults':>7s}   (per submission)")
    for way, m in results.items():
        print(f"{way:8s} {m.load:4.2f}-{m.load_after:4.2f} {m.calls / n:6.1f} {m.sent / n / 1e6:8.3f} "
              f"{m.received / n / 1e3:8.1f} {m.host_ms / n:8.2f} {m.request_cpu * 1000 / n:11.2f} "
              f"{m.worker_ms / n:9.2f} {m.children_ms / n:11.2f} {m.children_faults / n:7.0f}")
    for way in ("judge", "direct"):
        if way not in results or not results[way].calls:
            continue
        m = results[way]
        calls = m.calls / n
        print(f"{way}: judge overhead beyond the trusted in-process work {m.host_ms / n - (in_process_ms - student_ms):.2f} "
              f"ms per submission; judge CPU inside a request {m.request_cpu * 1000 / m.calls:.3f} ms per call")
        if "cells" in results:
            extra = (m.children_ms - results["cells"].children_ms) / n
            print(f"{way}: children's CPU beyond the cells {extra:.2f} ms per submission, "
                  f"{extra / calls:.3f} ms per call; less the student's compute in-process: "
                  f"{(extra - student_ms) / calls:.3f} ms per call")
    if "judge" in results and "direct" in results:
        print(f"pytest's share (judge - direct, this process): "
              f"{(results['judge'].host_ms - results['direct'].host_ms) / n:.2f} ms per submission")
    return 0


if __name__ == "__main__":
    sys.exit(main())
