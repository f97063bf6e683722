import math
import socket
import threading

import pytest
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
