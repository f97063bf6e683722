"""A local batch's start: its sandboxes launched first, before anything heavy is imported here.

At the batch sizes of a course the start-up is most of a run: each sandbox imports torch
(about 1.4 s), and so does the judge (this process for one worker, the pool's fork server for
several). ``BatchStart`` launches the sandboxes as soon as the assignment is known and the
submissions are counted, then the fork server; the coordinator opens the gradebook and
extracts the notebooks while all of them import at once. The executor then takes the
launched sandboxes over (``take``): this process's judge uses one directly, each pool worker
adopts one (``grader.sandbox.host.adopted``). What nobody took is closed at the end.
"""

from __future__ import annotations

import subprocess

from grader.devices import is_cuda
from grader.executors.base import Executor, JudgeJob
from grader.verdicts import Grading

REAP_TIMEOUT_SECONDS = 10


class BatchStart:
    def __init__(self, spec, job: JudgeJob, devices: list[str], submissions: int):
        """``devices``: one per worker (``plan_devices``); ``submissions``: how many files were found."""
        from grader.judge import launch_sandbox

        self.spec, self.job, self.devices = spec, job, devices
        self.launched: list = []  # WarmWorkerHost, not taken yet
        self.taken: list = []  # taken, closed by their judge; by ``close`` if a Ctrl-C came before a judge held it
        self.handed: list[subprocess.Popen] = []  # taken over by a pool worker: this process reaps them
        if len(devices) > 1:
            from grader.sandbox.host.adopted import adoption_supported

            if not adoption_supported():
                devices = []  # each pool worker launches its own, as before
        try:
            for device in devices:
                self.launched.append(launch_sandbox(spec, device, single_submission=submissions == 1))
            if len(self.devices) > 1:
                from grader.executors.pool import prepare_workers

                prepare_workers()  # the pool's template imports torch meanwhile too
        except BaseException:  # a Ctrl-C here too: the caller never gets this object to close
            self.close()
            raise

    def take(self, device: str):
        """A launched sandbox for ``device``, or None (the taker launches its own)."""
        for index, server in enumerate(self.launched):
            if (server.gpu is not None) == is_cuda(device):
                self.taken.append(server)
                return self.launched.pop(index)
        return None

    def handed_over(self, server, copy) -> None:
        """``copy`` of ``server`` went to a pool worker (started, or failed to start)."""
        from grader.sandbox.host.adopted import let_go

        self.handed.append(let_go(server, copy))

    def executor(self, grading: Grading, units: int) -> Executor:
        from grader.executors import InProcessExecutor, PoolExecutor

        devices = self.devices[:max(1, units)]
        while len(self.launched) > (1 if units == 1 else len(devices)):  # fewer to grade than files found
            _discard(self.launched.pop())
        if len(devices) <= 1 or units == 1:
            return InProcessExecutor(self.job.model_copy(update={"device": devices[0], "device_label": self.job.label}),
                                     self.spec, server=self.take(devices[0]))
        return PoolExecutor(self.job, grading, devices, start=self)

    def close(self) -> None:
        from grader.sandbox.host.adopted import reap

        while self.launched:
            _discard(self.launched.pop())
        while self.taken:  # closed already, by the judge that took it or by ``let_go``, unless interrupted first
            _discard(self.taken.pop())
        while self.handed:
            reap(self.handed.pop(), REAP_TIMEOUT_SECONDS)

    def __enter__(self) -> "BatchStart":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _discard(server) -> None:
    """End a launched sandbox nobody took, without waiting for it to finish importing torch."""
    if server.process is not None:
        server.process.kill()  # bubblewrap's --die-with-parent takes the sandbox with it
    server.close()
