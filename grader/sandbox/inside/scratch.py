"""Removing what a submission wrote, and only that.

The sandbox's writable places are its own in-memory filesystems (under bubblewrap: ``/tmp``
and ``/dev``, which holds ``/dev/shm``). Bubblewrap also mounts read-only binds of the host
on them (the Python install, when it lives under /tmp; the device nodes in /dev), and
creates a few entries of its own (``/dev/fd``, ``/dev/pts``...). The scrub after a submission
compares each writable tmpfs with what it held before the first submission and removes the
rest; it never crosses into another filesystem, so a bind of the host is never walked.
"""

from __future__ import annotations

import os
import stat

MOUNTINFO = "/proc/self/mountinfo"


def remove_tree(path: str, device: int | None = None) -> None:
    """Remove a file or folder a submission wrote, whatever permissions it gave them.

    Only what lies on ``device`` (by default, ``path``'s own filesystem) is touched: a mount
    point below ``path`` is left as it is, with what it shows. Iterative, so a folder nested
    thousands deep cannot exhaust the recursion limit.
    """
    try:
        top = os.lstat(path)
    except OSError:
        return
    device = top.st_dev if device is None else device
    if top.st_dev != device:
        return
    if not stat.S_ISDIR(top.st_mode):
        _unlink(path)
        return
    stack = [(path, False)]
    while stack:
        current, emptied = stack.pop()
        if emptied:
            try:
                os.rmdir(current)
            except OSError:
                pass  # it holds a mount point
            continue
        try:
            os.chmod(current, 0o700)
        except OSError:
            pass
        stack.append((current, True))
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if info.st_dev != device:
                        continue  # another filesystem mounted here: not the submission's
                    if stat.S_ISDIR(info.st_mode):
                        stack.append((entry.path, False))
                    else:
                        _unlink(entry.path)
        except OSError:
            continue


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def writable_tmpfs_mounts(mountinfo: str) -> list[str]:
    """The mount points of the writable tmpfs filesystems in a /proc/PID/mountinfo text."""
    found = []
    for line in mountinfo.splitlines():
        mount, _, filesystem = line.partition(" - ")
        fields, kind = mount.split(), filesystem.split()
        if len(fields) < 6 or not kind or kind[0] != "tmpfs" or "rw" not in fields[5].split(","):
            continue
        found.append(_unescape(fields[4]))
    return found


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    for escape, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escape, char)
    return field


class Scratch:
    """The sandbox's writable tmpfs filesystems, as they were before the first submission."""

    def __init__(self, roots: list[str]):
        self.roots = roots
        self.devices: dict[str, int] = {}
        self.baseline: set[tuple[str, int]] = set()  # (path, inode) of every entry found at the start
        for root in roots:
            try:
                self.devices[root] = os.lstat(root).st_dev
            except OSError:
                continue
            self._walk(root, lambda path, info: self.baseline.add((path, info.st_ino)) or True)

    @classmethod
    def of_this_sandbox(cls) -> "Scratch":
        try:
            with open(MOUNTINFO) as mountinfo:
                roots = writable_tmpfs_mounts(mountinfo.read())
        except OSError:
            roots = ["/tmp", "/dev/shm"]
        return cls([root for root in roots if root != "/"])

    def _walk(self, root: str, visit) -> None:
        """Call ``visit(path, stat)`` for each entry on ``root``'s filesystem; descend where it returns True."""
        device = self.devices[root]
        frontier = [root]
        while frontier:
            try:
                with os.scandir(frontier.pop()) as entries:
                    listed = list(entries)
            except OSError:
                continue
            for entry in listed:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if info.st_dev == device and visit(entry.path, info) and stat.S_ISDIR(info.st_mode):
                    frontier.append(entry.path)

    def scrub(self) -> int:
        """Remove every entry of these filesystems that was not there at the start.

        Returns how many entries it looked at: its cost, which the tests compare between installs."""
        visited = 0
        for root, device in self.devices.items():
            def keep_or_remove(path: str, info: os.stat_result) -> bool:
                nonlocal visited
                visited += 1
                if (path, info.st_ino) in self.baseline:
                    return True
                remove_tree(path, device)
                return False

            self._walk(root, keep_or_remove)
        return visited
