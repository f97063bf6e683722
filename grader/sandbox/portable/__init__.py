"""`grader check` where the Linux sandbox cannot start (Windows, macOS) or is switched off
(``GRADER_PORTABLE=1``): each submission runs in a plain ``python`` subprocess, with the limits
every platform offers (wall-clock limits per cell and call, output caps, a private working folder)
and none of the Linux layers (namespaces, bubblewrap, Landlock, seccomp, cgroups, rlimits).

Only for public checks on the student's own machine, where the only code at stake is their own;
`grader grade` never uses it. Nothing here imports a Linux-only module (``resource``, ``prctl``,
``SOCK_SEQPACKET``): the host talks to its child over a loopback TCP socket and reads its output
with threads, which work on every platform.
"""

from __future__ import annotations

import os
import sys

from grader.i18n import tr

PORTABLE_VARIABLE = "GRADER_PORTABLE"


def portable_mode() -> bool:
    """Whether `grader check` runs without the Linux sandbox: forced, or not on Linux."""
    forced = os.environ.get(PORTABLE_VARIABLE, "")
    if forced in ("0", "no"):
        return False
    return forced in ("1", "yes") or not sys.platform.startswith("linux")


def portable_notice() -> str:
    """The one line `grader check` says when it runs without the sandbox."""
    where = {"win32": "Windows", "darwin": "macOS"}.get(sys.platform, sys.platform)
    reason = tr("the Linux sandbox cannot start on {platform}", platform=where) \
        if not sys.platform.startswith("linux") else tr("the sandbox is switched off ({variable}=1)",
                                                        variable=PORTABLE_VARIABLE)
    return tr("{reason}: your notebook runs in a plain Python process, without network, file or process "
              "isolation; its time limits and output caps still hold (your own code on your own machine; "
              "grading isolates it)", reason=reason)
