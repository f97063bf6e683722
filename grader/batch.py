"""Batches: a pool of warm judge workers on this machine, one writer.

Each worker is a process forked from a fresh template that has imported torch and pytest
(multiprocessing's fork server; never forked from the coordinator), and that loads the
assignment's checks once and owns one sandbox warm worker. The coordinator
hands out one submission path at a time to whichever worker asks, receives verdicts as
JSON, and is the only one to write the gradebook. A worker that dies costs only the
submission it held: that submission is retried once on a fresh worker, then stored as
an error. The unit of work is plain data (assignment id and path in, verdict JSON out),
so another transport (a cluster) can carry it unchanged.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterator

from grader import __version__
from grader.errors import GraderError
from grader.models import ExtractedSubmission, Verdict

MAX_ATTEMPTS = 2


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


# What every worker imports, loaded once by multiprocessing's fork server (a process started
# fresh, never forked from the coordinator) and shared by the workers forked from it: torch
# and pytest are imported once for the pool instead of once per worker, and a worker that
# dies is replaced in milliseconds.
WORKER_PRELOAD = ["grader.batch", "grader.judge.runner"]


def worker_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


def prepare_workers() -> None:
    """Start the workers' fork server now, so its imports overlap with the coordinator's own work."""
    worker_context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


def worker_main(connection: Connection, assignment: str, assignments_dir: str | None, include_hidden: bool,
                device: str, allow_unisolated: bool, device_label: str | None = None,
                environment: dict[str, str] | None = None) -> None:
    """The body of one worker process: judge whatever paths the coordinator sends, on ``device``.

    ``environment``: the coordinator's, as it is now; a worker forked from the pool's template
    would otherwise see the template's, from when it started.
    """
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    from grader.judge import start_judge
    from grader.spec import load_assignment

    try:
        judge = start_judge(load_assignment(assignment, assignments_dir), include_hidden=include_hidden,
                            device=device, allow_unisolated=allow_unisolated, device_label=device_label)
        judge.ensure_server()
    except GraderError as error:
        connection.send(("failed", str(error)))
        return
    except Exception as error:  # reported to the coordinator, which stops the batch with one line
        connection.send(("failed", f"{type(error).__name__}: {error}"))
        return

    def units() -> Iterator[ExtractedSubmission]:
        while True:
            connection.send(("ready", None))
            message = connection.recv()
            if message is None:
                return
            yield ExtractedSubmission.model_validate_json(message)

    try:
        judge.run(units(), lambda verdict: connection.send(("verdict", verdict.model_dump_json())))
    except GraderError as error:
        connection.send(("failed", str(error)))
    finally:
        judge.close()
    os._exit(0)  # everything is sent and closed; skip tearing torch down (about a second)


class JudgeProcess:
    """One worker_main in a plain subprocess, talking over a socket pair.

    For hosts that may not start multiprocessing children (a Dask worker is a daemonic process).
    ``judge`` hands it one unit and returns ("verdict", JSON), ("failed", message) or
    ("crashed", message); after a crash the next call starts a fresh process.
    """

    def __init__(self, args: tuple):
        self.args = args
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.batch", str(theirs.fileno()), json.dumps(list(self.args))],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(ours.detach())

    def judge(self, unit_json: str) -> tuple[str, str]:
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
        try:
            kind, data = self.connection.recv()
            if kind == "ready":
                self.connection.send(unit_json)
                kind, data = self.connection.recv()
            return kind, data
        except (EOFError, OSError):
            exitcode = self.process.wait()
            self.stop()
            return "crashed", str(exitcode)

    def stop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.send(None)
            except (BrokenPipeError, OSError):
                pass
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.connection is not None:
            self.connection.close()
        self.process = self.connection = None


class _Worker:
    def __init__(self, context, job: dict, device: str):
        """``job``: worker_main's keyword arguments but the device, which is this worker's own."""
        self.device = device
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=worker_main, args=(child_end,), kwargs=dict(job, device=device),
                                       daemon=True)
        self.process.start()
        child_end.close()
        self.current: str | None = None  # the unit it is judging
        self.queued: list[str] = []  # sent ahead, waiting in its pipe

    def send(self, path: str, unit_json: str) -> None:
        self.connection.send(unit_json)
        self.queued.append(path)

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except (BrokenPipeError, OSError):
            pass


def run_pool(assignment: str, units: dict[str, str], *, workers: int, include_hidden: bool, device: str,
             assignments_dir: str | None, on_verdict: Callable[[Verdict], None],
             allow_unisolated: bool = False, devices: list[str] | None = None) -> None:
    """Judge ``units`` (path -> unit JSON) on ``workers`` warm processes; ``on_verdict`` runs here for each.

    ``devices`` (see ``grader.devices.plan_worker_devices``) gives each worker its device, and
    their number; verdicts record ``device``. A worker that dies is replaced on its device.
    Each worker has its next unit waiting in its pipe while it judges one, so it never waits
    for this process to store a verdict before it starts the next submission.
    """
    context = worker_context()
    devices = devices or [device] * workers
    job = dict(assignment=assignment, assignments_dir=assignments_dir, include_hidden=include_hidden,
               allow_unisolated=allow_unisolated, device_label=device, environment=dict(os.environ))
    pending = list(reversed(units))
    attempts: dict[str, int] = {}
    remaining = len(units)

    def start_worker(worker_device: str) -> _Worker:
        worker = _Worker(context, job, worker_device)
        if pending:
            path = pending.pop()
            worker.send(path, units[path])
        return worker

    pool = [start_worker(worker_device) for worker_device in devices[:len(units)]]
    try:
        while remaining > 0:
            if not pool:
                raise GraderError("every grading worker stopped before the batch was done")
            wait([worker.connection for worker in pool] + [worker.process.sentinel for worker in pool])
            for worker in list(pool):
                while worker.connection.poll():
                    try:
                        kind, data = worker.connection.recv()
                    except (EOFError, OSError):
                        break
                    if kind == "ready":  # it takes the unit waiting in its pipe, or the one sent now
                        if not worker.queued and pending:
                            path = pending.pop()
                            worker.send(path, units[path])
                        worker.current = worker.queued.pop(0) if worker.queued else None
                        if worker.current is None:
                            worker.stop()
                            continue
                        attempts[worker.current] = attempts.get(worker.current, 0) + 1
                        if pending:
                            path = pending.pop()
                            worker.send(path, units[path])
                    elif kind == "verdict":
                        worker.current = None
                        remaining -= 1
                        on_verdict(Verdict.model_validate_json(data))
                    elif kind == "failed":
                        raise GraderError(str(data))
                if worker.process.is_alive():
                    continue
                worker.process.join()
                pool.remove(worker)
                pending.extend(reversed(worker.queued))  # never started: no attempt is charged
                lost, worker.current, worker.queued = worker.current, None, []
                if lost is not None and attempts[lost] < MAX_ATTEMPTS:
                    pending.append(lost)
                elif lost is not None:
                    remaining -= 1
                    on_verdict(worker_crash_verdict(assignment, lost, worker.process.exitcode, include_hidden,
                                                    device))
                if pending and len(pool) < len(devices):
                    pool.append(start_worker(worker.device))
    finally:
        for worker in pool:
            worker.stop()
        for worker in pool:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()


def worker_crash_verdict(assignment: str, path: str, exitcode: int | None, include_hidden: bool,
                         device: str) -> Verdict:
    return Verdict(assignment=assignment, submission=path, student=Path(path).stem, status="error",
                   message=f"the grading worker died twice while judging this submission (exit {exitcode}); "
                           "grade it alone to see why",
                   include_hidden=include_hidden, device=device, grader_version=__version__)


if __name__ == "__main__":  # a JudgeProcess: python -m grader.batch FD ARGS_JSON
    worker_main(Connection(int(sys.argv[1])), *json.loads(sys.argv[2]))
