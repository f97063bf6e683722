"""A launched sandbox handed to another process: what its ``WarmWorkerHost`` keeps of the Popen.

A batch's coordinator launches the warm workers first, before it or the pool's fork server
imports torch, so that every process imports torch at once; each pool worker then takes
one over. The worker is not the sandbox's parent, so it watches the process through a pidfd
(``os.pidfd_open``: readable once the process has ended) instead of waitpid; the coordinator,
its parent, reaps it (``Launched.reap``). Only what ``WarmWorkerHost`` uses of a Popen is here.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess

from multiprocessing.reduction import DupFd


def adoption_supported() -> bool:
    return hasattr(os, "pidfd_open")


class AdoptedProcess:
    """A process this one did not start: alive until its pidfd turns readable; exit code unknown (-1)."""

    def __init__(self, pid: int, pidfd: int, stderr_fd: int | None):
        self.pid = pid
        self.pidfd = pidfd
        self.stderr = os.fdopen(stderr_fd, "rb") if stderr_fd is not None else None
        self.returncode: int | None = None

    @classmethod
    def of(cls, process: subprocess.Popen) -> "AdoptedProcess":
        """What another process adopts ``process`` by; pickled (by multiprocessing) with duplicated fds."""
        return cls(process.pid, os.pidfd_open(process.pid),
                   os.dup(process.stderr.fileno()) if process.stderr is not None else None)

    def __reduce__(self):
        return (_rebuild, (self.pid, DupFd(self.pidfd), DupFd(self.stderr.fileno()) if self.stderr else None))

    def poll(self) -> int | None:
        return self.wait(timeout=0, raise_timeout=False)

    def wait(self, timeout: float | None = None, raise_timeout: bool = True) -> int | None:
        if self.returncode is None:
            readable, _, _ = select.select([self.pidfd], [], [], timeout)
            if readable:
                self.returncode = -1
                os.close(self.pidfd)
                self.pidfd = -1
            elif raise_timeout:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except (OSError, AttributeError):
                pass

    def communicate(self, timeout: float | None = None) -> tuple[None, bytes]:
        self.wait(timeout)
        return None, self.stderr.read() if self.stderr is not None else b""


def _rebuild(pid: int, pidfd: DupFd, stderr: DupFd | None) -> AdoptedProcess:
    return AdoptedProcess(pid, pidfd.detach(), stderr.detach() if stderr is not None else None)


def adoptable_copy(host):
    """A copy of a launched ``WarmWorkerHost`` for another process to take over: pickled (by
    multiprocessing, as a pool worker starts) with its control socket and its process's pidfd and
    stderr; call ``let_go`` once that process has started."""
    copy = object.__new__(type(host))
    copy.__dict__.update(host.__dict__)
    copy.process = AdoptedProcess.of(host.process)
    return copy


def let_go(host, copy) -> subprocess.Popen:
    """After the adopter started: close this process's ends (the sandbox then ends when the adopter
    closes its control socket, or dies); the adopter removes its cgroup. Returns the Popen to reap."""
    process = host.process
    for each in (host.control, process.stderr, copy.process.stderr):
        if each is not None:
            each.close()
    os.close(copy.process.pidfd)
    host.control = host.process = host.cgroup = None
    return process


def reap(process: subprocess.Popen, timeout: float) -> None:
    """Wait for a sandbox handed over to a worker; after ``timeout``, kill it (the worker is gone)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
