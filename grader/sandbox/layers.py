"""Which isolation layers this machine gives, and the bubblewrap command line."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.sandbox.gpu import GpuMounts

TMP_BYTES = 512 << 20  # the sandbox's /tmp lives in memory: cap it


@dataclass(frozen=True)
class SandboxLayers:
    bwrap: bool
    bwrap_path: str | None
    is_root: bool
    landlock_allowed: bool = True

    def bwrap_command(self, grader_package: Path, package_root: str, environment: dict[str, str],
                      gpu: GpuMounts | None = None) -> list[str]:
        """bubblewrap with fresh namespaces and read-only views of only what Python needs.

        Nothing of the repository is visible but the grader package itself (no checks, no
        reference solutions, no database); the working directory is a private tmpfs.
        ``gpu`` (CUDA runs only) adds the NVIDIA device nodes and the driver's files; a CPU
        run's command has neither.
        """
        assert self.bwrap_path
        command = [
            self.bwrap_path, "--unshare-all", "--die-with-parent", "--new-session",
            "--uid", "65534", "--gid", "65534", "--hostname", "sandbox",
            "--cap-drop", "ALL", "--clearenv",
            "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
        ]
        for path in system_paths():
            if os.path.islink(path):
                command += ["--symlink", os.readlink(path), path]
            else:
                command += ["--ro-bind", path, path]
        for path in python_paths():
            command += ["--ro-bind", path, path]
        if gpu is not None:
            for path in gpu.read_only:
                command += ["--ro-bind", path, path]
            for path in gpu.devices:
                command += ["--dev-bind", path, path]
        # The root the binds hang on is read-only too: nothing outside /tmp is writable, so a
        # submission cannot plant modules next to the grader package for later ones.
        command += ["--ro-bind", str(grader_package), f"{package_root}/grader", "--remount-ro", "/",
                    "--chdir", "/tmp"]
        for name, value in environment.items():
            command += ["--setenv", name, value]
        return command


def system_paths() -> list[str]:
    paths = ["/usr", "/bin", "/lib", "/lib64", "/sbin", "/etc/ld.so.cache", "/etc/alternatives"]
    return [path for path in paths if os.path.lexists(path)]


def python_paths() -> list[str]:
    """The interpreter's prefixes and site-packages, outermost first, without duplicates."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                  sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
                  str(Path(sys.executable).resolve().parent.parent)}
    # site-packages reached through a .pth file or the user site (pip install --user torch): torch may live there
    candidates |= {entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages"))}
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates} | candidates, key=len):
        if not os.path.exists(path) or path in ("/", "/usr"):
            continue
        if any(path == c or path.startswith(c + "/") for c in chosen + ["/usr"]):
            continue
        chosen.append(path)
    return chosen


@functools.lru_cache(maxsize=4)
def _bwrap_works(bwrap_path: str) -> bool:
    try:
        probe = subprocess.run([bwrap_path, "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc",
                                "--dev", "/dev", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def detect_layers() -> SandboxLayers:
    # GRADER_NO_BWRAP=1 / GRADER_NO_LANDLOCK=1 run without that layer, as on a machine that lacks
    # it (to debug or to test). Read on every call; only the bubblewrap probe is cached.
    bwrap_path = None if os.environ.get("GRADER_NO_BWRAP") == "1" else shutil.which("bwrap")
    works = bool(bwrap_path) and _bwrap_works(bwrap_path)
    return SandboxLayers(bwrap=works, bwrap_path=bwrap_path if works else None, is_root=os.getuid() == 0,
                         landlock_allowed=os.environ.get("GRADER_NO_LANDLOCK") != "1")


REQUIRED_FOR_GRADING = {
    "network_namespace": "network isolation",
    "filesystem_isolation": "filesystem isolation",
}

LAYER_NAMES = {
    "bubblewrap": "new user, pid, net, ipc, uts namespaces; read-only system; private /tmp",
    "network_namespace": "no network (own network namespace)",
    "filesystem_isolation": "checks, reference solutions and the gradebook invisible to student code",
    "unprivileged_uid": "student code runs as an unprivileged uid",
    "subreaper": "every process a submission starts is killed when it ends",
    "landlock": "Landlock: read-only Python and grader, the working directory writable, no TCP, "
                "no signals out of the sandbox",
    "rlimits": "CPU, memory, file size, open files and process limits",
    "cgroup_limits": "processes and memory capped over the whole process tree (cgroup v1)",
    "cgroup_per_submission": "each submission's processes and memory counted in cgroups of its own",
    "cpu_share_per_submission": "each submission's processes together get at most one CPU, weighed as one "
                                "process (cgroup v1 cpu)",
    "ipc_namespace_per_submission": "each submission gets its own IPC namespace: no System V or POSIX IPC "
                                    "object outlives it",
    "session_keyring_per_submission": "each submission gets a fresh session keyring: no key outlives it",
    "scrubbed_environment": "the grader's environment variables (tokens) are not passed on",
}


def missing_isolation(reported: dict[str, bool]) -> list[str]:
    """The isolation layers that grading requires and this sandbox lacks."""
    return [label for key, label in REQUIRED_FOR_GRADING.items() if not reported.get(key)]
