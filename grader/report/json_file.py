"""`grader grade --json`, `grader results --json`: a list of the verdicts' public shape."""

from __future__ import annotations

import json
from pathlib import Path

from grader.models import Verdict
from grader.report.files import writable


def json_text(verdicts: list[Verdict]) -> str:
    # ensure_ascii (json's default) writes control characters and bidi overrides as \u escapes.
    return json.dumps([verdict.public_json() for verdict in verdicts], indent=2) + "\n"


def write_json(verdicts: list[Verdict], path: str | Path) -> None:
    writable(path).write_text(json_text(verdicts))
