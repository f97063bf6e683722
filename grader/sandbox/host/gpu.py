"""The trusted side of a GPU run: what this machine's GPUs need inside the sandbox, and the
judge's own CUDA set-up. Importing it does not import torch."""

from __future__ import annotations

import glob
import os
import subprocess

from grader.sandbox.gpu import CUBLAS_DETERMINISTIC_WORKSPACE, PASSED_ENVIRONMENT, GpuMounts, apply_numerics

DRIVER_LIBRARIES = ("libcuda.so", "libnvidia-ml.so", "libnvidia-ptxjitcompiler.so", "libnvidia-nvvm.so")


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
