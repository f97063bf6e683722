"""The trusted side's handle on the warm worker: start it, and have it start submissions' processes.

Importing this module does not import torch, so a process can launch its sandbox first
and load torch while the sandbox loads its own.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import grader
from grader import interrupts, timeline
from grader.devices import is_cuda
from grader.sandbox import cgroups, proctree
from grader.sandbox.gpu import GpuMounts
from grader.sandbox.host.errors import SandboxError
from grader.sandbox.host.gpu import host_mounts
from grader.sandbox.layers import SandboxLayers, detect_layers, python_paths, system_paths

if TYPE_CHECKING:
    from grader.sandbox.host.connection import SubmissionConnection

GRADER_PACKAGE_DIR = Path(grader.__file__).resolve().parent
# The module the warm worker runs as (``python -m``): how its process is told apart in /proc.
WARM_WORKER_MODULE = "grader.sandbox.inside.warm_worker"
SANDBOX_PACKAGE_ROOT = "/opt/grader-runtime"
READY_TIMEOUT_SECONDS = 120
DEFAULT_TRANSFER_BYTES = 256 << 20
# Ending a submission takes milliseconds; a warm worker that does not answer in this time
# was stopped or broken by it (it shares the sandbox's uid) and is replaced.
FINISH_TIMEOUT_SECONDS = 10
CGROUP_WORKER_TASKS = 4  # bubblewrap (two processes) and the warm worker, plus one to spare
CGROUP_WORKER_BYTES = 512 << 20
# A CUDA child's host memory beyond the student's: the driver's and the CUDA libraries' own.
CGROUP_CUDA_EXTRA_BYTES = 3072 << 20

# Every warm worker launched by this process and not closed yet, closed as it exits (the `grader` program runs
# the exit handlers): without bubblewrap's --die-with-parent, one whose owner a Ctrl-C skipped would live on.
_UNCLOSED: set["WarmWorkerHost"] = set()


@atexit.register
def _close_unclosed() -> None:
    while _UNCLOSED:
        _UNCLOSED.pop().close()


class WarmWorkerHost:
    """Launches the warm worker (a process inside the sandbox with torch imported, which forks one
    confined process per submission) and asks it for those processes."""

    def __init__(self, layers: SandboxLayers | None = None, max_processes: int = 64,
                 memory_bytes: int = 2048 << 20, gpu: GpuMounts | None = None, warm_optimizer: bool = True,
                 batch_warmups: bool = True, finish_timeout_seconds: float = FINISH_TIMEOUT_SECONDS):
        """``gpu``: the device nodes and driver files to show the children (CUDA runs); None on CPU.

        ``finish_timeout_seconds``: how long a submission's teardown may take before the worker is judged
        stopped or broken by it and is closed (``FINISH_TIMEOUT_SECONDS``; a test lowers it to make a
        teardown outlast it with a hundred thousand files instead of millions).

        Warm-ups that pay off over a batch, not for one submission: ``warm_optimizer`` takes
        torch's first optimizer step before forking (about 1 s: it imports torch._dynamo), so no
        child pays it; ``batch_warmups`` runs common torch paths once (``inside.warmup.warm_common_paths``)
        and backs the worker's memory with huge pages (0.5 s), which makes each fork and exit some
        20 ms cheaper (``grader.sandbox.hugepages``).
        """
        self.warm_optimizer = warm_optimizer
        self.finish_timeout_seconds = finish_timeout_seconds
        self.batch_warmups = batch_warmups
        self.layers = layers or detect_layers()
        self.max_processes = max_processes
        self.memory_bytes = memory_bytes
        self.gpu = gpu
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.cgroup: cgroups.SandboxCgroup | None = None
        self.submission_cgroups: dict[int, cgroups.SubmissionCgroup] = {}
        self.prepared_cgroup: cgroups.SubmissionCgroup | None = None  # the next submission's
        self._worker_host_pid: int | None = None
        self.cpu_cgroup = False
        self.reported_layers: dict[str, bool] = {}
        self.ready = False
        self._last_scrub_visited: int | None = None
        self._finishing: tuple[int, int] | None = None  # (pid, started ns) of a finish whose reply is unread
        # Nanoseconds per step of the last submission's spawn and finish, this side's and the warm
        # worker's ("worker." names; numbers it reported, for profiling only, never trusted).
        self.last_steps: dict[str, int] = {}

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the warm worker's process; it imports torch meanwhile (see ``wait_ready``)."""
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        options = {
            "control_fd": child_end.fileno(),
            "unshare_network": not self.layers.bwrap,
            "landlock": self.layers.landlock_allowed,
            "warm_optimizer": self.warm_optimizer,
            "batch_warmups": self.batch_warmups,
            "layers": {"bubblewrap": self.layers.bwrap, "network_namespace": self.layers.bwrap,
                       "filesystem_isolation": self.layers.bwrap, "scrubbed_environment": True},
        }
        if self.gpu is not None:
            options["gpu"] = {"devices": self.gpu.devices, "read_only": self.gpu.read_only,
                              "environment": self.gpu.environment}
        if cgroups.available():
            # Room for the warm worker itself (its threads count as tasks). Files in the
            # in-memory /tmp are charged to the submission that wrote them.
            extra = CGROUP_CUDA_EXTRA_BYTES if self.gpu is not None else 0
            self.cgroup = cgroups.SandboxCgroup(max_tasks=self.max_processes + CGROUP_WORKER_TASKS,
                                                memory_bytes=self.memory_bytes + CGROUP_WORKER_BYTES + extra)
        options["layers"]["cgroup_limits"] = self.cgroup is not None
        options["layers"]["cgroup_per_submission"] = self.cgroup is not None
        self.cpu_cgroup = self.cgroup is not None and cgroups.cpu_available()
        options["layers"]["cpu_share_per_submission"] = self.cpu_cgroup
        command = self._command(options)
        with interrupts.deferred():  # a Ctrl-C while Popen waits for the exec would lose the started process
            self.process = subprocess.Popen(
                command, pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self._environment(),
                cwd="/", start_new_session=True, preexec_fn=self.cgroup.enter if self.cgroup else None,
            )
            self.control = parent_end
            _UNCLOSED.add(self)
        child_end.close()
        timeline.mark("sandbox.launch")

    def wait_ready(self) -> None:
        assert self.control is not None, "launch() first"
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
        self.ready = True
        timeline.mark("sandbox.ready")

    def _command(self, options: dict) -> list[str]:
        python = [sys.executable, "-s", "-P", "-m", WARM_WORKER_MODULE]
        if not self.layers.bwrap:
            return python + [json.dumps(options)]
        return self.layers.bwrap_command(GRADER_PACKAGE_DIR, SANDBOX_PACKAGE_ROOT, self._environment(),
                                         gpu=self.gpu) + python + [json.dumps(options)]

    def _environment(self) -> dict[str, str]:
        root = SANDBOX_PACKAGE_ROOT if self.layers.bwrap else str(GRADER_PACKAGE_DIR.parent)
        return {"PATH": "/usr/bin:/bin", "PYTHONPATH": root, "LANG": "C.UTF-8",
                "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/grader-matplotlib"}  # pyplot is preloaded: off-screen

    def _stderr_tail(self) -> str:
        assert self.process is not None
        try:
            self.process.kill()
            _, err = self.process.communicate(timeout=5)
            lines = (err or b"").decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else f"exit code {self.process.returncode}"
        except Exception as error:  # best effort: only for the message
            return str(error)

    def worker_host_pid(self) -> int | None:
        """The warm worker's pid as this side sees it (under bubblewrap, below its two processes)."""
        if self.process is None:
            return None
        if not self.layers.bwrap:
            return self.process.pid
        if self._worker_host_pid is None:
            for pid in proctree.descendants_of(self.process.pid):
                if proctree.read_proc(pid, "comm").strip() != b"bwrap" and \
                        WARM_WORKER_MODULE.encode() in proctree.read_proc(pid, "cmdline"):
                    self._worker_host_pid = pid
                    break
        return self._worker_host_pid

    def alive(self) -> bool:
        """The worker can take a submission: running, and the last teardown asked for without waiting
        (``finish(wait=False)``) answered in time (one that did not, closed it: a fresh worker is started
        for the next submission instead of that submission failing)."""
        self.settle()
        return self.process is not None and self.process.poll() is None

    @classmethod
    def for_limits(cls, limits, device: str = "cpu", warm_optimizer: bool = True,
                   batch_warmups: bool = True) -> "WarmWorkerHost":
        """A warm worker sized for an assignment's limits (``grader.spec.Limits``), on ``device``."""
        gpu = host_mounts(python_paths() + system_paths()) if is_cuda(device) else None
        return cls(max_processes=limits.processes, memory_bytes=limits.memory_mb << 20, gpu=gpu,
                   warm_optimizer=warm_optimizer, batch_warmups=batch_warmups)

    def spawn(self, limits: dict) -> SubmissionConnection:
        if not self.alive():  # reads a pending finish reply first (settle)
            raise SandboxError("the sandbox's warm worker is not running")
        assert self.control is not None
        self.last_steps = {}
        started = time.perf_counter_ns()
        # The warm worker already sits in this submission's cgroups (it moved there after the last
        # spawn), or joins them now (the first); it moves into the next one's after forking.
        cgroup, join_now = self.prepared_cgroup, []
        if self.cgroup is not None and cgroup is None:
            cgroup = self._submission_cgroup(limits)
            join_now = cgroup.procs_fds
        following = self._submission_cgroup(limits) if self.cgroup is not None else None
        join_next = following.procs_fds if following is not None else []
        self.prepared_cgroup = following
        started = self._step("host.make_cgroups", started)
        request = json.dumps({"op": "spawn", "limits": limits, "join_now": len(join_now),
                              "join_next": len(join_next)}).encode()
        try:
            socket.send_fds(self.control, [request], join_now + join_next)
            message, fds, _, _ = socket.recv_fds(self.control, 65536, 3)
        except OSError:
            message, fds = b"", []
        started = self._step("host.spawn_request", started)
        for made in (cgroup, following):
            if made is not None:
                made.close_fds()
        if not message or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError("the sandbox's warm worker died while starting a submission")
        # imports torch (for the wire); the launch above does not
        from grader.sandbox.host.connection import SubmissionConnection

        pid = json.loads(message)["pid"]
        if cgroup is not None:
            self.submission_cgroups[pid] = cgroup
        rpc = socket.socket(fileno=fds[0])
        return SubmissionConnection(self, pid, rpc, fds[1], fds[2], int(limits.get("output_bytes", 64 << 10)),
                                    int(limits.get("max_transfer_bytes", DEFAULT_TRANSFER_BYTES)))

    def _submission_cgroup(self, limits: dict) -> cgroups.SubmissionCgroup:
        """A submission's own cgroups, sized as the warm worker's whole sandbox was before: the
        worker's share is room for the pages of the warm worker that the child copies; one task
        more for the warm worker, which sits in them while it forks the submission."""
        extra = CGROUP_CUDA_EXTRA_BYTES if self.gpu is not None else 0
        try:
            return cgroups.SubmissionCgroup(
                max_tasks=int(limits.get("processes", self.max_processes)) + 1,
                memory_bytes=int(limits.get("memory_bytes", self.memory_bytes)) + CGROUP_WORKER_BYTES + extra,
                cpu=self.cpu_cgroup)
        except OSError as error:
            raise SandboxError(f"could not make the submission's cgroup ({error})") from None

    def finish(self, pid: int, wait: bool = True) -> str:
        """End a submission's process tree (the worker kills it and scrubs the tmpfs); its exit status.

        ``wait=False``: only ask, and return "finishing"; the reply is read before the next request
        on the control socket (``settle``), so the worker tears the tree down while this side builds
        and stores the verdict. Nothing of the next submission starts before the reply came.
        """
        if not self.alive():  # reads a pending finish reply first (settle)
            return "worker gone"
        assert self.control is not None
        started = time.perf_counter_ns()
        self.control.send(json.dumps({"op": "finish", "pid": pid}).encode())
        if not wait:
            self._finishing = (pid, started)
            return "finishing"
        return self._finish_reply(pid, started)

    def settle(self) -> None:
        """Read the reply of a finish asked for without waiting (``finish(wait=False)``), if any."""
        if self._finishing is not None:
            pid, started = self._finishing
            self._finishing = None
            self._finish_reply(pid, started)

    def last_scrub_visited(self) -> int | None:
        """How many entries the last scrub of the sandbox's tmpfs looked at (the tests read it). A method, not a
        property: it first reads a pending finish reply (``settle``), which waits on the control socket."""
        self.settle()
        return self._last_scrub_visited

    def _finish_reply(self, pid: int, started: int) -> str:
        if self.control is None:
            return "worker gone"
        self.control.settimeout(self.finish_timeout_seconds)
        try:
            raw = self.control.recv(65536)
            if not raw:  # the worker died while it tore the tree down
                raise OSError("the warm worker closed its control socket")
            reply = json.loads(raw)
        except (socket.timeout, OSError, json.JSONDecodeError):
            self.close()
            return "worker gone"
        finally:
            if self.control is not None:
                self.control.settimeout(None)
            started = self._step("host.finish_request", started)
            self._remove_submission_cgroup(pid)
            self._step("host.remove_cgroups", started)
        self._last_scrub_visited = reply.get("scrub_visited")
        steps = reply.get("steps") if isinstance(reply, dict) else None
        if isinstance(steps, dict):
            self.last_steps.update({f"worker.{name}"[:64]: value for name, value in list(steps.items())[:32]
                                    if isinstance(value, int)})
        return str(reply.get("exit", "unknown"))

    def _step(self, name: str, started: int) -> int:
        now = time.perf_counter_ns()
        self.last_steps[name] = now - started
        return now

    def _remove_submission_cgroup(self, pid: int) -> None:
        cgroup = self.submission_cgroups.pop(pid, None)
        if cgroup is not None:
            cgroup.remove()

    def __enter__(self) -> "WarmWorkerHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.settle()
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            if not self.ready:
                # Launched, never waited for (a Ctrl-C as the judge imported torch): it notices the closed
                # socket only when it reports ready, seconds from now; it has nothing to finish.
                self.process.kill()
            try:
                self.process.wait(timeout=self.finish_timeout_seconds / 2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stderr:
                self.process.stderr.close()
            self.process = None
        self._worker_host_pid = None
        for pid in list(self.submission_cgroups):
            self._remove_submission_cgroup(pid)
        if self.prepared_cgroup is not None:
            self.prepared_cgroup.remove()
            self.prepared_cgroup = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        _UNCLOSED.discard(self)
