"""Structured log lines: one JSON object per line on stderr, with every secret the service holds redacted."""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from grader.ci.forge import redact
from grader.models import utcnow


class EventLog:
    def __init__(self, secrets: list[str], stream: TextIO | None = None):
        self.secrets = secrets
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def __call__(self, event: str, level: str = "info", **fields) -> None:
        record = {"time": utcnow().isoformat(timespec="milliseconds"), "level": level, "event": event, **fields}
        line = redact(json.dumps(record, default=str, ensure_ascii=True), self.secrets)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()
