"""What both sides of a GPU run agree on: the mounts a CUDA child needs, and the same numerics.

The trusted side decides the mounts (``grader.sandbox.host.gpu``); a CUDA child sets up its
own context after the fork (``grader.sandbox.inside.cuda_setup``). The warm worker never
initialises CUDA (a CUDA context does not survive a fork).

Nothing in this module runs at import time, and importing it does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CUBLAS_DETERMINISTIC_WORKSPACE = ":4096:8"
SETUP_FAILED_EXIT = 71


# Which GPUs CUDA shows and in what order: a child must number them as the trusted side does.
PASSED_ENVIRONMENT = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")


@dataclass(frozen=True)
class GpuMounts:
    """What a CUDA child needs from the host: device nodes (read-write), driver files (read-only),
    and the variables that decide which GPU ``cuda:N`` is (the child's environment is cleared)."""

    devices: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)


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
