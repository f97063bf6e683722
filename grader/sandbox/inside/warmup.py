"""The warm worker's start: import torch once and warm it up, so that every fork starts ready.

``preload`` runs once, in the warm worker, before its first fork; each submission's process
inherits the result. What only makes later forks cheaper, and that no child needs, it hands
back as steps for the worker to take while it is idle (``preload``'s return value).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from typing import Iterator

from grader.sandbox import hugepages

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
M_MMAP_THRESHOLD = -3
MALLOC_MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest
MALLOC_TRIM_THRESHOLD_BYTES = 128 << 20
# One idle step of the huge-page collapse: some 20-60 ms of kernel time, so a request that comes
# meanwhile waits at most that long.
COLLAPSE_STEP_BYTES = 16 << 20
PRELOADED_MODULES = (
    "math", "random", "collections", "itertools", "functools", "typing", "dataclasses",
    "copy", "time", "statistics", "numbers", "string", "re", "json", "operator", "abc",
    "numpy", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data",
    "torch.distributions", "torch.nn.init",
    "matplotlib.pyplot",  # every course notebook imports it: its font list is built once, here, not per child
)

_libc = ctypes.CDLL(None, use_errno=True)


def preload(warm_optimizer: bool = True, batch_warmups: bool = True) -> Iterator[int]:
    """Import and warm up what every child needs; returns the rest, the huge-page collapse, as idle
    steps (an iterator: each ``next`` is one bounded step) that make later forks cheaper. Exhaust it
    before the first fork to have everything done at once."""
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
    # matplotlib wrote its font cache there while pyplot was imported; children share the worker's /tmp,
    # so nothing of the worker's may stay in it for one submission to change and the next to read.
    if os.environ.get("MPLCONFIGDIR", "").startswith("/tmp/"):
        shutil.rmtree(os.environ["MPLCONFIGDIR"], ignore_errors=True)
    if warm_optimizer:
        # The first optimizer step imports more of torch lazily (and may touch a cache folder);
        # do it here, once, so children need not read or write outside their sandbox for it.
        parameter = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.SGD([parameter], lr=0.1)
        parameter.sum().backward()
        optimizer.step()
    import grader.sandbox.inside.student_runtime  # noqa: F401  (imported before any fork, like torch)

    keep_freed_memory()

    if batch_warmups:
        warm_common_paths(torch)

    # A child's collections then skip everything imported so far instead of writing to (and so
    # copying) every page that holds a Python object. No gc.collect() first: after the imports above
    # it finds nothing unreachable (measured: 0 objects) and costs 0.1-0.14 s before the first fork.
    gc.freeze()
    # A quarter of a second, once; it makes every later fork and exit some 7-12 ms of CPU cheaper. Not
    # before the first fork: it pays off only over the batch, so the worker does it while idle.
    return hugepages.collapse_private_memory(COLLAPSE_STEP_BYTES) if batch_warmups else iter(())


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


def cuda_initialized() -> bool:
    """Whether this process has a CUDA context (through torch); a fork would leave its children without one."""
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.cuda.is_initialized())
