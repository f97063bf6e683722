"""The local pool: warm judge workers on this machine, one writer.

Each worker is a process forked from a fresh template that has imported torch and pytest
(multiprocessing's fork server; never forked from the coordinator), and that loads the
assignment's checks once and owns one sandbox. The coordinator hands out one unit at a time
to whichever worker asks, receives verdicts as JSON, and is the only one to write the
gradebook. A worker that dies costs only the unit it held: that unit is retried once on a
fresh worker, then stored as an error.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from multiprocessing.connection import wait

from grader import timeline
from grader.errors import GraderError
from grader.executors.base import MAX_ATTEMPTS, JudgeJob, OnVerdict
from grader.executors.messages import Failed, Judged, Ready, decode
from grader.models import ExtractedSubmission, Verdict
from grader.verdicts import Grading


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


# Another worker costs a sandbox's start (torch imported, warm-ups: some 2-3 CPU seconds) and
# gains half of each submission's time: where it takes cores the others need, it pays off only
# past this many submissions (hw2 on a 2-core machine: 30 notebooks took 7.2 CPU s with one
# worker, 11.5 with two).
SUBMISSIONS_PER_EXTRA_WORKER = 50
CORES_FOR_THE_REST = 2  # the judge's template and the coordinator, while the sandboxes start


def auto_workers(submissions: int, cores: int | None = None) -> int:
    """How many workers `grader grade` starts when --workers is not given: as many as start on cores
    nobody else needs, and one more per ``SUBMISSIONS_PER_EXTRA_WORKER`` submissions, up to one per core."""
    cores = cores or default_workers()
    return max(1, min(cores, submissions, max(cores - CORES_FOR_THE_REST, 1 + submissions // SUBMISSIONS_PER_EXTRA_WORKER)))


# What every worker imports, loaded once by multiprocessing's fork server (a process started
# fresh, never forked from the coordinator) and shared by the workers forked from it: torch
# and pytest are imported once for the pool instead of once per worker, and a worker that
# dies is replaced in milliseconds.
WORKER_PRELOAD = ["grader.executors.worker", "grader.judge.runner"]


def worker_context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    # Each worker runs the coordinator's main module again as it starts (multiprocessing's way): from
    # the `grader` command, that is grader.cli, whose imports the template then holds for all of them.
    context.set_forkserver_preload(WORKER_PRELOAD + (["grader.cli"] if "grader.cli" in sys.modules else []))
    return context


def prepare_workers() -> None:
    """Start the workers' fork server now, so its imports overlap with the coordinator's own work."""
    worker_context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


def stop_template() -> None:
    """End the workers' fork server now, as the `grader` command exits: it has torch imported, and left to
    end itself (when it sees this process gone) it takes a second to tear torch down, holding the
    command's stdout and stderr open meanwhile. Every worker has ended by then."""
    forkserver = sys.modules.get("multiprocessing.forkserver")
    pid = getattr(getattr(forkserver, "_forkserver", None), "_forkserver_pid", None)
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class _Worker:
    def __init__(self, context, job: JudgeJob, device: str, start=None):
        """``start``: the batch's ``grader.executors.startup.BatchStart``; the worker takes over one of the
        sandboxes it launched, if one is left."""
        from grader.executors.worker import worker_main

        self.device = device
        self.connection, child_end = context.Pipe(duplex=True)
        worker_job = job.model_copy(update={"device": device, "device_label": job.label})
        server = start.take(device) if start is not None else None
        handed = None
        if server is not None:
            from grader.sandbox.host.adopted import adoptable_copy

            handed = adoptable_copy(server)
        self.process = context.Process(target=worker_main, args=(child_end, worker_job.model_dump_json()),
                                       kwargs=dict(environment=dict(os.environ), server=handed), daemon=True)
        try:
            self.process.start()
        finally:
            if server is not None:
                start.handed_over(server, handed)
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


class PoolExecutor:
    """``devices`` (see ``grader.devices.plan_worker_devices``) gives each worker its device, and their number.

    Each worker has its next unit waiting in its pipe while it judges one, so it never waits
    for this process to store a verdict before it starts the next submission.
    """

    def __init__(self, job: JudgeJob, grading: Grading, devices: list[str], start=None):
        """``start``: the batch's ``BatchStart``, whose sandboxes the first workers take over."""
        self.job = job
        self.grading = grading
        self.devices = devices
        self.start = start

    def judge(self, units: list[ExtractedSubmission], on_verdict: OnVerdict) -> None:
        context = worker_context()
        by_path = {unit.path: unit for unit in units}
        payloads = {unit.path: unit.model_dump_json() for unit in units}
        pending = list(reversed(by_path))
        attempts: dict[str, int] = {}
        remaining = len(by_path)

        def start_worker(worker_device: str, start=None) -> _Worker:
            worker = _Worker(context, self.job, worker_device, start)
            if pending:
                path = pending.pop()
                worker.send(path, payloads[path])
            return worker

        pool = [start_worker(worker_device, self.start) for worker_device in self.devices[:len(by_path)]]
        try:
            while remaining > 0:
                if not pool:
                    raise GraderError("every grading worker stopped before the batch was done")
                wait([worker.connection for worker in pool] + [worker.process.sentinel for worker in pool])
                for worker in list(pool):
                    while worker.connection.poll():
                        try:
                            message = decode(worker.connection.recv())
                        except (EOFError, OSError):
                            break
                        if isinstance(message, Ready):  # it takes the unit waiting in its pipe, or one sent now
                            if not worker.queued and pending:
                                path = pending.pop()
                                worker.send(path, payloads[path])
                            worker.current = worker.queued.pop(0) if worker.queued else None
                            if worker.current is None:
                                worker.stop()
                                continue
                            attempts[worker.current] = attempts.get(worker.current, 0) + 1
                            if pending:
                                path = pending.pop()
                                worker.send(path, payloads[path])
                        elif isinstance(message, Judged):
                            worker.current = None
                            remaining -= 1
                            on_verdict(Verdict.model_validate_json(message.verdict_json))
                        elif isinstance(message, Failed):
                            raise GraderError(message.message)
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
                        on_verdict(self.crash_verdict(by_path[lost], worker.process.exitcode))
                    if pending and len(pool) < len(self.devices):
                        pool.append(start_worker(worker.device))
        finally:
            timeline.mark("pool.stopping")
            for worker in pool:
                worker.stop()
            for worker in pool:
                worker.process.join(timeout=10)
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.process.join()
            timeline.mark("pool.stopped")

    def crash_verdict(self, unit: ExtractedSubmission, exitcode: int | None) -> Verdict:
        return self.grading.error(
            unit.path, unit.student, sha256=unit.sha256,
            message=f"the grading worker died twice while judging this submission (exit {exitcode}); "
                    "grade it alone to see why")
