"""Notes a check leaves for its verdict even when it passes (e.g. "device check skipped: graded on cpu").

Checks run one at a time on the trusted side; the judge clears the notes before each
check and takes them after it, as the passing check's message.
"""

from __future__ import annotations

_notes: list[str] = []


def add(text: str) -> None:
    if text not in _notes:
        _notes.append(text)


def clear() -> None:
    _notes.clear()


def take() -> list[str]:
    taken = list(_notes)
    _notes.clear()
    return taken
