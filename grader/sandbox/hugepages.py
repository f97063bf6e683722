"""Back the warm worker's memory with huge pages, so that forking it is cheap.

A fork copies the parent's page tables and an exit tears the child's down: with torch
imported, about 210 MB of private memory in 4 KiB pages, some 20 ms of kernel time per
submission here. ``MADV_COLLAPSE`` (Linux 6.1 and later) turns those ranges into 2 MiB
pages once, in the warm worker, before any fork; each fork then copies one entry per
2 MiB, and a child that writes to a shared huge page copies only the 4 KiB it writes.
Where the kernel cannot collapse (older kernels, THP set to ``never``), nothing changes.
"""

from __future__ import annotations

import ctypes

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


def collapse_private_memory() -> int:
    """Collapse this process's private memory into huge pages; returns the bytes collapsed."""
    try:
        with open("/proc/self/maps") as maps:
            ranges = private_writable_ranges(maps.read())
    except OSError:
        return 0
    collapsed = 0
    for low, high in ranges:
        if _libc.madvise(low, high - low, MADV_COLLAPSE) == 0:
            collapsed += high - low
    return collapsed



M_TOP_PAD = -2  # glibc mallopt parameter
DEFAULT_TOP_PAD = 128 << 10  # glibc's
MADV_HUGEPAGE = 14
HEAP_TOP_BYTES = 96 << 20
CHUNK_HEADER = 16  # glibc: a chunk's size fields, just below the memory it hands out
SIZE_FIELD = 8


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
_libc.sbrk.restype = ctypes.c_void_p
_libc.sbrk.argtypes = [ctypes.c_ssize_t]


def heap_range(maps_text: str) -> tuple[int, int] | None:
    """The [heap] mapping's (start, end) in a /proc/PID/maps text."""
    for line in maps_text.splitlines():
        if line.endswith("[heap]"):
            low, high = (int(value, 16) for value in line.split()[0].split("-"))
            return low, high
    return None


def _heap_top_start() -> int:
    """Where malloc's top chunk (the free end of the main heap, up to the break) begins."""
    return _libc.sbrk(0) - _libc.mallinfo2().keepcost  # keepcost: the top chunk's size


def reserve_huge_heap_top(size: int = HEAP_TOP_BYTES) -> bool:
    """Give malloc ``size`` untouched bytes at the top of its heap that a child faults in as huge pages.

    A submission's tensors (hw2's checks send it some 9 MB of weights) come from the heap's top,
    which glibc grows 128 KiB at a time: each 4 KiB page is one fault on first write and one page
    more to free at exit. Here, in the warm worker before any fork, the heap grows once by ``size``
    bytes it never writes, marked MADV_HUGEPAGE, and a block is left allocated below it so that the
    top chunk's header (the only thing malloc writes there) ends exactly on a 2 MiB boundary. The
    2 MiB ranges above it are then empty in every child: a child's first write to each takes one
    fault for a zeroed huge page of its own, never a page the worker or an earlier child wrote.
    glibc only; False where it is not (or the kernel refuses the advice)."""
    if not hasattr(_libc, "mallopt") or not hasattr(_libc, "mallinfo2"):
        return False
    _libc.mallinfo2.restype = _MallInfo2
    _libc.mallopt(M_TOP_PAD, size)
    block = _libc.malloc(HUGE_PAGE)  # larger than what the top holds: glibc extends the heap by it plus the pad
    _libc.free(block)  # back into the top, which stays below the trim threshold (warmup.keep_freed_memory)
    _libc.mallopt(M_TOP_PAD, DEFAULT_TOP_PAD)
    top = _heap_top_start()
    # Above what malloc wrote while growing: the header it put after that block, too.
    written = max(top, (block or 0) + HUGE_PAGE) + CHUNK_HEADER
    boundary = (written + CHUNK_HEADER + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
    spacer = boundary - CHUNK_HEADER - top
    if _libc.malloc(spacer - SIZE_FIELD) and _heap_top_start() != boundary - CHUNK_HEADER:
        return False  # served from a free block, not the top: the top stays where it was (still usable)
    try:
        with open("/proc/self/maps") as maps:
            heap = heap_range(maps.read())
    except OSError:
        return False
    return heap is not None and _libc.madvise(heap[0], heap[1] - heap[0], MADV_HUGEPAGE) == 0
