"""Which device each part of a run grades on, decided as plain data (no CUDA touched here).

The coordinator of a batch plans one device per warm worker; each submission's child
gets a small settings dict that it applies itself, after the fork (see
``grader.sandbox.gpu.prepare_child``).
"""

from __future__ import annotations

import re

from grader.errors import GraderError

CUDA_PATTERN = re.compile(r"^cuda(?::(\d+))?$")


def is_cuda(device: str) -> bool:
    return CUDA_PATTERN.match(device) is not None


def cuda_index(device: str) -> int | None:
    """The N of ``cuda:N``; None for ``cuda`` (whichever is current) and for cpu."""
    match = CUDA_PATTERN.match(device)
    return int(match.group(1)) if match and match.group(1) is not None else None


def plan_worker_devices(device: str, workers: int, gpu_count: int, children_per_gpu: int = 1) -> list[str]:
    """One device per warm worker: its length is how many workers to start.

    ``cpu``: ``workers`` workers on the CPU. ``cuda``: round robin over every GPU
    (``cuda:0``, ``cuda:1``, ..., then ``cuda:0`` again), at most ``children_per_gpu``
    workers per GPU, since each worker runs one child at a time. ``cuda:N``: only that
    GPU, at most ``children_per_gpu`` workers.
    """
    workers = max(1, workers)
    if device == "cpu":
        return ["cpu"] * workers
    if not is_cuda(device):
        raise GraderError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    if gpu_count < 1:
        raise GraderError(f"--device {device}: this machine has no CUDA GPU; use --device cpu or auto")
    index = cuda_index(device)
    if index is not None:
        if index >= gpu_count:
            raise GraderError(f"--device {device}: this machine has {gpu_count} GPU(s), cuda:0 to "
                              f"cuda:{gpu_count - 1}")
        return [f"cuda:{index}"] * min(workers, children_per_gpu)
    slots = gpu_count * children_per_gpu
    return [f"cuda:{worker % gpu_count}" for worker in range(min(workers, slots))]


def child_device_settings(device: str, gpu_memory_bytes: int, deterministic: bool) -> dict:
    """What a child needs to set its device up; travels in the spawn request as JSON."""
    if not is_cuda(device):
        return {"type": "cpu"}
    return {"type": "cuda", "index": cuda_index(device) or 0, "gpu_memory_bytes": int(gpu_memory_bytes),
            "deterministic": bool(deterministic)}


def memory_fraction(cap_bytes: int, total_bytes: int) -> float:
    """The share of a GPU's memory that ``cap_bytes`` is, for set_per_process_memory_fraction."""
    if total_bytes <= 0:
        return 1.0
    return max(min(cap_bytes / total_bytes, 1.0), 1e-6)


def visible_gpu_count() -> int:
    """How many CUDA GPUs this process sees (imports torch; call it only on the trusted side)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(device: str) -> str:
    """``auto`` becomes cuda or cpu; an explicit device is checked against this machine's GPUs."""
    if device == "auto":
        import glob

        if not glob.glob("/dev/nvidia[0-9]*"):
            return "cpu"  # decided without importing torch: the coordinator of a batch never needs it
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if is_cuda(device):
        # plan_worker_devices says what is wrong: no GPU, or no GPU of that number
        plan_worker_devices(device, 1, visible_gpu_count())
    elif device != "cpu":
        raise GraderError(f"--device {device}: expected auto, cpu, cuda or cuda:N")
    return device
