"""The ``student`` fixture: a proxy that calls the student's code in the sandbox.

A :class:`StudentSession` owns one submission's child process: it runs the cells
(recording each cell's error, skipping a cell that hangs or kills the process and
going on with the rest) and then forwards calls. A call that times out or ends the
process fails that check only: the next call gets a fresh child with the cells re-run.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from grader import wire
from grader.devices import child_device_settings, cuda_index, is_cuda
from grader.i18n import tr
from grader.models import CellError, CellResult, ExtractedSubmission
from grader.sandbox.host.connection import SubmissionConnection as Child
from grader.sandbox.host.errors import CallTimeout, ChildGone, SandboxError
from grader.sandbox.host.starvation import SubmissionStarved
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.gpu import SETUP_FAILED_EXIT
from grader.spec import Limits

MAX_RESPAWNS = 4


class StudentCodeFailed(AssertionError):
    """The student's code raised, was missing, hung or crashed; the message says which."""


class StudentSession:
    def __init__(self, server: WarmWorkerHost, submission: ExtractedSubmission, limits: Limits, device: str,
                 deterministic: bool = False):
        self.server = server
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
                elif event == "cell_done":
                    current = None
                    cell_deadline = self.deadline
                    index = header.get("index")
                    if record and type(index) is int and index not in self.cells:
                        error = header.get("error")
                        self.cells[index] = CellResult(
                            index=index, status="error" if error else "ok",
                            error=_cell_error(error), seconds=_seconds(header.get("seconds")))
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
            return current

    def _label(self, index: int) -> str | None:
        """How the student finds code cell ``index`` in their notebook ("cell 5 (In [3])")."""
        return next((cell.label for cell in self.submission.cells if cell.index == index), None)

    def _end_child(self) -> str:
        if self.child is None:
            return "not running"
        child, self.child = self.child, None
        child.finish()
        self.stdout.append(child.stdout.text())
        self.stderr.append(child.stderr.text())
        return child.exit_status or "unknown"

    def close(self) -> None:
        self._end_child()

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

    def request(self, header: dict, payload: Any = None, what: str = "your code") -> Any:
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
            self.child.send(header, payload, to_handle=_remote_to_handle)
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
        where = f" ({error['where']})" if error.get("where") else ""
        message = str(error.get("message", ""))[:500]
        if error.get("type") == "OutOfMemoryError":
            first = message.split(". ")[0].strip()
            raise StudentCodeFailed(tr("{what} ran out of GPU memory: a submission may use {limit} MB of GPU "
                                       "memory{where}{detail}", what=what, limit=self.limits.gpu_memory_mb,
                                       where=where, detail=f" ({first})" if first else ""))
        detail = f": {message}" if message else ""
        failure = StudentCodeFailed(tr("{what} raised {error}{detail}{where}", what=what,
                                       error=error.get("type", tr("an error")), detail=detail, where=where))
        failure.student_error_type = str(error.get("type", ""))  # grader.authoring.runtime raises it as that type
        raise failure


def _cell_error(error: Any) -> CellError | None:
    if not isinstance(error, dict):
        return None
    where = error.get("where")
    return CellError(type=str(error.get("type", "Error"))[:100], message=str(error.get("message", ""))[:2000],
                     where=str(where)[:200] if where is not None else None,
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
                                         what=f"{name}(...)")

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


__all__ = ["StudentProxy", "StudentSession", "Remote", "StudentCodeFailed", "SandboxError"]
