"""Removing what a submission wrote: its working directory and the sandbox's own in-memory folders."""

from __future__ import annotations

import os
import shutil


def remove_tree(path: str) -> None:
    """Remove a file or folder a submission wrote, whatever permissions it gave them."""
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            os.unlink(path)
        except OSError:
            pass
        return

    def allow_and_retry(function, failed_path, _error):
        try:
            os.chmod(os.path.dirname(failed_path), 0o700)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, 0o700)
            function(failed_path)
        except OSError:
            pass

    try:
        os.chmod(path, 0o700)
    except OSError:
        pass
    shutil.rmtree(path, onerror=allow_and_retry)


def scrub_scratch(workroot: str) -> None:
    """Empty the places a submission could write, so nothing it left reaches the next one.

    Only under bubblewrap, where /tmp and /dev/shm are this worker's own.
    """
    for folder in ("/tmp", "/dev/shm", workroot):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            if path == workroot:
                continue
            remove_tree(path)
