"""The ``student`` fixture: a proxy that calls the student's code in the sandbox.

A :class:`StudentSession` owns one submission's child process: it runs the cells
(recording each cell's error, skipping a cell that hangs or kills the process and
going on with the rest) and then forwards calls. A call that times out or ends the
process fails that check only: the next call gets a fresh child with the cells re-run.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable

import torch

from grader import wire
from grader.devices import child_device_settings, cuda_index, is_cuda
from grader.i18n import tr
from grader.judge.diagnosis import ArgumentFacts, Diagnosis, diagnose
from grader.models import CellError, CellProgress, CellResult, ExtractedSubmission
from grader.sandbox.host.connection import SubmissionConnection as Child
from grader.sandbox.host.errors import CallTimeout, ChildGone, SandboxError
from grader.sandbox.host.starvation import SubmissionStarved
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.gpu import SETUP_FAILED_EXIT
from grader.spec import Limits

MAX_RESPAWNS = 4


class StudentCodeFailed(AssertionError):
    """The student's code raised, was missing, hung or crashed; the message says which.

    ``diagnosis``: what the error means, read against the check's arguments (``grader.judge.diagnosis``),
    when a rule knows it; ``what``: the call that failed, in the check's words.
    """

    def __init__(self, message: str, diagnosis: Diagnosis | None = None, what: str | None = None):
        super().__init__(message)
        self.diagnosis = diagnosis
        self.what = what
        self.student_error_type = ""  # the student's exception's type name, when their code raised

    @property
    def safe_explanation(self) -> str | None:
        """The diagnosis as a hidden check may show it: its family and the check's argument facts, its fix;
        nothing from the error message. None when there is no diagnosis."""
        if self.diagnosis is None:
            return None
        if self.what is None:  # a remote object's call: its name holds the student's class name
            return self.diagnosis.safe_cause + "\n" + tr("Hint: {hint}", hint=self.diagnosis.fix)
        return explain(self.what, self.diagnosis.safe_cause, self.diagnosis.fix)


class StudentCodeError(Exception):
    """A :class:`StudentCodeFailed` as the code of a test translated from nbgrader or otter meets it
    (``grader.authoring.runtime``): not an AssertionError, so that test's ``except AssertionError:`` (or
    ``assert_raises(AssertionError, ...)``) is met only by an AssertionError the student's code raised, never
    by a missing name, a timeout, a crash or the NotImplementedError of a template's stub. The judge
    reports it as it reports a StudentCodeFailed."""

    diagnosis: Diagnosis | None = None
    what: str | None = None
    student_error_type = ""
    safe_explanation = StudentCodeFailed.safe_explanation


class CheckCannotSend(TypeError):
    """A check gave the student's code something that is not data: an object of the trusted side (a Dataset,
    a torch.Generator, a function the check made). A mistake in the check, not the student's: nothing was sent."""


class StudentSession:
    def __init__(self, server: WarmWorkerHost, submission: ExtractedSubmission, limits: Limits, device: str,
                 deterministic: bool = False, on_cell: Callable[[CellProgress], None] | None = None):
        """``on_cell``: told when each cell starts and ends, the first time it runs (`grader check`'s
        live lines); a cell run again after the process was restarted is not reported again."""
        self.server = server
        self.on_cell = on_cell
        self.submission = submission
        self.limits = limits
        self.device = device
        self.child_limits = dict(limits.for_child(), device=child_device_settings(
            device, limits.gpu_memory_mb << 20, deterministic))
        self.deadline = time.monotonic() + limits.wall_seconds
        self.reply_deadline: float | None = None  # the call's: reading and decoding its reply count too
        self.child: Child | None = None
        self.generation = 0
        self.respawns = 0
        self.skip: set[int] = set()
        self.cells: dict[int, CellResult] = {}
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.fatal: str | None = None
        self.starved: SubmissionStarved | None = None  # a timeout while the machine gave it no CPU: not its fault

    # the child's life ----------------------------------------------------------

    def start(self) -> None:
        self._spawn_and_run_cells(record=True)

    def _spawn_and_run_cells(self, record: bool) -> None:
        while True:
            self.generation += 1
            self.child = self.server.spawn(self.child_limits)
            stuck = self._run_cells(record)
            if stuck is None:
                return
            self.skip.add(stuck)
            self._end_child()
            if self.out_of_time():
                self.fatal = tr("the notebook ran out of its {limit} s time limit", limit=f"{self.limits.wall_seconds:g}")
                return
            if self.respawns >= MAX_RESPAWNS:
                self.fatal = tr("the notebook's cells kept ending the process")
                return
            self.respawns += 1

    def _run_cells(self, record: bool) -> int | None:
        """Run the cells; return the index of a cell that hung or ended the process, if any."""
        assert self.child is not None
        cells = [(cell.index, cell.source, cell.label) for cell in self.submission.cells]
        current, cell_deadline = None, self.deadline
        try:
            self.child.send({"op": "run_cells"}, {"cells": cells, "skip": sorted(self.skip)})
            while True:
                self.reply_deadline = min(cell_deadline, self.deadline)
                header, _ = self.child.receive(self.reply_deadline, self._decoder)
                event = header.get("event")
                if event == "cell_start":
                    current = header.get("index") if type(header.get("index")) is int else current
                    cell_deadline = time.monotonic() + self.limits.cell_seconds
                    if record and current is not None and current not in self.cells:
                        self._progress(current, "running")
                elif event == "cell_done":
                    current = None
                    cell_deadline = self.deadline
                    index = header.get("index")
                    if record and type(index) is int and index not in self.cells:
                        error = header.get("error")
                        self.cells[index] = CellResult(
                            index=index, status="error" if error else "ok",
                            error=_cell_error(error), seconds=_seconds(header.get("seconds")))
                        self._progress(index, self.cells[index].status, self.cells[index].seconds)
                    elif type(index) is int:
                        # A cell run again in a restarted process (after a cell hung or ended it, or a
                        # check's call did): its output was kept the first time; it is not shown twice.
                        self.child.drain_all()
                        self.child.stdout.discard()
                        self.child.stderr.discard()
                elif event == "cells_finished":
                    return None
        except (CallTimeout, wire.DecodeTimeout) as expired:
            if isinstance(expired, SubmissionStarved):
                self.starved = expired
            if current is None:
                self.fatal = tr("the notebook ran out of its {limit} s time limit", limit=f"{self.limits.wall_seconds:g}")
                return None
            if record:
                limit = min(self.limits.cell_seconds, self.limits.wall_seconds)
                self.cells[current] = CellResult(index=current, status="timeout", error=CellError(
                    type="Timeout", where=self._label(current),
                    message=tr("the cell did not finish within {limit} s; it was stopped and the cells "
                               "after it still ran", limit=f"{limit:g}")))
                self._progress(current, "timeout", limit=limit)
            return current
        except (ChildGone, wire.WireError) as error:
            status = self._end_child()
            if current is None:
                self.fatal = self._gpu_setup_failure(status) or tr(
                    "the sandbox failed while starting the notebook ({error})", error=error)
                return None
            if record:
                self.cells[current] = CellResult(index=current, status="crashed", error=CellError(
                    type="ProcessEnded", where=self._label(current),
                    message=tr("running this cell ended the process ({status}); the cells after it "
                               "still ran", status=status)))
                self._progress(current, "crashed")
            return current

    def _progress(self, index: int, state: str, seconds: float = 0.0, limit: float = 0.0) -> None:
        if self.on_cell is None:
            return
        cell = next((cell for cell in self.submission.cells if cell.index == index), None)
        if cell is None:
            return
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        first = first[:40] + (" …" if len(first) > 40 or len(cell.source.strip().splitlines()) > 1 else "")
        self.on_cell(CellProgress(index=index, label=cell.label, first_line=first, state=state, seconds=seconds,
                                  limit=limit))

    def _label(self, index: int) -> str | None:
        """How the student finds code cell ``index`` in their notebook ("cell 5 (In [3])")."""
        return next((cell.label for cell in self.submission.cells if cell.index == index), None)

    def _end_child(self, wait: bool = True) -> str:
        if self.child is None:
            return "not running"
        child, self.child = self.child, None
        child.finish(wait=wait)
        self.stdout.append(child.stdout.text())
        self.stderr.append(child.stderr.text())
        return child.exit_status or "unknown"

    def close(self) -> None:
        # The checks are done and the process is idle: its exit status says nothing more, so the
        # verdict need not wait for the teardown.
        self._end_child(wait=False)

    def _gpu_setup_failure(self, status: str) -> str | None:
        """The reason a GPU child gave for ending before the first cell (see ``gpu.prepare_child_or_exit``)."""
        if status != f"exit code {SETUP_FAILED_EXIT}" or not self.stderr:
            return None
        lines = [line for line in self.stderr[-1].splitlines() if line.startswith("grader: could not set up")]
        return lines[-1].removeprefix("grader: ")[:500] if lines else None

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    # calls ---------------------------------------------------------------------

    def _decoder(self, blobs: list[bytes]) -> wire.Decoder:
        generation = self.generation
        return wire.Decoder(blobs, from_handle=lambda handle: Remote(self, handle, generation),
                            place_tensor=_place_tensor, deadline=self.reply_deadline)

    def request(self, header: dict, payload: Any = None, what: str = "your code", safe_what: str | None = None) -> Any:
        """One call into the sandbox. ``safe_what``: ``what`` when it is the check's own words (a hidden check's
        message may show it); a remote object's ``what`` holds its class name, which the student chose."""
        if self.fatal:
            raise StudentCodeFailed(tr("{what} was not run: {reason}", what=what, reason=self.fatal))
        if self.out_of_time():
            raise StudentCodeFailed(tr("{what} was not run: the submission used up its {limit} s time limit",
                                       what=what, limit=f"{self.limits.wall_seconds:g}"))
        if self.child is None:
            if self.respawns >= MAX_RESPAWNS:
                raise StudentCodeFailed(tr("{what} was not run: earlier checks ended the process too often", what=what))
            self.respawns += 1
            self._spawn_and_run_cells(record=False)
            if self.child is None:
                raise StudentCodeFailed(tr("{what} was not run: {reason}", what=what, reason=self.fatal))
        timeout = min(self.limits.call_seconds, self.deadline - time.monotonic())
        try:
            try:
                self.child.send(header, payload, to_handle=_remote_to_handle)
            except wire.WireError as error:  # raised while encoding, before the first byte went: the child is fine
                raise CheckCannotSend(f"{what}: the check's arguments cannot be sent to the student's code ({error}); "
                                      "send data (tensors, numbers, strings, lists, tuples, dicts) or objects of "
                                      "the student's process (a Remote, or one made there with student.build)") from None
            self.reply_deadline = time.monotonic() + timeout
            reply, value = self.child.receive(self.reply_deadline, self._decoder)
        except (CallTimeout, wire.DecodeTimeout) as expired:
            if isinstance(expired, SubmissionStarved):
                self.starved = expired
            self._end_child()
            raise StudentCodeFailed(tr("{what} did not return within {limit} s (an endless loop?)", what=what,
                                       limit=f"{timeout:.3g}")) from None
        except ChildGone:
            status = self._end_child()
            raise StudentCodeFailed(tr("{what} ended the process ({status})", what=what, status=status)) from None
        except wire.WireError as error:
            self._end_child()
            raise StudentCodeFailed(tr("{what} returned something the grader cannot read ({error})", what=what,
                                       error=error)) from None
        if reply.get("ok"):
            return value
        error = reply.get("error") or {}
        if error.get("type") == "MissingName":
            raise StudentCodeFailed(tr("{name} is not defined in your notebook (define it in a code cell that "
                                       "runs without errors)", name=what.split("(")[0]))
        where = f" ({localized_where(error['where'])})" if error.get("where") else ""
        message = str(error.get("message", ""))[:500]
        if error.get("type") == "OutOfMemoryError":
            first = message.split(". ")[0].strip()
            raise StudentCodeFailed(tr("{what} ran out of GPU memory: a submission may use {limit} MB of GPU "
                                       "memory{where}{detail}", what=what, limit=self.limits.gpu_memory_mb,
                                       where=where, detail=f" ({first})" if first else ""))
        detail = f": {message}" if message else ""
        error_type = str(error.get("type", tr("an error")))[:100]
        raised = tr("{what} raised {error}{detail}{where}", what=what, error=error_type, detail=detail, where=where)
        diagnosis = diagnose(error_type, message, ArgumentFacts.of(payload))
        if diagnosis is None:
            failure = StudentCodeFailed(raised)
        else:  # the diagnosis first, in the student's language; torch's own words kept below it
            failure = StudentCodeFailed(explain(what, diagnosis.cause, diagnosis.fix) + "\n" + raised, diagnosis,
                                        safe_what)
        failure.student_error_type = error_type  # grader.authoring.runtime raises it again as that type
        raise failure


def explain(what: str, cause: str, fix: str) -> str:
    """A diagnosis as the student reads it: the call, the cause, and the fix as a hint."""
    return tr("{what}: {cause}", what=what, cause=cause) + "\n" + tr("Hint: {hint}", hint=fix)


_LINE_SUFFIX = re.compile(r", line (\d{1,9})$")


def localized_where(where: Any) -> str | None:
    """The sandbox's "cell 5, line 3" in the chosen language: the cell's label is already translated
    (it was made on this side), the ", line N" the sandbox adds is translated here."""
    if where is None:
        return None
    where = str(where)[:200]
    return _LINE_SUFFIX.sub(lambda match: tr(", line {line}", line=match.group(1)), where)


def _cell_error(error: Any) -> CellError | None:
    if not isinstance(error, dict):
        return None
    where = error.get("where")
    return CellError(type=str(error.get("type", "Error"))[:100], message=str(error.get("message", ""))[:2000],
                     where=localized_where(where),
                     traceback=str(error.get("traceback", ""))[:2000])


def _seconds(value: Any) -> float:
    return float(value) if type(value) in (int, float) and 0 <= value < 1e9 else 0.0


def _place_tensor(tensor: torch.Tensor, device: str) -> torch.Tensor:
    """Put a tensor rebuilt from the child's bytes on the device the child's tensor was on.

    So a check sees where the student's result lives (``expect_on_device``). The device name
    comes from the untrusted side: only ``cpu`` and a GPU this process has are accepted.
    On a machine without CUDA nothing but ``cpu`` can be real, and the tensor stays here.
    """
    if device == "cpu":
        return tensor
    index = cuda_index(device) if is_cuda(device) else None
    if not is_cuda(device):
        raise wire.WireError(f"a tensor on an unknown device {device[:40]!r}")
    if not torch.cuda.is_available():
        return tensor
    if index is not None and index >= torch.cuda.device_count():
        raise wire.WireError(f"a tensor on a device this machine does not have ({device})")
    return tensor.to(device)


def _remote_to_handle(value: Any) -> wire.Handle:
    if isinstance(value, Remote):
        return value._handle_for_call()
    raise wire.WireError(f"a check cannot send a {type(value).__name__} to the student's code")


class Remote:
    """An object that lives in the sandbox (a module, an optimizer, a numpy value...)."""

    def __init__(self, session: StudentSession, handle: wire.Handle, generation: int):
        self._session = session
        self._handle = handle
        self._generation = generation
        self.type_name = handle.type_name

    def _handle_for_call(self) -> wire.Handle:
        if self._generation != self._session.generation:
            raise StudentCodeFailed(tr("an object from an earlier run of the notebook was used after the "
                                       "process ended; an earlier call failed"))
        return self._handle

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.request({"op": "call", "handle": self._handle_for_call().id, "name": None},
                                     (list(args), kwargs), what=tr("your {type}(...)", type=self.type_name.rsplit('.', 1)[-1]))

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._session.request({"op": "call", "handle": self._handle_for_call().id, "name": method},
                                     (list(args), kwargs), what=f"{self.type_name.rsplit('.', 1)[-1]}.{method}(...)")

    def collect(self, limit: int = 1000) -> list:
        """The items this object yields when the sandbox iterates over it (a DataLoader's batches, a Dataset's
        items through ``__getitem__`` until IndexError), at most ``limit`` (up to 10,000), as data: one call.
        Iterating runs the student's code (``__getitem__``, ``collate_fn``) under the call's time limit."""
        return self._session.request({"op": "collect", "handle": self._handle_for_call().id, "limit": int(limit)},
                                     what=tr("iterating over your {type}", type=self.type_name.rsplit('.', 1)[-1]))

    def get(self, attribute: str) -> Any:
        return self._session.request({"op": "get", "handle": self._handle_for_call().id, "name": attribute},
                                     what=f"{self.type_name.rsplit('.', 1)[-1]}.{attribute}")

    def __repr__(self) -> str:
        return f"<student's {self.type_name}>"

    def __bool__(self) -> bool:
        return True


class StudentProxy:
    """``student.f(...)`` calls the notebook's ``f`` in the sandbox; see docs/writing-checks.md."""

    def __init__(self, session: StudentSession, seed: int | None = None):
        self._session = session
        self._seed = seed

    def seeded(self, seed: int) -> "StudentProxy":
        return StudentProxy(self._session, seed)

    def _header(self, op: str, **fields: Any) -> dict:
        header = {"op": op, **fields}
        if self._seed is not None:
            header["seed"] = int(self._seed)
        return header

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._session.request(self._header("call", name=name), (list(args), kwargs),
                                         what=f"{name}(...)", safe_what=f"{name}(...)")

        call.__name__ = name
        return call

    def has(self, name: str) -> bool:
        names = self._session.request(self._header("names"), what="listing your notebook's names")
        return isinstance(names, dict) and name in names

    def get(self, name: str) -> Any:
        return self._session.request(self._header("get", name=name), what=name)

    def put(self, value: Any) -> Remote:
        return self._session.request(self._header("put"), value, what=tr("sending data to your code"))

    def fetch(self, remote: Remote) -> Any:
        return self._session.request(self._header("fetch", handle=remote._handle_for_call().id),
                                     what=tr("reading your {type}", type=remote.type_name))

    def describe(self, remote: Remote) -> dict:
        if not isinstance(remote, Remote):
            raise StudentCodeFailed(tr("expected an object such as an nn.Module, got {type}",
                                       type=type(remote).__name__))
        return self._session.request(self._header("describe", handle=remote._handle_for_call().id),
                                     what=tr("describing your {type}", type=remote.type_name))

    def build(self, factory: str, *args: Any, **kwargs: Any) -> Remote:
        return self._session.request(self._header("build", factory=factory), (list(args), kwargs),
                                     what=tr("building a {factory} for the check", factory=factory))


__all__ = ["StudentProxy", "StudentSession", "Remote", "StudentCodeFailed", "StudentCodeError", "CheckCannotSend",
           "SandboxError"]
