"""A process's children and descendants, read from /proc (Linux only, stdlib only).

The kernel's children links (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN) answer for one
process; without them every /proc/PID/stat is read once per walk. grader/sandbox/proctree.py is
the grader's own walker; this one stays with the benchmarks until they can share it.
"""

from __future__ import annotations

import os

_CHILDREN_LINKS = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def parent_map() -> dict[int, int]:
    """Every visible process's parent (a full /proc scan)."""
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def _linked_children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def children_of(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    """The direct children of ``pid``; ``parents`` (a parent_map) saves a scan when walking many."""
    if _CHILDREN_LINKS and parents is None:
        return _linked_children(pid)
    parents = parent_map() if parents is None else parents
    return sorted(child for child, parent in parents.items() if parent == pid)


def tree_of(root: int) -> dict[int, int | None]:
    """``root`` and all its descendants, each with its parent (root's is None), parents before children."""
    parents = None if _CHILDREN_LINKS else parent_map()
    tree: dict[int, int | None] = {root: None}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child in children_of(pid, parents):
            if child not in tree:
                tree[child] = pid
                frontier.append(child)
    return tree


def descendants_of(pid: int) -> list[int]:
    """Every process below ``pid`` (not ``pid`` itself), parents before children."""
    return list(tree_of(pid))[1:]
