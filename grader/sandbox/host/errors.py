"""What can go wrong with the sandbox, as the trusted side sees it."""

from __future__ import annotations


class SandboxError(Exception):
    """The sandbox itself failed (could not start, died unexpectedly)."""


class ChildGone(SandboxError):
    """The submission's process ended (it exited, crashed or was killed)."""


class CallTimeout(SandboxError):
    """The submission's process did not answer (or stopped reading) in time."""
