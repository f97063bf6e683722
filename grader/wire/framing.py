"""How a message is framed on the sandbox's socket: sizes, blobs and a JSON envelope (standard library only).

A frame is ``!II`` (header length, blob count), one ``!Q`` size per blob, the JSON body, then the
blobs' raw bytes. Everything the other side declares is checked against a cap before anything
is allocated for it, and the JSON is counted before it is parsed, so the trusted side's cost of
reading a frame is linear in the bytes sent and its memory a small multiple of them.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from dataclasses import dataclass

MAX_HEADER_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32
MAX_ITEMS = 200_000
# Commas, brackets and braces of the JSON body bound the number of values json.loads builds
# (a value costs 30-60 bytes parsed, 2 bytes sent: "0," or "[]"). Counted before parsing.
MAX_JSON_TOKENS = 4 * MAX_ITEMS

_PREFIX = struct.Struct("!II")  # header length, blob count
_BLOB_LEN = struct.Struct("!Q")
# One encoder for every frame: json.dumps builds a new one per call when given allow_nan=False.
_JSON_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


class WireError(Exception):
    """A frame or value that breaks the protocol (too big, malformed, truncated)."""


class ConnectionClosed(WireError):
    """The other side closed the connection."""


class DecodeTimeout(WireError):
    """Reading a message would take past the call's deadline."""


@dataclass(frozen=True)
class Handle:
    """A reference to an object that lives in the sandbox and cannot travel as data."""

    id: int
    type_name: str


def pack_frame(body: dict, blob_sizes: list[int]) -> bytes:
    """The frame's leading part (prefix, blob sizes, JSON body); the blobs follow it on the socket."""
    encoded = _JSON_ENCODER.encode(body).encode()
    if len(encoded) > MAX_HEADER_BYTES:
        raise WireError("message header too large")
    framing = [_PREFIX.pack(len(encoded), len(blob_sizes))]
    framing.extend(_BLOB_LEN.pack(size) for size in blob_sizes)
    framing.append(encoded)
    return b"".join(framing)


_IOV_MAX = 1024  # buffers one sendmsg takes (Linux's UIO_MAXIOV)


def send_parts(sock: socket.socket, parts: list) -> None:
    """Send ``parts`` (bytes-like, in order) with one ``sendmsg`` per batch of buffers, not one ``sendall`` each.

    A socket with a timeout keeps it as ``sendall`` does: the whole send must finish within it,
    however slowly the other side reads.
    """
    if not hasattr(sock, "sendmsg"):  # (Windows)
        for part in parts:
            sock.sendall(part)
        return
    views = [view for view in (memoryview(part).cast("B") for part in parts) if len(view)]
    timeout = sock.gettimeout()
    deadline = None if timeout is None else time.monotonic() + timeout
    first = 0
    try:
        while first < len(views):
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise socket.timeout("timed out")
                sock.settimeout(remaining)
            sent = sock.sendmsg(views[first:first + _IOV_MAX])
            while first < len(views) and sent >= len(views[first]):
                sent -= len(views[first])
                first += 1
            if sent:
                views[first] = views[first][sent:]
    finally:
        if deadline is not None:
            sock.settimeout(timeout)


def parse_envelope(raw: bytes | bytearray) -> dict:
    """The JSON body of a frame, refused before parsing when it would build too many values."""
    tokens = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if tokens > MAX_JSON_TOKENS:
        raise WireError(f"frame header holds more than {MAX_JSON_TOKENS} JSON values")
    try:
        header = json.loads(raw.decode())  # UTF-8, as pack_frame writes it (plain ASCII, in fact)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError("frame header is not JSON") from error
    except RecursionError:
        raise WireError("frame header is nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        raise WireError("frame header holds a value that cannot be read") from error
    if not isinstance(header, dict):
        raise WireError("frame header is not an object")
    return header


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
    # The blob sizes and the JSON body, in one read: both are capped above (16 MB, 1.6 MB).
    sizes_end = _BLOB_LEN.size * blob_count
    framing = _read_exact(sock, sizes_end + header_len, deadline)
    sizes = list(struct.unpack_from(f"!{blob_count}Q", framing)) if blob_count else []
    if sum(sizes) > max_blob_bytes:
        raise WireError(f"frame carries more than {max_blob_bytes} bytes of tensor data")
    del framing[:sizes_end]  # (a bytearray drops its head without copying the rest)
    header = parse_envelope(framing)
    blobs = [_read_exact(sock, size, deadline) for size in sizes]
    return header, blobs
