"""The trusted side of the portable mode: one plain subprocess per submission (see the package)."""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import grader
from grader import interrupts, timeline
from grader.sandbox.host.connection import CapturedOutput, SubmissionConnection
from grader.sandbox.host.errors import CallTimeout, SandboxError

CHILD_MODULE = "grader.sandbox.portable.child"
CONNECT_TIMEOUT_SECONDS = 120  # the child imports torch before it connects
TOKEN_BYTES = 16
GRADER_ROOT = str(Path(grader.__file__).resolve().parent.parent)


class PortableHost:
    """What the judge asks of a warm worker host, with a fresh ``python`` process per submission."""

    def __init__(self) -> None:
        self.reported_layers: dict[str, bool] = {"portable_subprocess": True}
        self.ready = False
        self.children: dict[int, tuple[subprocess.Popen, str]] = {}
        self.open = True

    def launch(self) -> None:
        """Nothing to start ahead: each submission's process is started by ``spawn``."""

    def wait_ready(self) -> None:
        self.ready = True

    def start(self) -> None:
        self.wait_ready()

    def alive(self) -> bool:
        return self.open

    def worker_host_pid(self) -> int | None:
        return None

    def spawn(self, limits: dict) -> "PortableConnection":
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        token = secrets.token_hex(TOKEN_BYTES)
        workdir = tempfile.mkdtemp(prefix="grader-check-")
        environment = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "GRADER"))}
        environment.update({"PYTHONPATH": GRADER_ROOT, "HOME": workdir, "TMPDIR": workdir, "TEMP": workdir,
                            "TMP": workdir, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "utf-8"})
        options = {"port": listener.getsockname()[1], "token": token, "workdir": workdir, "limits": limits}
        new_group = {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if sys.platform == "win32" \
            else {"start_new_session": True}
        process = None
        try:
            with interrupts.deferred():  # held in self.children (which close() ends) before a Ctrl-C unwinds
                process = subprocess.Popen([sys.executable, "-s", "-m", CHILD_MODULE], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir,
                                           env=environment, **new_group)
                self.children[process.pid] = (process, workdir)
            timeline.mark("portable.spawn")
            process.stdin.write(json.dumps(options).encode())
            process.stdin.close()
            rpc = _accept(listener, process, token)  # waits for the child to start and connect: a Ctrl-C may land here
        except BaseException:
            listener.close()
            if process is not None:
                self.finish(process.pid)  # its process group killed, its folder removed
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        listener.close()
        return PortableConnection(self, process, rpc, int(limits.get("output_bytes", 64 << 10)),
                                  int(limits.get("max_transfer_bytes", 256 << 20)))

    def finish(self, pid: int) -> str:
        process, workdir = self.children.pop(pid, (None, None))
        if process is None:
            return "unknown"
        if process.poll() is None:
            try:
                if sys.platform == "win32":
                    process.kill()
                else:
                    os.killpg(process.pid, signal.SIGKILL)  # the student's own subprocesses too
            except (ProcessLookupError, PermissionError):
                pass
        code = process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def close(self) -> None:
        for pid in list(self.children):
            self.finish(pid)
        self.open = False


def _accept(listener: socket.socket, process: subprocess.Popen, token: str) -> socket.socket:
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (process.stderr.read() or b"").decode(errors="replace").strip().splitlines()[-1:]
            raise SandboxError("the submission's process did not start" + (f": {tail[0]}" if tail else ""))
        ready, _, _ = select.select([listener], [], [], 0.2)
        if not ready:
            continue
        connection, _ = listener.accept()
        connection.settimeout(5)
        try:
            offered = connection.recv(2 * TOKEN_BYTES)
        except OSError:
            offered = b""
        if secrets.compare_digest(offered, token.encode()):
            connection.settimeout(None)
            return connection
        connection.close()  # another local program that found the port
    process.kill()
    raise SandboxError("the submission's process did not connect in time")


class PortableConnection(SubmissionConnection):
    """A submission's process over a loopback socket; its output read by threads (pipes cannot be
    selected on Windows). Timeouts are plain timeouts: no CPU accounting tells starvation apart."""

    def __init__(self, server: PortableHost, process: subprocess.Popen, rpc: socket.socket, output_bytes: int,
                 max_transfer_bytes: int):
        self.server = server
        self.process = process
        self.pid = process.pid
        self.rpc = rpc
        self.max_transfer_bytes = max_transfer_bytes
        self.stdout = CapturedOutput(output_bytes)
        self.stderr = CapturedOutput(output_bytes)
        self.alive = True
        self.exit_status: str | None = None
        self.started = time.monotonic()
        self._host_pid = process.pid
        self._since = None
        self.readers = [threading.Thread(target=_copy, args=(stream, into), daemon=True)
                        for stream, into in ((process.stdout, self.stdout), (process.stderr, self.stderr))]
        for reader in self.readers:
            reader.start()

    def host_pid(self) -> int | None:
        return self.process.pid

    def _mark_window(self) -> None:
        pass

    def _timed_out(self, message: str) -> CallTimeout:
        return CallTimeout(message)

    def receive(self, deadline: float, decoder_factory: Callable[[list[bytes]], Any]) -> tuple[dict, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CallTimeout("timed out")
        ready, _, _ = select.select([self.rpc], [], [], remaining)
        if not ready:
            raise CallTimeout("timed out")
        return self._read_message(decoder_factory, deadline)

    def drain_all(self) -> None:
        """Wait briefly for output the process wrote before its last message (the threads copy it)."""
        time.sleep(0.05)

    def finish(self, wait: bool = True) -> None:
        """End the process; ``wait`` is the interface's (``SubmissionConnection.finish``): this host always waits,
        its readers must see the process's last output."""
        if self.exit_status is not None:
            return
        self.exit_status = self.server.finish(self.pid)
        self.alive = False
        for reader in self.readers:
            reader.join(timeout=2)
        self.rpc.close()


def _copy(stream, into: CapturedOutput) -> None:
    try:
        for chunk in iter(lambda: stream.read1(65536), b""):
            into.add(chunk)
    except (OSError, ValueError):
        pass
    finally:
        stream.close()
