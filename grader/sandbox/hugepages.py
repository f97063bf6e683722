"""Back the warm worker's memory with huge pages, so that forking it is cheap.

A fork copies the parent's page tables and an exit tears the child's down: with torch
imported, about 210 MB of private memory in 4 KiB pages, some 20 ms of kernel time per
submission here. ``MADV_COLLAPSE`` (Linux 6.1 and later) turns those ranges into 2 MiB
pages once, in the warm worker, while it is idle; each fork then copies one entry per
2 MiB, and a child that writes to a shared huge page copies only the 4 KiB it writes.
Where the kernel cannot collapse (older kernels, THP set to ``never``), nothing changes.
"""

from __future__ import annotations

import ctypes
from typing import Iterator

MADV_COLLAPSE = 25
HUGE_PAGE = 2 << 20

_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def private_writable_ranges(maps_text: str) -> list[tuple[int, int]]:
    """The heap and anonymous private writable mappings of /proc/self/maps, trimmed to whole huge pages."""
    ranges = []
    for line in maps_text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[1][1] != "w" or fields[1][3] != "p":
            continue
        name = fields[5] if len(fields) > 5 else ""
        if name not in ("", "[heap]"):
            continue
        low, high = (int(value, 16) for value in fields[0].split("-"))
        low = (low + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
        high &= ~(HUGE_PAGE - 1)
        if high > low:
            ranges.append((low, high))
    return ranges


def collapse_private_memory(step_bytes: int) -> Iterator[int]:
    """Collapse this process's private memory into huge pages, at most ``step_bytes`` per step (each
    ``next`` one ``madvise``: the warm worker takes the steps while it is idle); yields the bytes each step
    collapsed (0: the kernel could not). The memory map is read at the first step, so what was imported
    until then is collapsed too. Collapsing while a child shares these pages is safe: this process gets
    its own huge pages, the child keeps the small ones it has (until it exits)."""
    try:
        with open("/proc/self/maps") as maps:
            ranges = private_writable_ranges(maps.read())
    except OSError:
        return
    for low, high in ranges:
        for start in range(low, high, step_bytes):
            end = min(high, start + step_bytes)
            yield end - start if _libc.madvise(start, end - start, MADV_COLLAPSE) == 0 else 0
