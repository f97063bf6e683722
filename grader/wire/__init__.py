"""The data that crosses the sandbox boundary: its framing (``framing``, standard library only)
and its values, tensors included (``values``). ``from grader.wire import ...`` gives both; the
values (and torch) are imported only when one of their names is first used, so the framing
alone never imports torch."""

from grader.wire.framing import (DEFAULT_MAX_BLOB_BYTES, MAX_DEPTH, MAX_HEADER_BYTES, MAX_ITEMS, MAX_JSON_TOKENS,
                                 ConnectionClosed, DecodeTimeout, Handle, WireError, pack_frame, parse_envelope,
                                 receive_message)

_VALUES = ("DTYPES", "MAX_DICT_KEYS", "MAX_KEY_CHARS", "MAX_OTHER_KEYS", "Decoder", "Encoder", "encode_message",
           "send_message")

__all__ = ["DEFAULT_MAX_BLOB_BYTES", "MAX_DEPTH", "MAX_HEADER_BYTES", "MAX_ITEMS", "MAX_JSON_TOKENS",
           "ConnectionClosed", "DecodeTimeout", "Handle", "WireError", "pack_frame", "parse_envelope",
           "receive_message", *_VALUES]


def __getattr__(name: str):
    if name in _VALUES:
        from grader.wire import values

        value = getattr(values, name)
        globals()[name] = value  # found directly from now on: a call uses several of these names
        return value
    raise AttributeError(f"module 'grader.wire' has no attribute {name!r}")
