"""The GPU inside the sandbox: what to mount, and the setup a CUDA child does after the fork.

The warm worker never initialises CUDA (a CUDA context does not survive a fork); each
child that grades on the GPU calls :func:`prepare_child` itself, after it is confined
and before the student's first cell: it picks its device, seeds it, applies the
assignment's determinism and the per-submission cap on GPU memory, and creates its
own CUDA context. Each submission is a new process, so each gets a new context and
none can read what the previous one left on the device.

Nothing in this module runs at import time, and importing it does not import torch.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from dataclasses import dataclass, field

from grader.devices import memory_fraction

CUBLAS_DETERMINISTIC_WORKSPACE = ":4096:8"
SETUP_FAILED_EXIT = 71
DRIVER_LIBRARIES = ("libcuda.so", "libnvidia-ml.so", "libnvidia-ptxjitcompiler.so", "libnvidia-nvvm.so")


# Which GPUs CUDA shows and in what order: a child must number them as the trusted side does.
PASSED_ENVIRONMENT = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")


@dataclass(frozen=True)
class GpuMounts:
    """What a CUDA child needs from the host: device nodes (read-write), driver files (read-only),
    and the variables that decide which GPU ``cuda:N`` is (the child's environment is cleared)."""

    devices: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)


def nvidia_device_files(dev_dir: str = "/dev") -> list[str]:
    """The NVIDIA device nodes: /dev/nvidia0..N, nvidiactl, nvidia-uvm(-tools), nvidia-modeset, nvidia-caps.

    All of them, not only the worker's GPU: /dev/nvidiaN numbers follow the driver's minor
    numbers, not CUDA's device order, so a child picks its GPU with ``set_device`` instead.
    """
    return sorted(path for path in glob.glob(os.path.join(dev_dir, "nvidia*")) if os.path.exists(path))


def driver_library_dirs(covered: list[str]) -> list[str]:
    """Folders holding the driver's user-space libraries (libcuda...) that ``covered`` does not include."""
    try:
        listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    folders: set[str] = set()
    for line in listing.splitlines():
        name, _, target = line.partition("=>")
        if any(library in name for library in DRIVER_LIBRARIES) and target.strip():
            folders.add(os.path.dirname(os.path.realpath(target.strip())))
            folders.add(os.path.dirname(target.strip()))
    return sorted(folder for folder in folders if os.path.isdir(folder) and not any(
        folder == root or folder.startswith(root.rstrip("/") + "/") for root in covered))


def host_mounts(covered: list[str]) -> GpuMounts:
    """What this machine's GPUs need inside the sandbox; ``covered``: paths the sandbox already shows."""
    read_only = ["/sys"] if os.path.isdir("/sys") else []
    return GpuMounts(devices=nvidia_device_files(), read_only=read_only + driver_library_dirs(covered),
                     environment={name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ})


def prepare_child(settings: dict) -> None:
    """Run in the child, confined, before any student code: set up CUDA if this child grades on it.

    A CPU child returns at once without touching torch.cuda.
    """
    if settings.get("type") != "cuda":
        return
    for name, value in (settings.get("environment") or {}).items():
        if name in PASSED_ENVIRONMENT:
            os.environ[name] = str(value)
    deterministic = bool(settings.get("deterministic"))
    if deterministic:  # read by cuBLAS when its first handle is made, so before anything runs on the GPU
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_DETERMINISTIC_WORKSPACE
    import torch

    index = int(settings.get("index", 0))
    torch.cuda.set_device(index)
    torch.zeros(1, device=f"cuda:{index}")  # this process's own CUDA context, made now, not in a cell
    total = torch.cuda.get_device_properties(index).total_memory
    torch.cuda.set_per_process_memory_fraction(
        memory_fraction(int(settings.get("gpu_memory_bytes", total)), total), index)
    apply_numerics(deterministic)
    seed = torch.initial_seed()
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def apply_numerics(deterministic: bool) -> None:
    """The same numerics on both sides: full float32 matmuls (no TF32), and determinism when asked."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if deterministic:
        # warn_only: an operation with no deterministic CUDA kernel still runs (with a warning)
        # rather than failing the student's code.
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def prepare_child_or_exit(settings: dict) -> None:
    """:func:`prepare_child`; when CUDA cannot start in the sandbox, say why on stderr and end the child."""
    try:
        prepare_child(settings)
    except Exception as error:  # the trusted side reports the process's end and keeps this line
        print(f"grader: could not set up cuda:{settings.get('index', 0)} in the sandbox: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED_EXIT)


def configure_trusted(device: str, deterministic: bool) -> None:
    """The judge's side of a CUDA run: the same device, numerics and determinism as its children."""
    from grader.devices import cuda_index, is_cuda

    if not is_cuda(device):
        return
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_DETERMINISTIC_WORKSPACE)
    import torch

    torch.cuda.set_device(cuda_index(device) or 0)
    apply_numerics(deterministic)


def is_out_of_memory(error: BaseException) -> bool:
    """A CUDA out-of-memory error (torch.cuda.OutOfMemoryError, or an older RuntimeError saying so)."""
    if type(error).__name__ == "OutOfMemoryError":
        return True
    try:
        return isinstance(error, RuntimeError) and "CUDA out of memory" in str(error)[:200]
    except BaseException:  # a student's exception whose message cannot be built
        return False


def release_cached_memory() -> None:
    """Give the caching allocator's free blocks back, so the student's next call can use them."""
    import torch

    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
