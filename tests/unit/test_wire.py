import math
import socket
import threading
import time

import pytest

from conftest import peak_rss_growth as measure_peak_rss_growth
import torch

from grader import wire


def roundtrip(value, to_handle=None, from_handle=None):
    left, right = socket.socketpair()
    with left, right:
        wire.send_message(left, {"op": "x"}, value, to_handle=to_handle)
        header, blobs = wire.receive_message(right)
    assert header["op"] == "x"
    return wire.Decoder(blobs, from_handle=from_handle).decode(header["payload"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                   torch.int8, torch.uint8, torch.bool, torch.complex64])
def test_tensors_cross_with_dtype_shape_and_values(dtype):
    tensor = (torch.arange(12) % 3).to(dtype).reshape(3, 4)
    back = roundtrip(tensor)
    assert type(back) is torch.Tensor and back.dtype == dtype and back.shape == (3, 4)
    assert torch.equal(back, tensor)


def test_non_contiguous_empty_and_scalar_tensors():
    matrix = torch.arange(6.0).reshape(2, 3).t()
    assert torch.equal(roundtrip(matrix), matrix)
    assert roundtrip(torch.empty(0, 5)).shape == (0, 5)
    assert roundtrip(torch.tensor(3.5)).item() == 3.5


def test_grad_metadata_travels():
    leaf = torch.ones(3, requires_grad=True)
    (leaf * 2).sum().backward()
    back = roundtrip(leaf)
    assert back.requires_grad and torch.equal(back.grad, torch.full((3,), 2.0))
    assert roundtrip(leaf.detach()).requires_grad is False


def test_containers_and_special_floats():
    value = {"a": [1, 2.5, None, True], 3: (float("inf"), float("nan"), "s"), (1, 2): {"k": -0.0}}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, None, True]
    assert back[3][0] == math.inf and math.isnan(back[3][1]) and back[3][2] == "s"
    assert back[(1, 2)] == {"k": -0.0}


def test_tensor_subclass_arrives_as_a_plain_tensor():
    class Liar(torch.Tensor):
        def __eq__(self, other):
            return True

    liar = torch.arange(3.0).as_subclass(Liar)
    back = roundtrip(liar)
    assert type(back) is torch.Tensor
    assert not torch.equal(back, torch.zeros(3))


def test_a_tensor_larger_than_the_socket_buffer_crosses_whole():
    tensor = torch.randn(784, 1024, dtype=torch.float64)  # 6.4 MB, many socket buffers
    left, right = socket.socketpair()
    with left, right:
        sender = threading.Thread(target=wire.send_message, args=(left, {"op": "x"}, [tensor, tensor[:3]]))
        sender.start()
        header, blobs = wire.receive_message(right)
        sender.join()
    back = wire.Decoder(blobs).decode(header["payload"])
    assert torch.equal(back[0], tensor) and torch.equal(back[1], tensor[:3])


def test_a_blob_named_twice_gives_two_tensors_that_share_no_memory():
    left, right = socket.socketpair()
    with left, right:
        wire.send_message(left, {"op": "x"}, torch.zeros(4))
        header, blobs = wire.receive_message(right)
    payload = header["payload"]
    first, second = wire.Decoder(blobs).decode([payload, payload])
    first += 1
    assert torch.equal(second, torch.zeros(4)) and torch.equal(first, torch.ones(4))


def test_objects_that_are_not_data_become_handles_or_errors():
    class Opaque:
        pass

    handles = []

    def to_handle(value):
        handles.append(value)
        return wire.Handle(len(handles), type(value).__name__)

    back = roundtrip([Opaque()], to_handle=to_handle)
    assert back == [wire.Handle(1, "Opaque")]
    with pytest.raises(wire.WireError, match="cannot send"):
        wire.encode_message({}, Opaque())


def test_malformed_and_oversized_frames_are_refused():
    with pytest.raises(wire.WireError):
        wire.Decoder([b"\x00" * 3]).decode({"$tensor": 0, "dtype": "float32", "shape": [2], "device": "cpu"})
    with pytest.raises(wire.WireError):
        wire.Decoder([]).decode({"$pickle": "..."})
    with pytest.raises(wire.WireError):
        wire.Decoder([]).decode({"$float": "1e999999"})
    left, right = socket.socketpair()
    with left, right:
        wire.send_message(left, {}, torch.zeros(1000))
        with pytest.raises(wire.WireError, match="more than 100 bytes"):
            wire.receive_message(right, max_blob_bytes=100)


# Hostile replies, forged at the wire level (raw frames, as a student's process can write them to
# its socket): the trusted side's cost stays linear in what was sent, its memory a small multiple.

import json as _json
import struct as _struct
import subprocess as _subprocess
import sys as _sys
import time as _time

COLLIDING = (1 << 61) - 1  # every multiple of it hashes to 0


def forged_frame(body: dict | bytes, blobs=()) -> bytes:
    raw = body if isinstance(body, bytes) else _json.dumps(body).encode()
    return (_struct.pack("!II", len(raw), len(blobs)) + b"".join(_struct.pack("!Q", len(b)) for b in blobs)
            + raw + b"".join(blobs))


def receive_forged(frame: bytes, deadline=None):
    """Write ``frame`` from one end of a socket pair, then read and decode it as the judge does."""
    left, right = socket.socketpair()
    with left, right:
        sender = threading.Thread(target=left.sendall, args=(frame,))
        sender.start()
        try:
            header, blobs = wire.receive_message(right)
            return wire.Decoder(blobs, deadline=deadline).decode(header.get("payload"))
        finally:
            sender.join()


def peak_rss_growth(action) -> int:
    """Bytes the process's peak RSS rose while ``action`` ran (a refused reply is the expected end)."""
    def run() -> None:
        try:
            action()
        except wire.WireError:
            pass

    return measure_peak_rss_growth(run)[1]


def test_a_dict_of_90000_colliding_integer_keys_is_refused_at_once():
    frame = forged_frame({"ok": True, "payload": {"$dict": [[k * COLLIDING, 0] for k in range(90_000)]}})
    started = _time.process_time()
    with pytest.raises(wire.WireError, match="more than 20000 keys"):
        receive_forged(frame)
    assert _time.process_time() - started < 2  # the old decoder: 216 s on the machine


def test_colliding_integer_keys_under_the_key_cap_are_refused_at_once():
    frame = forged_frame({"ok": True, "payload": {"$dict": [[k * COLLIDING, 0] for k in range(15_000)]}})
    started = _time.process_time()
    with pytest.raises(wire.WireError, match="too large an integer"):
        receive_forged(frame)
    assert _time.process_time() - started < 0.5  # the old decoder: about 1 s here, quadratic in the keys


def test_integer_keys_below_the_hash_modulus_decode():
    assert roundtrip({COLLIDING - 2: 1, -(COLLIDING - 2): 2, 5: 3}) == {COLLIDING - 2: 1, -(COLLIDING - 2): 2, 5: 3}


def test_more_than_a_few_tuple_or_float_keys_are_refused():
    pairs = [[{"$tuple": [k, COLLIDING - 2 - k]}, 0] for k in range(wire.MAX_OTHER_KEYS + 1)]
    with pytest.raises(wire.WireError, match="not strings or integers"):
        receive_forged(forged_frame({"payload": {"$dict": pairs}}))
    floats = [[float(k) + 0.5, 0] for k in range(wire.MAX_OTHER_KEYS + 1)]
    with pytest.raises(wire.WireError, match="not strings or integers"):
        receive_forged(forged_frame({"payload": {"$dict": floats}}))


def test_a_dict_with_too_many_keys_or_too_long_a_key_is_refused():
    with pytest.raises(wire.WireError, match="more than 20000 keys"):
        receive_forged(forged_frame({"payload": {"$dict": [[str(k), 0] for k in range(wire.MAX_DICT_KEYS + 1)]}}))
    with pytest.raises(wire.WireError, match="longer than 1000 characters"):
        receive_forged(forged_frame({"payload": {"$dict": [["k" * 1001, 0]]}}))


def test_a_header_of_millions_of_empty_lists_is_refused_before_parsing():
    raw = b'{"ok": true, "payload": [' + b"[]," * 5_000_000 + b"[]]}"   # 15 MB: ~300 MB once parsed
    frame = forged_frame(raw)
    growth = peak_rss_growth(lambda: receive_forged(frame))
    with pytest.raises(wire.WireError, match="JSON values"):
        receive_forged(frame)
    assert growth < 3 * len(frame) + (16 << 20), growth >> 20


def test_a_tensor_whose_shape_promises_more_than_its_bytes_is_refused_before_allocating():
    header = {"payload": {"$tensor": 0, "dtype": "bool", "shape": [1 << 20, 1 << 20], "device": "cpu"}}
    frame = forged_frame(header, [b"\x01" * 16])
    growth = peak_rss_growth(lambda: receive_forged(frame))
    with pytest.raises(wire.WireError, match="does not match its shape"):
        receive_forged(frame)
    assert growth < 16 << 20, growth >> 20


def test_one_blob_named_a_thousand_times_is_refused_before_the_copies_outgrow_the_frame():
    blob = b"\x00" * (1 << 20)
    tensor = {"$tensor": 0, "dtype": "uint8", "shape": [1 << 20], "device": "cpu"}
    frame = forged_frame({"payload": [tensor] * 1000}, [blob])  # the old decoder: 1 GB of copies
    growth = peak_rss_growth(lambda: receive_forged(frame))
    with pytest.raises(wire.WireError, match="named too many times"):
        receive_forged(frame)
    assert growth < 3 * len(frame) + (16 << 20), growth >> 20


def test_decoding_past_the_calls_deadline_stops():
    frame = forged_frame({"payload": [[0] * 100 for _ in range(1000)]})
    with pytest.raises(wire.DecodeTimeout):
        receive_forged(frame, deadline=_time.monotonic() - 1)
    assert len(receive_forged(frame, deadline=_time.monotonic() + 60)) == 1000


def test_the_framing_imports_no_torch():
    code = ("import sys, grader.wire.framing as f; from grader.wire import receive_message, WireError; "
            "assert 'torch' not in sys.modules, 'torch imported'; print(f.MAX_ITEMS)")
    result = _subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == str(wire.MAX_ITEMS), result.stderr


def test_many_parts_sent_in_batches_arrive_whole_and_in_order_to_a_slow_reader():
    # More buffers than one sendmsg takes, some larger than the socket's buffer, read a little at a time.
    parts = [bytes([index % 251]) * (300_000 if index % 500 == 0 else 7) for index in range(2_100)]
    left, right = socket.socketpair()
    received = bytearray()

    def read_slowly():
        while chunk := right.recv(4096):
            received.extend(chunk)

    reader = threading.Thread(target=read_slowly)
    reader.start()
    with left:
        wire.framing.send_parts(left, parts)
    reader.join()
    right.close()
    assert bytes(received) == b"".join(parts)


def test_a_send_to_a_reader_that_stops_times_out_within_the_sockets_timeout():
    left, right = socket.socketpair()
    with left, right:
        left.settimeout(0.3)
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            wire.framing.send_parts(left, [b"x" * 4_000_000, b"y" * 4_000_000])
        assert time.monotonic() - started < 2
        assert left.gettimeout() == 0.3
