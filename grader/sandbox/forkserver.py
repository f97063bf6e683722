"""The warm worker: imports torch once, then forks one confined child per submission.

Started by the trusted side (under bubblewrap when the machine has it) with one end of
a SOCK_SEQPACKET control socket as fd 3. Requests and replies are small JSON packets:

    {"op": "spawn", "limits": {...}}  -> {"pid": N} plus three fds (rpc socket, stdout, stderr);
                                         limits["device"] says cpu, or which GPU and how
    {"op": "finish", "pid": N}        -> {"pid": N, "exit": "..."}  (the whole tree is killed)
    {"op": "ping"}                    -> {"layers": {...}}

It never runs student code itself and never touches CUDA (``main`` refuses to serve if
anything it imported did), so every child starts from the same clean state; a child
that grades on the GPU makes its own CUDA context after the fork (``gpu.prepare_child``).
It is a child subreaper: whatever a submission double-forks or daemonises is
re-parented here and killed when that submission finishes.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile

from grader.sandbox import gpu, hugepages, landlock
from grader.sandbox.layers import python_paths, system_paths

CONTROL_FD = 3
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
M_MMAP_THRESHOLD = -3
MALLOC_MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest
MALLOC_TRIM_THRESHOLD_BYTES = 128 << 20
CLONE_NEWNET = 0x40000000
SANDBOX_UID = 65534
DEVICE_FILES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"]
PRELOADED_MODULES = (
    "math", "random", "collections", "itertools", "functools", "typing", "dataclasses",
    "copy", "time", "statistics", "numbers", "string", "re", "json", "operator", "abc",
    "numpy", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
    "torch.distributions", "torch.nn.init",
    "matplotlib.pyplot",  # every course notebook imports it: its font list is built once, here, not per child
)

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def unshare_network() -> bool:
    return _libc.unshare(CLONE_NEWNET) == 0


def preload(warm_optimizer: bool = True, batch_warmups: bool = True) -> None:
    import gc
    import importlib
    import warnings

    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    for name in PRELOADED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    if warm_optimizer:
        # The first optimizer step imports more of torch lazily (and may touch a cache folder);
        # do it here, once, so children need not read or write outside their sandbox for it.
        parameter = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([parameter], lr=0.1)
        parameter.sum().backward()
        optimizer.step()
    import grader.sandbox.child  # noqa: F401  (imported before any fork, like torch)

    keep_freed_memory()

    if batch_warmups:
        warm_common_paths(torch)

    # A child's collections then skip everything imported so far instead of writing to (and so
    # copying) every page that holds a Python object.
    gc.collect()
    gc.freeze()
    if batch_warmups:  # half a second, once; it makes every later fork and exit some 20 ms cheaper
        hugepages.collapse_private_memory()


def keep_freed_memory() -> None:
    """Let malloc reuse the memory a child frees instead of handing it back to the kernel.

    A child receives the same large tensors again and again (hw2 sends a 784x256 weight matrix
    to most calls). By default glibc maps each such block afresh and unmaps it when freed, so
    every call pays for faulting in its pages again: a sixth of a child's page faults. Set here,
    in the warm worker, every child inherits it; a child's memory dies with it anyway.
    """
    if hasattr(_libc, "mallopt"):  # glibc; other C libraries keep their own behaviour
        _libc.mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD_BYTES)
        _libc.mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD_BYTES)


def warm_common_paths(torch) -> None:
    """Run, once, what most notebooks run first (common ops, autograd, printing a tensor).

    torch and Python set up caches and lazy state on a first call; done here, before any fork,
    each child inherits it instead of building it (and copying the pages it touches) again.
    The random generator is put back to its initial seed, so children start as before.
    """
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        x = torch.randn(4, 6)
        weights = torch.randn(6, 3, requires_grad=True)
        (x @ weights + 1).sigmoid().tanh().sum().backward()
        probabilities = torch.nn.functional.softmax(x @ x.T, dim=1)
        print(probabilities.sum(dim=1), x.max(dim=1, keepdim=True).values, torch.exp(x - 1) / 2,
              x.reshape(2, -1), torch.tensor([1, 2]), torch.logsumexp(x, dim=1), x.double())
        torch.nn.Linear(6, 2)(x)
    torch.manual_seed(torch.initial_seed())


class ForkServer:
    def __init__(self, control: socket.socket, options: dict):
        self.control = control
        self.options = options
        self.children: dict[int, str] = {}
        self.exits: dict[int, str] = {}
        self.layers: dict[str, bool] = dict(options.get("layers", {}))
        self.workroot = tempfile.mkdtemp(prefix="grader-work-")
        self.drop_uid = os.getuid() == 0 and options.get("drop_uid", True)
        self.layers["unprivileged_uid"] = self.drop_uid or os.getuid() != 0
        if options.get("unshare_network") and not self.layers.get("network_namespace"):
            self.layers["network_namespace"] = unshare_network()
        self.landlock_abi = landlock.abi_version() if options.get("landlock", True) else 0
        self.layers["landlock"] = self.landlock_abi >= 1
        self.layers["filesystem_isolation"] = bool(self.layers.get("filesystem_isolation")) or self.layers["landlock"]
        self.readable = python_paths() + system_paths() + ["/etc", "/proc", "/sys", os.path.dirname(
            os.path.dirname(os.path.abspath(landlock.__file__)))]
        gpu_mounts = options.get("gpu") or {}
        self.gpu_devices: list[str] = list(gpu_mounts.get("devices", []))
        self.gpu_environment: dict[str, str] = dict(gpu_mounts.get("environment", {}))
        self.readable += list(gpu_mounts.get("read_only", []))
        self.layers["subreaper"] = _prctl(PR_SET_CHILD_SUBREAPER, 1)
        self.layers["rlimits"] = True
        _prctl(PR_SET_DUMPABLE, 0)  # a submission running as our uid cannot ptrace us
        self.counter = 0

    def serve(self) -> None:
        while True:
            try:
                packet = self.control.recv(65536)
            except (ConnectionResetError, OSError):
                packet = b""
            if not packet:
                self.kill_everything()
                return
            request = json.loads(packet)
            op = request.get("op")
            if op == "spawn":
                self.spawn(request.get("limits", {}))
            elif op == "finish":
                self.finish(int(request["pid"]))
            elif op == "ping":
                self.control.send(json.dumps({"layers": self.layers, "pid": os.getpid()}).encode())

    def spawn(self, limits: dict) -> None:
        self.counter += 1
        os.makedirs(self.workroot, exist_ok=True)
        os.chmod(self.workroot, 0o755)  # a submission running as our uid may have changed it
        workdir = tempfile.mkdtemp(prefix=f"sub{self.counter}-", dir=self.workroot)
        uid = SANDBOX_UID
        if self.drop_uid:
            os.chown(workdir, uid, uid)
        rpc_parent, rpc_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(out_r)
                os.close(err_r)
                rpc_parent.close()
                self.control.close()
                self.become_child(rpc_child, out_w, err_w, workdir, limits, uid)
            finally:
                os._exit(70)
        rpc_child.close()
        os.close(out_w)
        os.close(err_w)
        self.children[pid] = workdir
        socket.send_fds(self.control, [json.dumps({"pid": pid}).encode()],
                        [rpc_parent.fileno(), out_r, err_r])
        rpc_parent.close()
        os.close(out_r)
        os.close(err_r)

    def become_child(self, rpc: socket.socket, out_w: int, err_w: int, workdir: str,
                     limits: dict, uid: int) -> None:
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
        on_gpu = device.get("type") == "cuda"
        # CUDA maps far more address space than it uses: RLIMIT_AS would stop it starting, so a
        # GPU child's host memory is bounded by the cgroup, and its GPU memory by its cap.
        apply_rlimits(limits, address_space=not on_gpu)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        landlock.restrict(self.readable, writable_paths(workdir, self.gpu_devices if on_gpu else []),
                          self.landlock_abi)
        if self.drop_uid:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        # After the confinement (Landlock binds the calling thread and those it starts later,
        # and CUDA starts threads), before the student's first cell.
        gpu.prepare_child_or_exit(dict(device, environment=self.gpu_environment))
        from grader.sandbox import child

        child.serve(sock, int(limits.get("max_transfer_bytes", 256 << 20)))
        os._exit(0)

    def finish(self, pid: int) -> None:
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
        self.kill_descendants()
        self.reap()
        self.exits.clear()
        workdir = self.children.pop(pid, None)
        if workdir:
            remove_tree(workdir)
        if self.layers.get("bubblewrap"):
            self.scrub_scratch()
        self.control.send(json.dumps({"pid": pid, "exit": status}).encode())

    def scrub_scratch(self) -> None:
        """Empty the places a submission could write, so nothing it left reaches the next one.

        Only under bubblewrap, where /tmp and /dev/shm are this worker's own.
        """
        for folder in ("/tmp", "/dev/shm", self.workroot):
            try:
                entries = os.listdir(folder)
            except OSError:
                continue
            for name in entries:
                path = os.path.join(folder, name)
                if path == self.workroot:
                    continue
                remove_tree(path)

    def kill_descendants(self) -> None:
        """Kill every process below this one, repeating until none is left (a fork bomb races us)."""
        me = os.getpid()
        for _ in range(200):
            victims = descendants_of(me)
            if not victims:
                return
            for victim in victims:
                try:
                    os.kill(victim, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for victim in children_of(me) or []:  # wait for our own to die rather than scan again at once
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


def writable_paths(workdir: str, gpu_devices: list[str]) -> list[str]:
    """What a child may write under Landlock: its working directory, the harmless /dev files, and
    the NVIDIA device nodes when it grades on the GPU (CUDA opens them read-write)."""
    return [workdir] + DEVICE_FILES + list(gpu_devices)


def remove_tree(path: str) -> None:
    """Remove a file or folder a submission wrote, whatever permissions it gave them."""
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            os.unlink(path)
        except OSError:
            pass
        return

    def allow_and_retry(function, failed_path, _error):
        try:
            os.chmod(os.path.dirname(failed_path), 0o700)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, 0o700)
            function(failed_path)
        except OSError:
            pass

    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    shutil.rmtree(path, onerror=allow_and_retry)


def apply_rlimits(limits: dict, address_space: bool = True) -> None:
    def cap(which: int, value) -> None:
        if value is None:
            return
        value = int(value)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_bytes"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    cap(resource.RLIMIT_NPROC, limits.get("processes"))
    cap(resource.RLIMIT_CORE, 0)
    memory = limits.get("memory_bytes")
    if memory and address_space:
        cap(resource.RLIMIT_AS, current_address_space() + int(memory))


def current_address_space() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def children_of(pid: int) -> list[int] | None:
    """The direct children of ``pid`` from /proc/PID/task/*/children; None where the kernel lacks it."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(child) for child in children.read().split())
        except FileNotFoundError:
            return None  # no CONFIG_PROC_CHILDREN
        except (OSError, ValueError):
            continue  # the task ended meanwhile
    return found


def descendants_of(root: int) -> list[int]:
    """Every process below ``root``: by following children links, else by reading every /proc/PID/stat."""
    direct = children_of(root)
    if direct is not None:
        found, frontier = [], list(direct)
        while frontier:
            pid = frontier.pop()
            found.append(pid)
            frontier.extend(children_of(pid) or [])
        return found
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid != root:
                found.append(pid)
                frontier.append(pid)
    return found


def cuda_initialized() -> bool:
    """Whether this process has a CUDA context (through torch); a fork would leave its children without one."""
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.cuda.is_initialized())


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
    server = ForkServer(control, options)
    control.send(json.dumps({"ready": True, "layers": server.layers}).encode())
    server.serve()
    os._exit(0)  # the children are dead and the work folders gone; skip tearing torch down


if __name__ == "__main__":
    main()
