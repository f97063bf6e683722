"""The warm worker: imports torch once, then forks one confined process per submission.

Run as ``python -m grader.sandbox.inside.warm_worker OPTIONS_JSON`` by the trusted side
(``grader.sandbox.host.warm_worker``), under bubblewrap when the machine has it, with one
end of a SOCK_SEQPACKET control socket as fd 3. Requests and replies are small JSON packets:

    {"op": "spawn", "limits": {...},  -> {"pid": N} plus three fds (rpc socket, stdout, stderr);
     "join_now": A, "join_next": B}      limits["device"] says cpu, or which GPU and how
       plus A + B fds
    {"op": "finish", "pid": N}        -> {"pid": N, "exit": "...", "steps": {...}}  (the whole tree
                                         is killed, the tmpfs scrubbed; ns per step in "steps")
    {"op": "ping"}                    -> {"layers": {...}}

It never runs student code itself and never touches CUDA (``main`` refuses to serve if
anything it imported did), so every child starts from the same clean state; a child
that grades on the GPU makes its own CUDA context after the fork (``cuda_setup.prepare_child``).
It is a child subreaper: whatever a submission double-forks or daemonises is
re-parented here and killed when that submission finishes.

Each submission's own cgroups (where the machine has them; see ``grader.sandbox.cgroups``)
come as ``cgroup.procs`` files opened by the trusted side. Moving a process between cgroups
waits for an RCU grace period per hierarchy, 10-20 ms on a busy machine; so this worker moves
itself, not the child: into the NEXT submission's cgroups (``join_next``) just after it forked
this one, while this one runs, and the next fork starts in them at no cost. ``join_now`` (the
first spawn) it joins before forking.

After a finish (the last submission's tree killed, the tmpfs scrubbed, the reply sent) the worker
forks the next submission's process at once, in those next cgroups (``prepare_next``): it confines
itself (all of ``confinement.confine`` but the rlimits) and blocks until a spawn writes its limits to
a pipe, so the spawn only hands it over. Nothing of a submission runs while it waits.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

from grader.sandbox import proctree
from grader.sandbox.inside import confinement, cuda_setup, scratch
from grader.sandbox.inside.warmup import cuda_initialized, preload

CONTROL_FD = 3
LIMITS_FD = 4  # in a submission's process, until its limits come
MAX_LIMITS_BYTES = 1 << 20
RPC_BUFFER_BYTES = 4 << 20
MAX_PASSED_FDS = 8


class WarmWorker:
    """The serve loop: spawn a confined child on request, and end it (with everything it started)."""

    def __init__(self, control: socket.socket, options: dict):
        self.control = control
        self.options = options
        self.children: dict[int, str] = {}
        self.exits: dict[int, str] = {}
        self.layers: dict[str, bool] = dict(options.get("layers", {}))
        self.workroot = tempfile.mkdtemp(prefix="grader-work-")
        self.confinement = confinement.plan(options, self.layers)
        gpu_mounts = options.get("gpu") or {}
        self.gpu_environment: dict[str, str] = dict(gpu_mounts.get("environment", {}))
        self.layers["subreaper"] = confinement.prctl(confinement.PR_SET_CHILD_SUBREAPER, 1)
        self.layers["rlimits"] = True
        confinement.prctl(confinement.PR_SET_DUMPABLE, 0)  # a submission running as our uid cannot ptrace us
        self.counter = 0
        # Nanoseconds each step of the per-submission path took, sent back with the finish reply
        # (``WarmWorkerHost.last_steps``): how the overhead per submission is profiled.
        self.steps: dict[str, int] = {}
        self.prefork_steps: dict[str, int] = {}
        self.prepared: PreparedChild | None = None  # the next submission's process, forked while idle
        self.last_on_gpu: bool | None = None  # the last submission's device (GPU or not): the next one's guess
        # Taken before the first submission: what the scrub after each one keeps.
        self.scratch = scratch.Scratch.of_this_sandbox() if self.layers.get("bubblewrap") else None

    def serve(self) -> None:
        while True:
            try:
                packet, fds, _, _ = socket.recv_fds(self.control, 65536, MAX_PASSED_FDS)
            except (ConnectionResetError, OSError):
                packet, fds = b"", []
            if not packet:
                self.kill_everything()
                return
            request = json.loads(packet)
            op = request.get("op")
            if op == "spawn":
                join_now = int(request.get("join_now", 0))
                try:
                    self.steps = {}
                    started = time.perf_counter_ns()
                    confinement.join_cgroups(fds[:join_now])
                    self._step("join_now", started)
                    limits = request.get("limits", {})
                    self.last_on_gpu = _on_gpu(limits)
                    self.spawn(limits, joined_now=join_now > 0)
                    started = time.perf_counter_ns()
                    confinement.join_cgroups(fds[join_now:])
                    self._step("join_next", started)
                finally:
                    for fd in fds:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                continue
            for fd in fds:
                os.close(fd)
            if op == "finish":
                self.finish(int(request["pid"]))
                self.prepare_next()
            elif op == "ping":
                self.control.send(json.dumps({"layers": self.layers, "pid": os.getpid()}).encode())

    def _step(self, name: str, started: int) -> int:
        now = time.perf_counter_ns()
        self.steps[name] = self.steps.get(name, 0) + now - started
        return now

    def spawn(self, limits: dict, joined_now: bool = False) -> None:
        """Start a submission's process: the one prepared after the last finish when it suits these
        limits (and sits in the cgroups the worker sat in then, which are this submission's), else a new fork."""
        started = time.perf_counter_ns()
        on_gpu = _on_gpu(limits)
        prepared, self.prepared = self.prepared, None
        if prepared is not None and (joined_now or prepared.on_gpu != on_gpu or not prepared.start(limits)):
            self._discard(prepared)
            prepared = None
        self.steps.update(self.prefork_steps)
        self.prefork_steps = {}
        if prepared is None:
            prepared = self._fork_child(on_gpu, self.steps, "")
            prepared.start(limits)  # if it died already, the trusted side finds it gone, as for any start
        started = self._step("handover", started)
        self.children[prepared.pid] = prepared.workdir
        socket.send_fds(self.control, [json.dumps({"pid": prepared.pid}).encode()],
                        [prepared.rpc.fileno(), prepared.out_r, prepared.err_r])
        prepared.close_parent_ends()
        self._step("spawn_reply", started)

    def prepare_next(self) -> None:
        """Fork and confine the next submission's process now, while the worker is idle: it waits for its
        limits (``PreparedChild.start``), so the next spawn only hands it over. Only when no submission's
        process is alive (after a finish has killed the last one's tree and scrubbed the tmpfs): nothing a
        submission runs can reach it before it is the current one."""
        if self.prepared is not None or self.children or self.last_on_gpu is None:
            return
        self.prepared = self._fork_child(self.last_on_gpu, self.prefork_steps, "prefork.")

    def _fork_child(self, on_gpu: bool, steps: dict[str, int], prefix: str) -> "PreparedChild":
        started = time.perf_counter_ns()
        self.counter += 1
        os.makedirs(self.workroot, exist_ok=True)
        os.chmod(self.workroot, 0o755)  # a submission running as our uid may have changed it
        workdir = tempfile.mkdtemp(prefix=f"sub{self.counter}-", dir=self.workroot)
        if self.confinement.drop_uid:
            os.chown(workdir, confinement.SANDBOX_UID, confinement.SANDBOX_UID)
        rpc_parent, rpc_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for end in (rpc_parent, rpc_child):
            # Room for a whole message of tensors in flight (the kernel caps it at net.core.wmem_max): a
            # sender with a default 208 KB buffer waits for the reader's every few hundred KB, and both
            # pay a context switch each time.
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RPC_BUFFER_BYTES)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        limits_r, limits_w = os.pipe()
        now = time.perf_counter_ns()
        steps[prefix + "spawn_prepare"] = now - started
        pid = os.fork()
        if pid == 0:
            try:
                for fd in (out_r, err_r, limits_w):
                    os.close(fd)
                rpc_parent.close()
                self.control.close()
                self.become_child(rpc_child, out_w, err_w, limits_r, workdir, on_gpu)
            finally:
                os._exit(70)
        steps[prefix + "fork"] = time.perf_counter_ns() - now
        rpc_child.close()
        for fd in (out_w, err_w, limits_r):
            os.close(fd)
        return PreparedChild(pid, workdir, on_gpu, rpc_parent, out_r, err_r, limits_w)

    def _discard(self, prepared: "PreparedChild") -> None:
        """End a prepared process that will not serve (it never ran student code)."""
        prepared.close_parent_ends()
        for kill in (os.killpg, os.kill):
            try:
                kill(prepared.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.waitpid(prepared.pid, 0)
        except ChildProcessError:
            pass
        scratch.remove_tree(prepared.workdir)

    def become_child(self, rpc: socket.socket, out_w: int, err_w: int, limits_r: int, workdir: str,
                     on_gpu: bool) -> None:
        os.setsid()
        limits_r = fcntl.fcntl(limits_r, fcntl.F_DUPFD, LIMITS_FD + 1)  # out of the way of the dup2s below
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(rpc.fileno(), CONTROL_FD)
        os.dup2(limits_r, LIMITS_FD)
        os.closerange(LIMITS_FD + 1, 1 << 16)
        sock = socket.socket(fileno=CONTROL_FD)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        for name in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGPIPE"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        try:  # when the sandbox's memory runs out, the kernel kills a submission, not the warm worker
            with open("/proc/self/oom_score_adj", "w") as adjust:
                adjust.write("1000")
        except OSError:
            pass
        os.chdir(workdir)
        tempfile.tempdir = None  # computed again from TMPDIR below: the private working directory
        os.environ.clear()
        os.environ.update({"HOME": workdir, "TMPDIR": workdir, "PATH": "/usr/bin:/bin",
                           "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"})
        confinement.confine_except_limits(self.confinement, workdir, on_gpu)
        # Everything above may run before the submission is known; its limits come now (EOF: the
        # worker is gone or discarded this process).
        limits = _read_limits(LIMITS_FD)
        if limits is None:
            os._exit(0)
        confinement.apply_rlimits(limits, address_space=not on_gpu)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        # After the confinement (Landlock binds the calling thread and those it starts later,
        # and CUDA starts threads), before the student's first cell.
        device = limits.get("device") or {"type": "cpu"}
        cuda_setup.prepare_child_or_exit(dict(device, environment=self.gpu_environment))
        from grader.sandbox.inside import student_runtime

        student_runtime.serve(sock, int(limits.get("max_transfer_bytes", 256 << 20)))
        os._exit(0)

    def finish(self, pid: int) -> None:
        started = time.perf_counter_ns()
        status = "unknown"
        # The process itself too: a child finished right after its spawn may not have called
        # setsid yet, so its group does not exist and waitpid below would wait for it forever.
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:  # blocks until the submission's process is gone, instead of polling for it
            _, raw = os.waitpid(pid, 0)
            status = describe_exit(raw)
        except ChildProcessError:
            status = self.exits.pop(pid, status)
        started = self._step("kill_wait", started)
        self.kill_descendants()
        self.reap()
        self.exits.clear()
        started = self._step("kill_descendants", started)
        workdir = self.children.pop(pid, None)
        if workdir:
            scratch.remove_tree(workdir)
        started = self._step("remove_workdir", started)
        scrub_visited = self.scratch.scrub() if self.scratch is not None else None
        self._step("scrub_tmpfs", started)
        self.control.send(json.dumps({"pid": pid, "exit": status, "scrub_visited": scrub_visited,
                                      "steps": self.steps}).encode())

    def kill_descendants(self) -> None:
        """Kill every process below this one, repeating until none is left (a fork bomb races us)."""
        me = os.getpid()
        for _ in range(200):
            victims = proctree.descendants_of(me)
            if not victims:
                return
            for victim in victims:
                try:
                    os.kill(victim, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for victim in proctree.children_of(me) or []:  # wait for our own to die rather than scan again at once
                try:
                    _, raw = os.waitpid(victim, 0)
                except ChildProcessError:
                    continue
                if victim in self.children:
                    self.exits[victim] = describe_exit(raw)
            self.reap()

    def reap(self) -> None:
        while True:
            try:
                pid, raw = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.exits[pid] = describe_exit(raw)

    def kill_everything(self) -> None:
        if self.prepared is not None:
            self._discard(self.prepared)
            self.prepared = None
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.kill_descendants()
        shutil.rmtree(self.workroot, ignore_errors=True)


class PreparedChild:
    """A forked, confined submission's process waiting for its limits, and the worker's ends of its pipes."""

    def __init__(self, pid: int, workdir: str, on_gpu: bool, rpc: socket.socket, out_r: int, err_r: int,
                 limits_w: int):
        self.pid, self.workdir, self.on_gpu = pid, workdir, on_gpu
        self.rpc, self.out_r, self.err_r, self.limits_w = rpc, out_r, err_r, limits_w

    def start(self, limits: dict) -> bool:
        """Send the limits (the process applies them, then serves); False when it is gone."""
        try:
            os.write(self.limits_w, json.dumps(limits).encode())
            os.close(self.limits_w)
        except OSError:
            return False
        finally:
            self.limits_w = -1
        return True

    def close_parent_ends(self) -> None:
        self.rpc.close()
        for fd in (self.out_r, self.err_r, self.limits_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.out_r = self.err_r = self.limits_w = -1


def _on_gpu(limits: dict) -> bool:
    return (limits.get("device") or {}).get("type") == "cuda"


def _read_limits(fd: int) -> dict | None:
    """The limits the worker writes to ``fd`` (then closes it); None at EOF with nothing."""
    chunks, size = [], 0
    while size <= MAX_LIMITS_BYTES:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    os.close(fd)
    if not chunks:
        return None
    limits = json.loads(b"".join(chunks))
    return limits if isinstance(limits, dict) else {}


def describe_exit(raw: int) -> str:
    if os.WIFSIGNALED(raw):
        number = os.WTERMSIG(raw)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit code {os.WEXITSTATUS(raw)}"


def main() -> None:
    options = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    control = socket.socket(fileno=int(options.get("control_fd", CONTROL_FD)))
    preload(options.get("warm_optimizer", True), options.get("batch_warmups", True))
    if cuda_initialized():
        print("grader: the warm worker initialised CUDA before forking; its children could not use the GPU",
              file=sys.stderr, flush=True)
        os._exit(1)
    worker = WarmWorker(control, options)
    control.send(json.dumps({"ready": True, "layers": worker.layers}).encode())
    worker.serve()
    os._exit(0)  # the children are dead and the work folders gone; skip tearing torch down


if __name__ == "__main__":
    main()
