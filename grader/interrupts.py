"""Ctrl-C in the `grader` program: one line and exit 130 at any moment, and nothing it launched left running.

The program (``grader.entry``, or ``python -m grader.cli``) calls ``guard`` as its first statement; from
then on SIGINT means, by phase:

- starting (the CLI's imports, parsing the command line; nothing is running that needs ending): the line is
  written and the process exits at once. A KeyboardInterrupt there would surface as a traceback from inside
  some import, or as click's "Aborted!".
- working (a command's body, ``working``): Python's KeyboardInterrupt, once, which every ``with`` and
  ``finally`` on the way out sees (each sandbox is closed) and the CLI turns into the line. Ctrl-Cs after it
  are only noted: a second one cannot cut a sandbox's closing short and leave it running.
- finishing (after the command, ``finishing``): noted; the program exits 130 with the line once its teardown
  (closing what is left, exit handlers) is done (``exit_status``).

Only ``guard`` installs a handler, and only over Python's default one: importing grader (a test, a notebook)
changes no signal handler, and an inherited ignored SIGINT (a background job) stays ignored.
``deferred`` is for the library: a Ctrl-C inside ``with deferred():`` is raised as the block ends (a process
launched, and held by its owner, before the KeyboardInterrupt unwinds). Standard library only (os, signal,
sys): the program imports this before anything else.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_STATUS = 130
CHECK_LINE = "interrupted: the check was stopped before it finished; nothing was graded"  # translated (tr)
OTHER_LINE = "interrupted: every result graded so far is stored"

_guarded = False
_line = OTHER_LINE  # the line for this run's command, in its language
_noted = False  # a Ctrl-C came after the first one, or after the command
_said = False  # the line is on stderr


def command_of(argv: list[str]) -> str | None:
    """The subcommand on a `grader` command line (the group's own options take no values)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def line_for(command: str | None, argv: list[str] | tuple = ()) -> str:
    """The line a Ctrl-C prints for ``command``; `grader check`'s in its ``--lang``."""
    if command != "check":
        return OTHER_LINE
    language = _option(list(argv), "--lang")
    if not language or language == "en":
        return CHECK_LINE
    try:
        from grader.i18n import LANGUAGES, LOCALE_DIR, load_catalog

        return load_catalog(LOCALE_DIR / f"{language}.toml").get(CHECK_LINE, CHECK_LINE) \
            if language in LANGUAGES else CHECK_LINE
    except Exception:  # a broken catalog: the CLI says so later; the English line meanwhile
        return CHECK_LINE


def guard(argv: list[str]) -> None:
    """Called first by the program: Ctrl-C from now to its exit is one line and exit 130 (see the module)."""
    global _guarded, _line
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # ignored (started as a background job) or someone else's: left as it is
    command = command_of(argv)
    _line = CHECK_LINE if command == "check" else OTHER_LINE
    signal.signal(signal.SIGINT, _exit_now)
    _guarded = True
    _line = line_for(command, argv)


def working() -> None:
    """A command's body starts: the first Ctrl-C raises KeyboardInterrupt, later ones are noted."""
    if _guarded:
        signal.signal(signal.SIGINT, _interrupt_once)


def finishing() -> None:
    """The command's body is over: a Ctrl-C is noted, and ``exit_status`` makes the exit 130."""
    if _guarded:
        signal.signal(signal.SIGINT, _note)


def say(line: str) -> None:
    """Write the interrupted line (once)."""
    global _said
    if not _said:
        _said = True
        _write(line)


def exit_status(status: int) -> int:
    """The program's exit status: 130, with the line, when a Ctrl-C was noted while it finished."""
    if _guarded and _noted:
        say(_line)
        return EXIT_STATUS
    return status


class deferred:
    """``with deferred():`` a Ctrl-C inside is acted on as the block ends: for launching a process and handing
    it to its owner (a Ctrl-C while ``subprocess.Popen`` waits for the child's exec would lose the child,
    running). A class, not a contextlib generator: this module imports nothing beyond os, signal and sys."""

    def __enter__(self) -> "deferred":
        self.pending: list[int] = []
        self.previous = None
        try:
            previous = signal.signal(signal.SIGINT, lambda number, frame: self.pending.append(number))
        except ValueError:  # not the main thread: signals are never handled in it anyway
            return self
        if callable(previous):
            self.previous = previous
        else:  # ignored or the default action: nothing to defer
            signal.signal(signal.SIGINT, previous)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is None:
            return
        signal.signal(signal.SIGINT, self.previous)
        if self.pending:
            self.previous(signal.SIGINT, sys._getframe())


def _exit_now(number, frame) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not write the line twice
    _write(_line)
    os._exit(EXIT_STATUS)


def _interrupt_once(number, frame) -> None:
    global _noted
    _noted = True  # the exit is 130 even if something on the way swallows the KeyboardInterrupt
    signal.signal(signal.SIGINT, _note)
    raise KeyboardInterrupt


def _note(number, frame) -> None:
    global _noted
    _noted = True


def _write(line: str) -> None:
    # os.write, not sys.stderr: the signal may have come in the middle of a write to sys.stderr
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    try:
        os.write(2, (line + "\n").encode(encoding, errors="replace"))
    except (OSError, LookupError):
        pass


def _option(argv: list[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None
