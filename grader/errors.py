"""Errors a user can cause; the CLI prints them as one line and exits nonzero."""


class GraderError(Exception):
    """A problem with the user's input: a missing file, an unknown assignment, a bad option."""
