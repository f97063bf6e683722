"""The data that crosses the sandbox boundary, and how it is framed.

A frame is a JSON header plus raw byte blobs (tensor contents). Values are encoded
as JSON with a few tagged forms: tuples, dicts with non-string keys, non-finite
floats, tensors (dtype, shape, device and a blob index) and remote handles (objects
that stay in the sandbox). Decoding builds only plain Python values and plain
``torch.Tensor`` objects, so nothing the student's process sends can run code or
carry behaviour into the trusted side. Sizes and depth are capped.
"""

from __future__ import annotations

import ctypes
import json
import math
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import torch

MAX_HEADER_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32
MAX_ITEMS = 200_000

_PREFIX = struct.Struct("!II")  # header length, blob count
_BLOB_LEN = struct.Struct("!Q")

DTYPES: dict[str, torch.dtype] = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (
        torch.float64, torch.float32, torch.float16, torch.bfloat16,
        torch.complex64, torch.complex128,
        torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool,
    )
}


class WireError(Exception):
    """A frame or value that breaks the protocol (too big, malformed, truncated)."""


class ConnectionClosed(WireError):
    """The other side closed the connection."""


@dataclass(frozen=True)
class Handle:
    """A reference to an object that lives in the sandbox and cannot travel as data."""

    id: int
    type_name: str


@dataclass(frozen=True)
class _Blob:
    """A tensor's bytes, sent straight from its memory (no copy before the socket's own)."""

    tensor: torch.Tensor
    size: int

    def view(self) -> memoryview:
        if self.size == 0:
            return memoryview(b"")
        memory = (ctypes.c_char * self.size).from_address(self.tensor.data_ptr())
        memory.owner = self.tensor  # the view keeps the array, the array the tensor: no dangling memory
        return memoryview(memory).cast("B")


@dataclass
class Encoder:
    """Turns a value into JSON-able data plus blobs.

    ``to_handle`` is called for values that are not data; without it they are an error.
    """

    to_handle: Any = None
    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES
    blobs: list[_Blob] = field(default_factory=list)
    _blob_bytes: int = 0
    _items: int = 0

    def encode(self, value: Any, depth: int = 0) -> Any:
        self._items += 1
        if self._items > MAX_ITEMS:
            raise WireError(f"value has more than {MAX_ITEMS} items")
        if depth > MAX_DEPTH:
            raise WireError(f"value is nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value
        if kind is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}
        if isinstance(value, torch.Tensor):
            return self._tensor(value, depth)
        if isinstance(value, Handle):
            return {"$handle": value.id, "type": value.type_name}
        if kind is list:
            return [self.encode(item, depth + 1) for item in value]
        if kind is tuple:
            return {"$tuple": [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if self.to_handle is not None:
            return self.encode(self.to_handle(value), depth)
        raise WireError(f"cannot send a value of type {kind.__name__}")

    def _tensor(self, tensor: torch.Tensor, depth: int) -> dict:
        plain = torch.Tensor.as_subclass(tensor, torch.Tensor)
        dtype_name = str(plain.dtype).removeprefix("torch.")
        if dtype_name not in DTYPES:
            raise WireError(f"cannot send a tensor of dtype {plain.dtype}")
        if plain.layout != torch.strided:
            plain = plain.to_dense()
        data = plain.detach().to("cpu").contiguous()
        if data.is_conj():
            data = data.resolve_conj()
        size = data.numel() * data.element_size()
        self._blob_bytes += size
        if self._blob_bytes > self.max_blob_bytes:
            raise WireError(f"tensors larger than {self.max_blob_bytes} bytes in total cannot be sent")
        self.blobs.append(_Blob(data, size))
        encoded = {
            "$tensor": len(self.blobs) - 1,
            "dtype": dtype_name,
            "shape": list(plain.shape),
            "device": str(plain.device),
            "requires_grad": bool(torch.Tensor.requires_grad.__get__(tensor)),
            "grad_fn": _grad_fn_name(tensor),
        }
        grad = torch.Tensor.grad.__get__(tensor) if torch.Tensor.is_leaf.__get__(tensor) else None
        if grad is not None:
            encoded["grad"] = self._tensor(grad, depth + 1)
        return encoded


@dataclass
class Decoder:
    """Rebuilds plain values from JSON data and blobs.

    ``from_handle`` maps a handle tag to an object (inside the sandbox: the real
    object; on the trusted side: a remote proxy). ``place_tensor`` may move a rebuilt
    tensor to its recorded device.
    """

    blobs: list[bytearray]
    from_handle: Any = None
    place_tensor: Any = None
    _items: int = 0
    _used: set[int] = field(default_factory=set)

    def decode(self, data: Any, depth: int = 0) -> Any:
        self._items += 1
        if self._items > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("value too large or too deeply nested")
        if data is None or isinstance(data, (bool, int, float, str)):
            return data
        if isinstance(data, list):
            return [self.decode(item, depth + 1) for item in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise WireError("malformed value")
        if "$tensor" in data:
            return self._tensor(data, depth)
        if "$tuple" in data:
            return tuple(self.decode(item, depth + 1) for item in _as_list(data["$tuple"]))
        if "$dict" in data:
            result = {}
            for pair in _as_list(data["$dict"]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise WireError("malformed dict entry")
                key = self.decode(pair[0], depth + 1)
                try:
                    result[key] = self.decode(pair[1], depth + 1)
                except TypeError as error:  # unhashable key
                    raise WireError("malformed dict key") from error
            return result
        if "$float" in data:
            text = data["$float"]
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(text)
        if "$handle" in data:
            handle = Handle(int(data["$handle"]), str(data.get("type", "object"))[:200])
            return self.from_handle(handle) if self.from_handle else handle
        raise WireError("malformed value")

    def _tensor(self, data: dict, depth: int) -> torch.Tensor:
        index = data["$tensor"]
        dtype = DTYPES.get(data.get("dtype"))
        shape = data.get("shape")
        if type(index) is not int or not 0 <= index < len(self.blobs) or dtype is None:
            raise WireError("malformed tensor")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 64:
            raise WireError("malformed tensor shape")
        blob = self.blobs[index]
        numel = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(blob) != numel * itemsize:
            raise WireError("tensor data does not match its shape")
        if numel == 0:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            # The frame's own buffer becomes the tensor's memory; a blob named twice is copied, so
            # no two tensors share memory however the header is written.
            buffer = blob if index not in self._used else bytearray(blob)
            self._used.add(index)
            tensor = torch.frombuffer(buffer, dtype=torch.uint8).view(dtype).reshape(shape)
        device = str(data.get("device", "cpu"))
        if self.place_tensor is not None:
            tensor = self.place_tensor(tensor, device)
        if data.get("requires_grad") is True and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        grad = data.get("grad")
        if grad is not None and tensor.requires_grad:
            tensor.grad = self._tensor(grad, depth + 1)
        return tensor


def _grad_fn_name(tensor: torch.Tensor) -> str | None:
    grad_fn = torch.Tensor.grad_fn.__get__(tensor)
    return type(grad_fn).__name__ if grad_fn is not None else None


def _as_list(value: Any) -> list:
    if not isinstance(value, list):
        raise WireError("malformed value")
    return value


def encode_message(header: dict, payload: Any = None, to_handle=None,
                   max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> list[bytes | memoryview]:
    """Frame a message: ``header`` is plain JSON, ``payload`` any value the encoder takes.

    Returns the frame's parts, to be sent in order: the framing and JSON, then each tensor's
    bytes as a view of its memory (valid while the parts are alive).
    """
    encoder = Encoder(to_handle=to_handle, max_blob_bytes=max_blob_bytes)
    body = dict(header)
    body["payload"] = encoder.encode(payload)
    encoded = json.dumps(body, allow_nan=False).encode()
    if len(encoded) > MAX_HEADER_BYTES:
        raise WireError("message header too large")
    framing = [_PREFIX.pack(len(encoded), len(encoder.blobs))]
    framing.extend(_BLOB_LEN.pack(blob.size) for blob in encoder.blobs)
    framing.append(encoded)
    return [b"".join(framing)] + [blob.view() for blob in encoder.blobs if blob.size]


def send_message(sock: socket.socket, header: dict, payload: Any = None, to_handle=None,
                 max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
    for part in encode_message(header, payload, to_handle=to_handle, max_blob_bytes=max_blob_bytes):
        sock.sendall(part)


def _read_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytearray:
    """Exactly ``size`` bytes, read straight into one buffer."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("frame not complete by its deadline")
            sock.settimeout(remaining)
        count = sock.recv_into(view[received:], size - received)
        if not count:
            raise ConnectionClosed("connection closed")
        received += count
    return buffer


def receive_message(sock: socket.socket, max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
                    deadline: float | None = None) -> tuple[dict, list[bytearray]]:
    """Read one frame: its JSON body (payload still encoded) and its blobs, sizes checked first.

    With ``deadline`` (time.monotonic), the whole frame must arrive by then, however it is
    trickled in; the caller then owns a socket with a timeout set.
    """
    header_len, blob_count = _PREFIX.unpack(_read_exact(sock, _PREFIX.size, deadline))
    if header_len > MAX_HEADER_BYTES or blob_count > MAX_ITEMS:
        raise WireError("frame too large")
    sizes = [_BLOB_LEN.unpack(_read_exact(sock, _BLOB_LEN.size, deadline))[0] for _ in range(blob_count)]
    if sum(sizes) > max_blob_bytes:
        raise WireError(f"frame carries more than {max_blob_bytes} bytes of tensor data")
    try:
        header = json.loads(_read_exact(sock, header_len, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError("frame header is not JSON") from error
    if not isinstance(header, dict):
        raise WireError("frame header is not an object")
    blobs = [_read_exact(sock, size, deadline) for size in sizes]
    return header, blobs
