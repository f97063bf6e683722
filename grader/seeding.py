"""Seeding random number generators cheaply, for checks and for the sandboxed child.

``torch.manual_seed`` also seeds CUDA, XPU and MTIA. In a process that has not started
one of those, torch queues the seed together with ``traceback.format_stack()`` of the
caller, to replay when the device starts. Under pytest's deep stack that costs about
2 ms a call here, more than most checks' own computation. ``manual_seed`` below seeds
the same generators a check can actually use, without the queueing.
"""

from __future__ import annotations

import random

import torch


def manual_seed(seed: int) -> None:
    """``torch.manual_seed(seed)`` for checks: the CPU generator, and CUDA's when CUDA can run here."""
    seed = int(seed)
    if torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
    elif torch.cuda.is_available():  # CUDA may start later in this process: let torch queue the seed for it
        torch.manual_seed(seed)
        return
    torch.default_generator.manual_seed(seed)


def seed_everything(seed: int) -> None:
    """torch (as ``manual_seed``), Python's ``random`` and numpy's global generator, if numpy is installed."""
    manual_seed(seed)
    random.seed(seed)
    try:
        import numpy
    except ImportError:
        return
    numpy.random.seed(seed % (2**32))
