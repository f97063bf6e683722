"""The process tree from /proc: who is whose child. Standard library only.

One walker for every side that needs it: the warm worker inside the sandbox (to kill what a
submission left), the hostile-notebook test and the batch benchmark (to sample and clean up
the grader's whole tree from the host). Every function tolerates processes that end while
it reads: a vanished pid is skipped, never an error.
"""

from __future__ import annotations

import os
import signal
from typing import NamedTuple


class ProcessEntry(NamedTuple):
    ppid: int
    comm: str


def read_proc(pid: int, name: str) -> bytes:
    """/proc/PID/NAME as bytes; empty when the process is gone or the file cannot be read."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...] (field 3 on);
    empty when the process is gone."""
    text = read_proc(pid, "stat").decode(errors="replace")
    return text.rpartition(")")[2].split()


def process_table() -> dict[int, ProcessEntry]:
    """pid -> (ppid, comm) for every process this /proc shows, in one pass."""
    table: dict[int, ProcessEntry] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        text = read_proc(int(entry), "stat").decode(errors="replace")
        head, _, tail = text.rpartition(")")
        fields = tail.split()
        if len(fields) > 1:
            try:
                table[int(entry)] = ProcessEntry(int(fields[1]), head.partition("(")[2])
            except ValueError:
                continue
    return table


def children_of(pid: int) -> list[int] | None:
    """The direct children of ``pid`` from /proc/PID/task/*/children; None where the kernel lacks it."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found.extend(int(child) for child in children.read().split())
        except FileNotFoundError:
            return None  # no CONFIG_PROC_CHILDREN
        except (OSError, ValueError):
            continue  # the task ended meanwhile
    return found


def descendants_of(root: int, table: dict[int, ProcessEntry] | None = None) -> list[int]:
    """Every process below ``root`` (not ``root`` itself), each after its parent.

    With ``table`` (a :func:`process_table` snapshot), from that snapshot, so several walks
    see one consistent tree; without it, by following children links, else by one full
    /proc scan where the kernel lacks them.
    """
    if table is None:
        direct = children_of(root)
        if direct is not None:
            found, frontier = [], list(direct)
            while frontier:
                pid = frontier.pop()
                found.append(pid)
                frontier.extend(children_of(pid) or [])
            return found
        table = process_table()
    children: dict[int, list[int]] = {}
    for pid, entry in table.items():
        if pid != root:
            children.setdefault(entry.ppid, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def tree_of(root: int, table: dict[int, ProcessEntry] | None = None) -> list[int]:
    """``root`` and every process below it, parents before their children."""
    return [root, *descendants_of(root, table)]


def kill_tree(root: int) -> None:
    """SIGKILL ``root`` and everything below it (one snapshot; best effort)."""
    for pid in tree_of(root, process_table()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
