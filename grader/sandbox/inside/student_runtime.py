"""What runs inside the sandboxed child: the student's cells, then a call server.

This module is imported by the warm worker before any student code exists, and it
holds nothing secret: the checks and the reference solution never reach this process.
Everything it sends back is data (see ``grader.wire``); whatever the student's code
does to this module only changes what data comes back, never how it is judged.
"""

from __future__ import annotations

import builtins
import io
import itertools
import linecache
import os
import socket
import sys
import time
import traceback
import types
import warnings
from typing import Any

import torch

from grader import wire
from grader.seeding import seed_everything
from grader.sandbox.inside import cuda_setup, describe, factories
# ``grader.wire`` imports its values module on first use: imported here, in the warm worker before
# it forks, so no child compiles it again (8-30 ms each: the sandbox writes no bytecode cache).
from grader.wire import values as _wire_values  # noqa: F401

CELL_FILENAME = "<cell {index}>"
MAX_MESSAGE_CHARS = 2000
MAX_HANDLES = 100_000
MAX_COLLECTED = 10_000  # items one collect returns: a DataLoader's batches, a Dataset's items
_CELL_LABELS: dict[str, str] = {}  # "<cell 3>" -> "cell 5 (In [3])": how the student finds that cell


class StudentRuntime:
    """The student's namespace plus a table of objects handed out as handles."""

    def __init__(self, sock: socket.socket, max_blob_bytes: int):
        self.sock = sock
        self.max_blob_bytes = max_blob_bytes
        self.module = types.ModuleType("__main__")
        self.module.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = self.module
        self.namespace = self.module.__dict__
        self.handles: dict[int, Any] = {}
        self._next_handle = 1

    # handles -----------------------------------------------------------------

    def to_handle(self, value: Any) -> wire.Handle:
        if len(self.handles) >= MAX_HANDLES:
            raise wire.WireError("too many objects kept for the checks")
        handle_id = self._next_handle
        self._next_handle += 1
        self.handles[handle_id] = value
        return wire.Handle(handle_id, _type_name(value))

    def from_handle(self, handle: wire.Handle) -> Any:
        try:
            return self.handles[handle.id]
        except KeyError:
            raise wire.WireError(f"unknown handle {handle.id}") from None

    # replies -----------------------------------------------------------------

    def reply(self, header: dict, payload: Any = None) -> None:
        try:
            wire.send_message(self.sock, header, payload, to_handle=self.to_handle,
                              max_blob_bytes=self.max_blob_bytes)
        except wire.WireError as error:
            wire.send_message(self.sock, {"ok": False, "error": {"type": "ResultTooLarge", "message": str(error)}})

    def reply_error(self, error: BaseException) -> None:
        self.reply({"ok": False, "error": describe_exception(error)})

    # cells -------------------------------------------------------------------

    def run_cells(self, cells: list, skip: list) -> None:
        prepare_cell_environment()
        for entry in cells:
            index, source = entry[0], entry[1]
            label = entry[2] if len(entry) > 2 and isinstance(entry[2], str) else None
            if index in skip:
                continue
            self.reply({"event": "cell_start", "index": index})
            started = time.perf_counter()
            error = run_cell(self.namespace, index, source, label)
            _flush_output()
            if error and error.get("type") == "OutOfMemoryError":
                cuda_setup.release_cached_memory()
            self.reply({"event": "cell_done", "index": index, "error": error,
                        "seconds": time.perf_counter() - started})
        self.reply({"event": "cells_finished"})

    # calls -------------------------------------------------------------------

    def handle(self, header: dict, payload: Any) -> None:
        op = header.get("op")
        if op == "run_cells":
            self.run_cells(payload["cells"], payload.get("skip", []))
            return
        seed = header.get("seed")
        if isinstance(seed, int):
            seed_everything(seed)
        out_of_memory = False
        try:
            result = self.dispatch(op, header, payload)
        except BaseException as error:  # the student's code may raise anything, SystemExit included
            _flush_output()
            self.reply_error(error)
            out_of_memory = cuda_setup.is_out_of_memory(error)
        else:
            _flush_output()
            self.reply({"ok": True}, result)
        if out_of_memory:  # the failed call's tensors are gone with its frames: free their blocks
            cuda_setup.release_cached_memory()

    def dispatch(self, op: str, header: dict, payload: Any) -> Any:
        if op == "call":
            target = self.resolve(header)
            args, kwargs = payload
            return target(*args, **kwargs)
        if op == "get":
            return self.resolve(header)
        if op == "put":
            return self.to_handle(payload)
        if op == "fetch":
            # Sent back as data: tensors with their grad metadata, anything else as a handle.
            return self.from_handle(wire.Handle(header["handle"], ""))
        if op == "describe":
            return describe.describe_object(self.from_handle(wire.Handle(header["handle"], "")))
        if op == "collect":
            # Iterating runs the student's code (a Dataset's __getitem__, a collate_fn): it is a call like any other.
            limit = header.get("limit")
            if type(limit) is not int or not 0 <= limit <= MAX_COLLECTED:
                raise wire.WireError(f"collect takes a limit from 0 to {MAX_COLLECTED}")
            return list(itertools.islice(iter(self.from_handle(wire.Handle(header["handle"], ""))), limit))
        if op == "build":
            args, kwargs = payload
            return self.to_handle(factories.build(header["factory"], *args, **kwargs))
        if op == "names":
            return {name: _type_name(value) for name, value in list(self.namespace.items())
                    if not name.startswith("__")}
        if op == "release":
            for handle_id in payload:
                self.handles.pop(handle_id, None)
            return None
        raise wire.WireError(f"unknown operation {op!r}")

    def resolve(self, header: dict) -> Any:
        name = header.get("name")
        handle_id = header.get("handle")
        if handle_id is None:
            if name not in self.namespace:
                raise MissingName(name)
            return self.namespace[name]
        target = self.from_handle(wire.Handle(handle_id, ""))
        return getattr(target, name) if name else target


class MissingName(Exception):
    pass


def prepare_cell_environment() -> None:
    """What notebooks expect of their kernel, before the first cell: plots drawn off-screen, and
    modules next to the notebook importable (a ``%%writefile`` module, the assignment's helper.py).

    matplotlib's Agg backend draws into memory, so ``plt.show()`` returns at once. The warm worker
    imported pyplot already (its font list built once); these variables are for a matplotlib it
    did not import and for the student's subprocesses: config and cache in the working directory,
    the only place a child may write.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(os.getcwd(), ".matplotlib"))
    warnings.filterwarnings("ignore", message=".*non-interactive, and thus cannot be shown")


def run_cell(namespace: dict, index: int, source: str, label: str | None = None) -> dict | None:
    filename = CELL_FILENAME.format(index=index)
    _CELL_LABELS[filename] = (label or filename.strip("<>"))[:200]
    # Lines as Python splits them (not str.splitlines, which also breaks at U+2028 and form feeds).
    linecache.cache[filename] = (len(source), None, io.StringIO(source).readlines(), filename)
    try:
        code = compile(source, filename, "exec")
        exec(code, namespace)
    except BaseException as error:  # a cell's SystemExit or KeyboardInterrupt is recorded too
        described = describe_exception(error)
        if isinstance(error, ImportError):
            described["message"] = _import_failed_message(error, described["message"], _CELL_LABELS[filename])
        return described
    return None


def _import_failed_message(error: ImportError, message: str, label: str) -> str:
    """Say which module is missing and that the cell stopped there: what it defines after the import is missing."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        message = f"No module named {error.name[:200]!r}: the grader's sandbox does not have it"
    return (f"{message}; the rest of {label} did not run, so nothing it defines after the failed import "
            "exists")[:MAX_MESSAGE_CHARS]


def _is_student_frame(filename: str) -> bool:
    """A frame of the student's code: a cell, or a module written into the working folder (%%writefile)."""
    if filename.startswith("<cell "):
        return True
    try:
        return filename.startswith(os.getcwd() + os.sep) or not os.path.isabs(filename) and not filename.startswith("<")
    except OSError:
        return False


def _frame_label(filename: str) -> str:
    if filename in _CELL_LABELS:
        return _CELL_LABELS[filename]
    if filename.startswith("<cell "):
        return filename.strip("<>")
    try:
        return os.path.relpath(filename)[:200]
    except (OSError, ValueError):
        return filename[:200]


def describe_exception(error: BaseException) -> dict:
    message = _safe_str(error)[:MAX_MESSAGE_CHARS]
    where = None
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    student_frames = [frame for frame in frames if _is_student_frame(frame.filename)]
    if isinstance(error, SyntaxError) and (error.filename or "").startswith("<cell "):
        where = f"{_frame_label(error.filename)}, line {error.lineno}"
    elif student_frames:
        last = student_frames[-1]
        where = f"{_frame_label(last.filename)}, line {last.lineno}"
    lines = [f'  File "{_frame_label(frame.filename)}", line {frame.lineno}, in {frame.name}\n'
             + (f"    {frame.line.strip()}\n" if frame.line else "") for frame in student_frames[-5:]]
    return {
        "type": type(error).__name__[:100] if not isinstance(error, MissingName) else "MissingName",
        "message": message,
        "where": where,
        "traceback": "".join(lines)[-MAX_MESSAGE_CHARS:],
    }


def _safe_str(error: BaseException) -> str:
    try:
        return str(error)
    except BaseException:
        return f"<{type(error).__name__} whose message cannot be shown>"


def _type_name(value: Any) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", kind.__name__)
    if module in ("builtins", "__main__"):
        return name
    return f"{module}.{name}"


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def serve(sock: socket.socket, max_blob_bytes: int) -> None:
    """Serve requests until the trusted side closes the connection."""
    runtime = StudentRuntime(sock, max_blob_bytes)
    while True:
        try:
            header, blobs = wire.receive_message(sock, max_blob_bytes)
        except wire.ConnectionClosed:
            return
        decoder = wire.Decoder(blobs, from_handle=runtime.from_handle, place_tensor=_place_tensor)
        try:
            payload = decoder.decode(header.get("payload"))
        except wire.WireError as error:
            runtime.reply_error(error)
            continue
        finally:
            del blobs, decoder
        runtime.handle(header, payload)
        # This call's tensors are freed before the next message's buffers are allocated, so those reuse
        # their memory instead of growing the heap onto pages this process has not touched (page faults).
        del header, payload


def _place_tensor(tensor: torch.Tensor, device: str) -> torch.Tensor:
    return tensor if device == "cpu" else tensor.to(device)
