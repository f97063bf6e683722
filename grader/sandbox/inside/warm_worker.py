"""The warm worker: imports torch once, then forks one confined process per submission.

Run as ``python -m grader.sandbox.inside.warm_worker OPTIONS_JSON`` by the trusted side
(``grader.sandbox.host.warm_worker``), under bubblewrap when the machine has it, with one
end of a SOCK_SEQPACKET control socket as fd 3. Requests and replies are small JSON packets:

    {"op": "spawn", "limits": {...},  -> {"pid": N} plus three fds (rpc socket, stdout, stderr);
     "join_now": A, "join_next": B}      limits["device"] says cpu, or which GPU and how
       plus A + B fds
    {"op": "finish", "pid": N}        -> {"pid": N, "exit": "..."}  (the whole tree is killed)
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
"""

from __future__ import annotations

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
                    self.spawn(request.get("limits", {}))
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
            elif op == "ping":
                self.control.send(json.dumps({"layers": self.layers, "pid": os.getpid()}).encode())

    def _step(self, name: str, started: int) -> int:
        now = time.perf_counter_ns()
        self.steps[name] = self.steps.get(name, 0) + now - started
        return now

    def spawn(self, limits: dict) -> None:
        started = time.perf_counter_ns()
        self.counter += 1
        os.makedirs(self.workroot, exist_ok=True)
        os.chmod(self.workroot, 0o755)  # a submission running as our uid may have changed it
        workdir = tempfile.mkdtemp(prefix=f"sub{self.counter}-", dir=self.workroot)
        if self.confinement.drop_uid:
            os.chown(workdir, confinement.SANDBOX_UID, confinement.SANDBOX_UID)
        rpc_parent, rpc_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        started = self._step("spawn_prepare", started)
        pid = os.fork()
        if pid == 0:
            try:
                os.close(out_r)
                os.close(err_r)
                rpc_parent.close()
                self.control.close()
                self.become_child(rpc_child, out_w, err_w, workdir, limits)
            finally:
                os._exit(70)
        started = self._step("fork", started)
        rpc_child.close()
        os.close(out_w)
        os.close(err_w)
        self.children[pid] = workdir
        socket.send_fds(self.control, [json.dumps({"pid": pid}).encode()],
                        [rpc_parent.fileno(), out_r, err_r])
        rpc_parent.close()
        os.close(out_r)
        os.close(err_r)
        self._step("spawn_reply", started)

    def become_child(self, rpc: socket.socket, out_w: int, err_w: int, workdir: str, limits: dict) -> None:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.dup2(rpc.fileno(), CONTROL_FD)
        os.closerange(CONTROL_FD + 1, 1 << 16)
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
        device = limits.get("device") or {"type": "cpu"}
        confinement.confine(self.confinement, workdir, limits, on_gpu=device.get("type") == "cuda")
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        # After the confinement (Landlock binds the calling thread and those it starts later,
        # and CUDA starts threads), before the student's first cell.
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
        if self.scratch is not None:
            self.scratch.scrub()
        self._step("scrub_tmpfs", started)
        self.control.send(json.dumps({"pid": pid, "exit": status, "steps": self.steps}).encode())

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
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.kill_descendants()
        shutil.rmtree(self.workroot, ignore_errors=True)


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
