"""The trusted side's handle on the sandbox: start the warm fork server, spawn children, talk to them."""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader import wire
from grader.sandbox import cgroups
from grader.sandbox.layers import SandboxLayers, detect_layers

GRADER_PACKAGE_DIR = Path(__file__).resolve().parent.parent
SANDBOX_PACKAGE_ROOT = "/opt/grader-runtime"
READY_TIMEOUT_SECONDS = 120
SEND_TIMEOUT_SECONDS = 30
# Ending a submission takes milliseconds; a warm worker that does not answer in this time
# was stopped or broken by it (it shares the sandbox's uid) and is replaced.
FINISH_TIMEOUT_SECONDS = 10
CGROUP_WORKER_TASKS = 4  # bubblewrap (two processes) and the warm worker, plus one to spare
CGROUP_WORKER_BYTES = 512 << 20


class SandboxError(Exception):
    """The sandbox itself failed (could not start, died unexpectedly)."""


class ChildGone(SandboxError):
    """The submission's process ended (it exited, crashed or was killed)."""


class CallTimeout(SandboxError):
    pass


class ForkServer:
    """A warm process with torch imported that forks one confined child per submission."""

    def __init__(self, layers: SandboxLayers | None = None, max_processes: int = 64,
                 memory_bytes: int = 2048 << 20):
        self.layers = layers or detect_layers()
        self.max_processes = max_processes
        self.memory_bytes = memory_bytes
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.cgroup: cgroups.SandboxCgroup | None = None
        self.reported_layers: dict[str, bool] = {}

    def start(self) -> None:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        options = {
            "control_fd": child_end.fileno(),
            "unshare_network": not self.layers.bwrap,
            "landlock": self.layers.landlock_allowed,
            "layers": {"bubblewrap": self.layers.bwrap, "network_namespace": self.layers.bwrap,
                       "filesystem_isolation": self.layers.bwrap, "scrubbed_environment": True},
        }
        if cgroups.available():
            # Room for the warm worker itself (its threads count as tasks). Files in the
            # in-memory /tmp are charged to the submission that wrote them.
            self.cgroup = cgroups.SandboxCgroup(max_tasks=self.max_processes + CGROUP_WORKER_TASKS,
                                                memory_bytes=self.memory_bytes + CGROUP_WORKER_BYTES)
        options["layers"]["cgroup_limits"] = self.cgroup is not None
        command = self._command(options)
        self.process = subprocess.Popen(
            command, pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self._environment(),
            cwd="/", start_new_session=True, preexec_fn=self.cgroup.enter if self.cgroup else None,
        )
        child_end.close()
        self.control = parent_end
        self.control.settimeout(READY_TIMEOUT_SECONDS)
        try:
            ready = json.loads(self.control.recv(65536) or b"{}")
        except (socket.timeout, json.JSONDecodeError, OSError):
            ready = {}
        if not ready.get("ready"):
            self.close()
            raise SandboxError("the sandbox's warm worker did not start"
                               + (f": {self._stderr_tail()}" if self.process else ""))
        self.control.settimeout(None)
        self.reported_layers = ready.get("layers", {})

    def _command(self, options: dict) -> list[str]:
        python = [sys.executable, "-s", "-P", "-m", "grader.sandbox.forkserver"]
        if not self.layers.bwrap:
            return python + [json.dumps(options)]
        return self.layers.bwrap_command(GRADER_PACKAGE_DIR, SANDBOX_PACKAGE_ROOT, self._environment()) + python + [json.dumps(options)]

    def _environment(self) -> dict[str, str]:
        root = SANDBOX_PACKAGE_ROOT if self.layers.bwrap else str(GRADER_PACKAGE_DIR.parent)
        return {"PATH": "/usr/bin:/bin", "PYTHONPATH": root, "LANG": "C.UTF-8",
                "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}

    def _stderr_tail(self) -> str:
        assert self.process is not None
        try:
            self.process.kill()
            _, err = self.process.communicate(timeout=5)
            lines = (err or b"").decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else f"exit code {self.process.returncode}"
        except Exception as error:  # best effort: only for the message
            return str(error)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self, limits: dict) -> "Child":
        if not self.alive():
            raise SandboxError("the sandbox's warm worker is not running")
        assert self.control is not None
        self.control.send(json.dumps({"op": "spawn", "limits": limits}).encode())
        message, fds, _, _ = socket.recv_fds(self.control, 65536, 3)
        if not message or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            raise SandboxError("the sandbox's warm worker died while starting a submission")
        pid = json.loads(message)["pid"]
        rpc = socket.socket(fileno=fds[0])
        return Child(self, pid, rpc, fds[1], fds[2], int(limits.get("output_bytes", 64 << 10)),
                     int(limits.get("max_transfer_bytes", wire.DEFAULT_MAX_BLOB_BYTES)))

    def finish(self, pid: int) -> str:
        if not self.alive():
            return "worker gone"
        assert self.control is not None
        self.control.send(json.dumps({"op": "finish", "pid": pid}).encode())
        self.control.settimeout(FINISH_TIMEOUT_SECONDS)
        try:
            reply = json.loads(self.control.recv(65536) or b"{}")
        except (socket.timeout, OSError, json.JSONDecodeError):
            self.close()
            return "worker gone"
        finally:
            if self.control is not None:
                self.control.settimeout(None)
        return str(reply.get("exit", "unknown"))

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            try:
                self.process.wait(timeout=FINISH_TIMEOUT_SECONDS / 2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


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

    def text(self) -> str:
        text = self.data.decode(errors="replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes of output not kept]"
        return text


class Child:
    """One submission's sandboxed process, seen from the trusted side."""

    def __init__(self, server: ForkServer, pid: int, rpc: socket.socket, out_fd: int, err_fd: int,
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

    def send(self, header: dict, payload: Any = None, to_handle: Callable[[Any], wire.Handle] | None = None) -> None:
        if not self.alive:
            raise ChildGone("the submission's process is no longer running")
        self.rpc.settimeout(SEND_TIMEOUT_SECONDS)  # a child that stops reading cannot block the judge
        try:
            wire.send_message(self.rpc, header, payload, to_handle=to_handle,
                              max_blob_bytes=self.max_transfer_bytes)
        except socket.timeout:
            self.alive = False
            raise CallTimeout("the submission's process stopped reading") from None
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
                raise CallTimeout("timed out")
            for key, _ in self.selector.select(timeout=remaining):
                if key.data == "rpc":
                    return self._read_message(decoder_factory, deadline)
                self._drain(key)

    def _read_message(self, decoder_factory, deadline: float) -> tuple[dict, Any]:
        # The whole frame must arrive by the call's deadline: a child that trickles bytes or
        # stalls mid-frame times out like one that never answers.
        try:
            header, blobs = wire.receive_message(self.rpc, self.max_transfer_bytes, deadline)
        except socket.timeout:
            raise CallTimeout("timed out mid-message") from None
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

    def finish(self) -> None:
        if self.exit_status is not None:
            return
        self.exit_status = self.server.finish(self.pid)
        self.alive = False
        self.drain_all()
        self.selector.close()
        self.rpc.close()
        for fd in self.pipes:
            os.close(fd)
