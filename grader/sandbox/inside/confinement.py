"""Confining one submission's process, in the forked child, before any student code runs.

Decided once per warm worker (:func:`plan`): which paths stay readable, whether Landlock, a
uid drop and kernel state of its own are available. Applied in each child (:func:`confine`):
its own IPC namespace and session keyring, rlimits, no new privileges, Landlock, the
unprivileged uid. The namespaces bubblewrap did not give (the network, without bubblewrap)
are made for the whole warm worker at its start.

Kernel state of its own: System V shared memory, message queues and semaphores and POSIX
message queues live in an IPC namespace, which the kernel destroys with its last process;
keys live in keyrings. A child that shared the warm worker's would leave a segment, a queue
or a key for the next submission to read (and a segment charged to the memory of the next).
Creating an IPC namespace needs CAP_SYS_ADMIN over the current one: a warm worker running as
root has it; under bubblewrap (every capability dropped) the child creates a user namespace
of its own along with it, maps its own uid and gid in it, and drops the capabilities that
gives it. A user namespace also brings a fresh user keyring.
"""

from __future__ import annotations

import ctypes
import os
import resource
from dataclasses import dataclass, field

import grader
from grader.sandbox.inside import landlock
from grader.sandbox.layers import python_paths, system_paths

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SANDBOX_UID = 65534
DEVICE_FILES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"]
GRADER_PACKAGE_DIR = os.path.dirname(os.path.abspath(grader.__file__))

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def unshare_network() -> bool:
    return _libc.unshare(CLONE_NEWNET) == 0


def own_ipc_namespace() -> bool:
    """Move the calling process into a new IPC namespace (see the module's docstring)."""
    if _libc.unshare(CLONE_NEWIPC) == 0:
        return True
    uid, gid = os.geteuid(), os.getegid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0:
        return False
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as mapping:
                mapping.write(text)
    except OSError:
        pass  # unmapped, the process runs as the overflow uid; it is in its own namespaces all the same
    return drop_capabilities()


def drop_capabilities() -> bool:
    """Clear every capability of the calling thread (those a new user namespace granted)."""
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all empty
    return _libc.capset(header, data) == 0


def fresh_session_keyring() -> bool:
    """Join a new anonymous session keyring, so no key of the warm worker's (or an earlier child's) is reachable."""
    number = SYS_KEYCTL.get(os.uname().machine)
    if number is None:
        return False
    return _libc.syscall(ctypes.c_long(number), ctypes.c_int(KEYCTL_JOIN_SESSION_KEYRING), None) >= 0


def probe_kernel_state_isolation() -> tuple[bool, bool]:
    """Whether a child of this process can get its own IPC namespace and session keyring (tried in a throwaway fork)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            code = (1 if own_ipc_namespace() else 0) | (2 if fresh_session_keyring() else 0)
        finally:
            os._exit(code)
    _, raw = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else 0
    return bool(code & 1), bool(code & 2)


@dataclass
class ConfinementPlan:
    """What every child of one warm worker is confined to."""

    readable: list[str]
    landlock_abi: int
    drop_uid: bool
    gpu_devices: list[str] = field(default_factory=list)
    own_ipc_namespace: bool = False
    fresh_session_keyring: bool = False


def plan(options: dict, layers: dict[str, bool]) -> ConfinementPlan:
    """The warm worker's plan from its options; records in ``layers`` which layers hold."""
    drop_uid = os.getuid() == 0 and options.get("drop_uid", True)
    layers["unprivileged_uid"] = drop_uid or os.getuid() != 0
    if options.get("unshare_network") and not layers.get("network_namespace"):
        layers["network_namespace"] = unshare_network()
    landlock_abi = landlock.abi_version() if options.get("landlock", True) else 0
    layers["landlock"] = landlock_abi >= 1
    layers["filesystem_isolation"] = bool(layers.get("filesystem_isolation")) or layers["landlock"]
    ipc, keyring = probe_kernel_state_isolation()
    layers["ipc_namespace_per_submission"] = ipc
    layers["session_keyring_per_submission"] = keyring
    gpu_mounts = options.get("gpu") or {}
    readable = python_paths() + system_paths() + ["/etc", "/proc", "/sys", GRADER_PACKAGE_DIR]
    readable += list(gpu_mounts.get("read_only", []))
    return ConfinementPlan(readable=readable, landlock_abi=landlock_abi, drop_uid=drop_uid,
                           gpu_devices=list(gpu_mounts.get("devices", [])), own_ipc_namespace=ipc,
                           fresh_session_keyring=keyring)


def confine(confinement: ConfinementPlan, workdir: str, limits: dict, on_gpu: bool) -> None:
    """Confine the calling process (a freshly forked child) for good."""
    confine_except_limits(confinement, workdir, on_gpu)
    # CUDA maps far more address space than it uses: RLIMIT_AS would stop it starting, so a
    # GPU child's host memory is bounded by the cgroup, and its GPU memory by its cap.
    apply_rlimits(limits, address_space=not on_gpu)


def confine_except_limits(confinement: ConfinementPlan, workdir: str, on_gpu: bool) -> None:
    """Everything of :func:`confine` but the rlimits, which lowering needs no privilege for: a process forked
    before its submission is known is confined by this, then gets its limits (``apply_rlimits``) once they
    come, before it runs anything of the student's."""
    if confinement.own_ipc_namespace:
        own_ipc_namespace()
    if confinement.fresh_session_keyring:
        fresh_session_keyring()
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    landlock.restrict(confinement.readable, writable_paths(workdir, confinement.gpu_devices if on_gpu else []),
                      confinement.landlock_abi)
    if confinement.drop_uid:
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)


def writable_paths(workdir: str, gpu_devices: list[str]) -> list[str]:
    """What a child may write under Landlock: its working directory, the harmless /dev files, and
    the NVIDIA device nodes when it grades on the GPU (CUDA opens them read-write)."""
    return [workdir] + DEVICE_FILES + list(gpu_devices)


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


def join_cgroups(procs_fds: list[int]) -> None:
    """Move the calling process into the cgroups whose ``cgroup.procs`` files the trusted side opened
    (the fds stay open; the caller closes them)."""
    for fd in procs_fds:
        try:
            os.write(fd, b"0")
        except OSError:
            pass
