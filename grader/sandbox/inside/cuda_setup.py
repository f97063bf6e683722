"""Inside the sandbox, in a child that grades on the GPU: its own CUDA context, made after the fork.

Each child that grades on the GPU calls :func:`prepare_child` itself, after it is confined
and before the student's first cell: it picks its device, seeds it, applies the
assignment's determinism and the per-submission cap on GPU memory, and creates its
own CUDA context. Each submission is a new process, so each gets a new context and
none can read what the previous one left on the device.

Nothing in this module runs at import time, and importing it does not import torch.
"""

from __future__ import annotations

import os
import sys

from grader.devices import memory_fraction
from grader.sandbox.gpu import CUBLAS_DETERMINISTIC_WORKSPACE, PASSED_ENVIRONMENT, SETUP_FAILED_EXIT, apply_numerics


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


def prepare_child_or_exit(settings: dict) -> None:
    """:func:`prepare_child`; when CUDA cannot start in the sandbox, say why on stderr and end the child."""
    try:
        prepare_child(settings)
    except Exception as error:  # the trusted side reports the process's end and keeps this line
        print(f"grader: could not set up cuda:{settings.get('index', 0)} in the sandbox: "
              f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
        os._exit(SETUP_FAILED_EXIT)


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
