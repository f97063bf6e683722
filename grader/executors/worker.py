"""One judge worker process: a warm judge that grades whatever units its coordinator sends.

Used by the local pool (a multiprocessing child forked from the pool's template) and by the
Dask executor (``JudgeProcess``: a plain subprocess, since a Dask worker is a daemonic process
that may not start multiprocessing children). Messages are ``grader.executors.messages``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Iterator

from grader import timeline
from grader.errors import GraderError
from grader.executors.base import JudgeJob
from grader.executors.messages import Crashed, Failed, Judged, Ready, decode, encode
from grader.models import ExtractedSubmission
from grader.sandbox.host.errors import SandboxError


def worker_main(connection: Connection, job_json: str, environment: dict[str, str] | None = None,
                server=None) -> None:
    """The body of one worker process: judge the units the coordinator sends, until it sends None.

    ``environment``: the coordinator's, as it is now; a worker forked from the pool's template
    would otherwise see the template's, from when it started. ``server``: a sandbox the coordinator
    launched for it (``grader.sandbox.host.adopted``); else it launches its own.
    """
    if environment is not None:
        os.environ.clear()
        os.environ.update(environment)
    from grader.judge import start_judge
    from grader.spec import load_assignment

    job = JudgeJob.model_validate_json(job_json)
    try:
        judge = start_judge(load_assignment(job.assignment, job.assignments_dir), include_hidden=job.include_hidden,
                            device=job.device, allow_unisolated=job.allow_unisolated, device_label=job.label,
                            server=server)
    except GraderError as error:
        connection.send(encode(Failed(message=str(error))))
        return
    except Exception as error:  # reported to the coordinator, which stops the batch with one line
        connection.send(encode(Failed(message=f"{type(error).__name__}: {error}")))
        return

    def units() -> Iterator[ExtractedSubmission]:
        while True:
            connection.send(encode(Ready()))
            message = connection.recv()
            if message is None:
                return
            yield ExtractedSubmission.model_validate_json(message)

    try:
        with judge:
            judge.run(units(), lambda verdict: connection.send(encode(Judged(verdict_json=verdict.model_dump_json()))))
            timeline.mark("worker.done")
    except GraderError as error:
        connection.send(encode(Failed(message=str(error))))
    except SandboxError as error:  # its sandbox could not start (the checks were collected meanwhile)
        connection.send(encode(Failed(message=f"{type(error).__name__}: {error}")))
    timeline.mark("worker.closed")
    os._exit(0)  # everything is sent and closed; skip tearing torch down (about a second)


class JudgeProcess:
    """One worker_main in a plain subprocess, talking over a socket pair.

    ``judge`` hands it one unit and returns Judged, Failed or Crashed; after a crash the next
    call starts a fresh process.
    """

    def __init__(self, job: JudgeJob):
        self.job = job
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.executors.worker", str(theirs.fileno()), self.job.model_dump_json()],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(ours.detach())

    def judge(self, unit_json: str) -> Judged | Failed | Crashed:
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self.start()
        try:
            message = decode(self.connection.recv())
            if isinstance(message, Ready):
                self.connection.send(unit_json)
                message = decode(self.connection.recv())
            return message
        except (EOFError, OSError):
            exitcode = self.process.wait()
            self.stop()
            return Crashed(exitcode=exitcode)

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


if __name__ == "__main__":  # a JudgeProcess: python -m grader.executors.worker FD JOB_JSON
    worker_main(Connection(int(sys.argv[1])), sys.argv[2])
