"""When each process of a run reached each stage of its start-up: for the start-up benchmark and tests.

Off (one environment lookup per mark) unless $GRADER_TIMELINE names a file; then every mark
appends one JSON line to it: wall-clock time, pid, the event, and whether torch is imported
in that process yet (what the start-up order is about). Standard library only, so importing
it costs nothing; processes of one run (the coordinator, its workers) share the file, each
line written with one O_APPEND write.
"""

from __future__ import annotations

import json
import os
import sys
import time

ENVIRONMENT = "GRADER_TIMELINE"


def mark(event: str, **details) -> None:
    path = os.environ.get(ENVIRONMENT)
    if not path:
        return
    line = json.dumps({"t": time.time(), "pid": os.getpid(), "event": event, "torch": "torch" in sys.modules,
                       **details}) + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        os.write(descriptor, line.encode())
    finally:
        os.close(descriptor)


def read(path: str | os.PathLike) -> list[dict]:
    """Every mark in the file, in time order."""
    with open(path, encoding="utf-8") as lines:
        return sorted((json.loads(line) for line in lines if line.strip()), key=lambda entry: entry["t"])
