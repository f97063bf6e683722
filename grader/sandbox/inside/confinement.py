"""Confining one submission's process, in the forked child, before any student code runs.

Decided once per warm worker (:func:`plan`): which paths stay readable, whether Landlock and
a uid drop are available. Applied in each child (:func:`confine`): rlimits, no new
privileges, Landlock, the unprivileged uid. The namespaces bubblewrap did not give (the
network, without bubblewrap) are made for the whole warm worker at its start.
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
SANDBOX_UID = 65534
DEVICE_FILES = ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"]
GRADER_PACKAGE_DIR = os.path.dirname(os.path.abspath(grader.__file__))

_libc = ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def unshare_network() -> bool:
    return _libc.unshare(CLONE_NEWNET) == 0


@dataclass
class ConfinementPlan:
    """What every child of one warm worker is confined to."""

    readable: list[str]
    landlock_abi: int
    drop_uid: bool
    gpu_devices: list[str] = field(default_factory=list)


def plan(options: dict, layers: dict[str, bool]) -> ConfinementPlan:
    """The warm worker's plan from its options; records in ``layers`` which layers hold."""
    drop_uid = os.getuid() == 0 and options.get("drop_uid", True)
    layers["unprivileged_uid"] = drop_uid or os.getuid() != 0
    if options.get("unshare_network") and not layers.get("network_namespace"):
        layers["network_namespace"] = unshare_network()
    landlock_abi = landlock.abi_version() if options.get("landlock", True) else 0
    layers["landlock"] = landlock_abi >= 1
    layers["filesystem_isolation"] = bool(layers.get("filesystem_isolation")) or layers["landlock"]
    gpu_mounts = options.get("gpu") or {}
    readable = python_paths() + system_paths() + ["/etc", "/proc", "/sys", GRADER_PACKAGE_DIR]
    readable += list(gpu_mounts.get("read_only", []))
    return ConfinementPlan(readable=readable, landlock_abi=landlock_abi, drop_uid=drop_uid,
                           gpu_devices=list(gpu_mounts.get("devices", [])))


def confine(confinement: ConfinementPlan, workdir: str, limits: dict, on_gpu: bool) -> None:
    """Confine the calling process (a freshly forked child) for good."""
    # CUDA maps far more address space than it uses: RLIMIT_AS would stop it starting, so a
    # GPU child's host memory is bounded by the cgroup, and its GPU memory by its cap.
    apply_rlimits(limits, address_space=not on_gpu)
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
