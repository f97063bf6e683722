"""Values on the wire: plain Python data and tensors, encoded as JSON plus raw byte blobs.

Values are encoded as JSON with a few tagged forms: tuples, dicts (``$dict``: key/value pairs),
non-finite floats, tensors (dtype, shape, device and a blob index) and remote handles (objects
that stay in the sandbox). Decoding builds only plain Python values and plain ``torch.Tensor``
objects, so nothing the student's process sends can run code or carry behaviour into the
trusted side. Its cost is linear in the message: items, depth, keys per dict and key sizes are
capped (dict keys whose hashes an attacker can make collide, tuples and floats, are few), a
tensor's declared shape must match the bytes sent before anything is allocated, and with a
``deadline`` the decoder stops once the call's time is up. The framing is ``grader.wire.framing``.
"""

from __future__ import annotations

import ctypes
import math
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from grader.wire.framing import (DEFAULT_MAX_BLOB_BYTES, MAX_DEPTH, MAX_ITEMS, DecodeTimeout, Handle, WireError,
                                 pack_frame, send_parts)

MAX_DICT_KEYS = 20_000
MAX_KEY_CHARS = 1_000
# Keys whose hash is not seeded per process (tuples, floats, handles) can be made to collide by
# the sender, each insert then costing a scan of the others: only a few per message.
MAX_OTHER_KEYS = 256
# Ints below 2**61 - 1 hash to themselves: distinct keys, distinct hashes.
_MAX_INT_KEY = (1 << 61) - 2
_MAX_DIM = 1 << 48
_DEADLINE_EVERY = 1024  # items between two looks at the clock

DTYPES: dict[str, torch.dtype] = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (
        torch.float64, torch.float32, torch.float16, torch.bfloat16,
        torch.complex64, torch.complex128,
        torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool,
    )
}
_ITEMSIZE = {name: torch.empty((), dtype=dtype).element_size() for name, dtype in DTYPES.items()}
_DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_JSON_SCALARS = frozenset({type(None), bool, int, float, str})  # exactly the types json.loads builds
_CPU = torch.device("cpu")


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
        dtype_name = _DTYPE_NAMES.get(plain.dtype)
        if dtype_name is None:
            raise WireError(f"cannot send a tensor of dtype {plain.dtype}")
        if plain.layout != torch.strided:
            plain = plain.to_dense()
        data = plain.detach()
        if data.device != _CPU:
            data = data.to(_CPU)
        if not data.is_contiguous():
            data = data.contiguous()
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
    tensor to its recorded device. ``deadline`` (time.monotonic): decoding past it raises
    ``DecodeTimeout``.
    """

    blobs: list[bytearray]
    from_handle: Any = None
    place_tensor: Any = None
    deadline: float | None = None
    _items: int = 0
    _other_keys: int = 0
    _copied: int = 0
    _used: set[int] = field(default_factory=set)

    def decode(self, data: Any, depth: int = 0) -> Any:
        self._items += 1
        if self._items > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("value too large or too deeply nested")
        if self.deadline is not None and self._items % _DEADLINE_EVERY == 0 and time.monotonic() > self.deadline:
            raise DecodeTimeout("the reply could not be read within the call's time limit")
        kind = type(data)  # the exact types json.loads builds are told apart first: the common case
        if kind in _JSON_SCALARS or isinstance(data, (bool, int, float, str)):
            return data
        if kind is list or isinstance(data, list):
            return [self.decode(item, depth + 1) for item in data]
        if not isinstance(data, dict) or len(data) == 0:
            raise WireError("malformed value")
        if "$tensor" in data:
            return self._tensor(data, depth)
        if "$tuple" in data:
            return tuple(self.decode(item, depth + 1) for item in _as_list(data["$tuple"]))
        if "$dict" in data:
            return self._dict(_as_list(data["$dict"]), depth)
        if "$float" in data:
            text = data["$float"]
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(text)
        if "$handle" in data:
            if type(data["$handle"]) is not int:
                raise WireError("malformed handle")
            handle = Handle(data["$handle"], str(data.get("type", "object"))[:200])
            return self.from_handle(handle) if self.from_handle else handle
        raise WireError("malformed value")

    def _dict(self, pairs: list, depth: int) -> dict:
        if len(pairs) > MAX_DICT_KEYS:
            raise WireError(f"a dict of more than {MAX_DICT_KEYS} keys")
        result = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = self.decode(pair[0], depth + 1)
            self._check_key(key)
            try:
                result[key] = self.decode(pair[1], depth + 1)
            except TypeError as error:  # unhashable key
                raise WireError("malformed dict key") from error
        return result

    def _check_key(self, key: Any) -> None:
        kind = type(key)
        if kind is str:
            if len(key) > MAX_KEY_CHARS:
                raise WireError(f"a dict key longer than {MAX_KEY_CHARS} characters")
        elif kind is int:
            if not -_MAX_INT_KEY <= key <= _MAX_INT_KEY:
                raise WireError("a dict key that is too large an integer")
        elif key is not None and kind is not bool:
            self._other_keys += 1
            if self._other_keys > MAX_OTHER_KEYS:
                raise WireError(f"more than {MAX_OTHER_KEYS} dict keys that are not strings or integers")

    def _tensor(self, data: dict, depth: int) -> torch.Tensor:
        if depth > MAX_DEPTH:
            raise WireError("value too large or too deeply nested")
        index = data["$tensor"]
        dtype_name = data.get("dtype")
        shape = data.get("shape")
        if type(index) is not int or not 0 <= index < len(self.blobs) or dtype_name not in DTYPES:
            raise WireError("malformed tensor")
        if (not isinstance(shape, list) or len(shape) > 64
                or not all(type(n) is int and 0 <= n < _MAX_DIM for n in shape)):
            raise WireError("malformed tensor shape")
        blob = self.blobs[index]
        numel = math.prod(shape)
        if len(blob) != numel * _ITEMSIZE[dtype_name]:  # before anything is allocated for it
            raise WireError("tensor data does not match its shape")
        dtype = DTYPES[dtype_name]
        if numel == 0:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            # The frame's own buffer becomes the tensor's memory; a blob named twice is copied, so
            # no two tensors share memory however the header is written, and copies never hold more
            # bytes than the frame brought.
            if index in self._used:
                self._copied += len(blob)
                if self._copied > sum(len(item) for item in self.blobs):
                    raise WireError("the same tensor data is named too many times")
                buffer = bytearray(blob)
            else:
                buffer = blob
            self._used.add(index)
            tensor = torch.frombuffer(buffer, dtype=dtype).view(shape)
        device = str(data.get("device", "cpu"))[:64]
        if self.place_tensor is not None:
            tensor = self.place_tensor(tensor, device)
        if data.get("requires_grad") is True and (tensor.is_floating_point() or tensor.is_complex()):
            tensor.requires_grad_(True)
        grad = data.get("grad")
        if grad is not None and tensor.requires_grad:
            if not isinstance(grad, dict) or "$tensor" not in grad:
                raise WireError("malformed tensor gradient")
            self._items += 1
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
    framing = pack_frame(body, [blob.size for blob in encoder.blobs])
    return [framing] + [blob.view() for blob in encoder.blobs if blob.size]


def send_message(sock: socket.socket, header: dict, payload: Any = None, to_handle=None,
                 max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES) -> None:
    send_parts(sock, encode_message(header, payload, to_handle=to_handle, max_blob_bytes=max_blob_bytes))
