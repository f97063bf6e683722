"""Talking to one submission's sandboxed process: framed messages over its socket, its output drained and capped."""

from __future__ import annotations

import os
import selectors
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from grader import wire
from grader.sandbox.host import starvation
from grader.sandbox.host.errors import CallTimeout, ChildGone

if TYPE_CHECKING:
    from grader.sandbox.host.warm_worker import WarmWorkerHost

SEND_TIMEOUT_SECONDS = 30


@dataclass
class CapturedOutput:
    limit: int
    data: bytearray = field(default_factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def discard(self) -> None:
        """Forget what was captured so far (the output of cells run again after a restart)."""
        self.data.clear()
        self.dropped = 0

    def text(self) -> str:
        text = self.data.decode(errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output not kept]"
        return text


class SubmissionConnection:
    """One submission's sandboxed process, seen from the trusted side."""

    _schedstat: starvation.SchedStatFile | None = None  # its schedstat, opened at the first sample

    def __init__(self, server: WarmWorkerHost, pid: int, rpc: socket.socket, out_fd: int, err_fd: int,
                 output_bytes: int, max_transfer_bytes: int):
        self.server = server
        self.pid = pid
        self.rpc = rpc
        self.max_transfer_bytes = max_transfer_bytes
        self.stdout = CapturedOutput(output_bytes)
        self.stderr = CapturedOutput(output_bytes)
        self.selector = selectors.DefaultSelector()
        self.selector.register(rpc, selectors.EVENT_READ, "rpc")
        os.set_blocking(out_fd, False)
        os.set_blocking(err_fd, False)
        self.selector.register(out_fd, selectors.EVENT_READ, self.stdout)
        self.selector.register(err_fd, selectors.EVENT_READ, self.stderr)
        self.pipes = [out_fd, err_fd]
        self.alive = True
        self.exit_status: str | None = None
        self.started = time.monotonic()
        self._host_pid: int | None = None
        self._since: starvation.SchedSample | None = None  # the start of the window a timeout covers

    # telling the student's timeout from the grader's -------------------------------------

    def host_pid(self) -> int | None:
        if self._host_pid is None:
            worker = self.server.worker_host_pid()
            if worker is not None:
                self._host_pid = starvation.host_pid_of(worker, self.pid)
        return self._host_pid

    def _sched_sample(self) -> starvation.SchedSample | None:
        if self._schedstat is None:
            pid = self.host_pid()
            if pid is None:
                return None
            self._schedstat = starvation.SchedStatFile(pid)
        return self._schedstat.sample()

    def _mark_window(self) -> None:
        self._since = self._sched_sample()

    def _timed_out(self, message: str) -> CallTimeout:
        """``CallTimeout``, or ``SubmissionStarved`` when the process was kept from running meanwhile."""
        since = self._since
        now = self._sched_sample() if since is not None else None
        worker = self.server.worker_host_pid()
        if now is None or worker is None:
            return CallTimeout(message)
        report = starvation.StarvationReport(
            window_seconds=now.at - since.at, ran_seconds=now.cpu_seconds - since.cpu_seconds,
            waited_seconds=now.wait_seconds - since.wait_seconds,
            tree_cpu_seconds=starvation.tree_cpu_seconds(worker), life_seconds=now.at - self.started)
        if report.starved:
            return starvation.SubmissionStarved(f"{message}, but the grader kept it from running: "
                                                f"{report.describe()}", report)
        return CallTimeout(message)

    def send(self, header: dict, payload: Any = None, to_handle: Callable[[Any], wire.Handle] | None = None) -> None:
        if not self.alive:
            raise ChildGone("the submission's process is no longer running")
        self._mark_window()
        self.rpc.settimeout(SEND_TIMEOUT_SECONDS)  # a child that stops reading cannot block the judge
        try:
            wire.send_message(self.rpc, header, payload, to_handle=to_handle,
                              max_blob_bytes=self.max_transfer_bytes)
        except socket.timeout:
            self.alive = False
            raise self._timed_out("the submission's process stopped reading") from None
        except (BrokenPipeError, ConnectionResetError) as error:
            self.alive = False
            raise ChildGone("the submission's process ended") from error
        finally:
            self.rpc.settimeout(None)

    def receive(self, deadline: float, decoder_factory: Callable[[list[bytes]], wire.Decoder]) -> tuple[dict, Any]:
        """Wait for the next message until ``deadline`` (time.monotonic), draining output meanwhile."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out("timed out")
            for key, _ in self.selector.select(timeout=remaining):
                if key.data == "rpc":
                    message = self._read_message(decoder_factory, deadline)
                    self._mark_window()  # the next event (a cell's end) is timed from this one
                    return message
                self._drain(key)

    def _read_message(self, decoder_factory, deadline: float) -> tuple[dict, Any]:
        # The whole frame must arrive by the call's deadline: a child that trickles bytes or
        # stalls mid-frame times out like one that never answers.
        try:
            header, blobs = wire.receive_message(self.rpc, self.max_transfer_bytes, deadline)
        except socket.timeout:
            raise self._timed_out("timed out mid-message") from None
        except (wire.ConnectionClosed, ConnectionResetError) as error:
            self.alive = False
            raise ChildGone("the submission's process ended") from error
        except (RecursionError, ValueError, TypeError) as error:
            raise wire.WireError(f"malformed message ({type(error).__name__})") from None
        finally:
            self.rpc.settimeout(None)
        try:
            payload = decoder_factory(blobs).decode(header.get("payload"))
        except wire.WireError:
            raise
        except Exception as error:  # whatever the student's process sends, it stays data or is refused
            raise wire.WireError(f"malformed message ({type(error).__name__})") from None
        return header, payload

    def _drain(self, key) -> None:
        try:
            chunk = os.read(key.fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            key.data.add(chunk)
        else:
            self.selector.unregister(key.fd)

    def drain_all(self) -> None:
        for key in list(self.selector.get_map().values()):
            if key.data != "rpc":
                for _ in range(64):
                    try:
                        chunk = os.read(key.fd, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    key.data.add(chunk)

    def finish(self, wait: bool = True) -> None:
        """End the process tree. ``wait=False`` (the submission is done, its process idle): what it wrote
        is read first, then the warm worker is asked to end it, and this side goes on without waiting
        (the reply is read before the worker's next submission; ``WarmWorkerHost.finish``)."""
        if self.exit_status is not None:
            return
        if not wait:
            self.drain_all()
        self.exit_status = self.server.finish(self.pid, wait=wait)
        self.alive = False
        self.drain_all()
        self.selector.close()
        self.rpc.close()
        if self._schedstat is not None:
            self._schedstat.close()
        for fd in self.pipes:
            os.close(fd)
