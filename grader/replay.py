"""Reference answers that can leave the instructor's machine: recorded once, replayed in a student bundle.

Public checks compare a student's result with the reference solution's, computed on the
trusted side. A released bundle must not contain the reference solution, so `grader release`
runs the public checks once against the reference with a :class:`RecordingReference`:
every call into the reference whose arguments and result are plain data (tensors, numbers,
strings, lists, tuples, dicts) is stored under a digest of its name and arguments. In the
bundle, :class:`ReplayReference` answers the same calls from that file. A check whose
reference computation depends on more than data (say, an ``nn.Module`` the check built)
wraps it in :func:`recorded`, keyed by the data it starts from.

The file is JSON; tensors are raw bytes in base64. Nothing is pickled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable

import torch

from grader.errors import GraderError
from grader.i18n import tr

ANSWERS_FILE = "reference_answers.json"
FORMAT = 1


class NotData(Exception):
    """A value that cannot be recorded (a module, an optimizer, a function...)."""


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data, or NotData."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, torch.Tensor):
        if type(value) is not torch.Tensor and not isinstance(value, torch.nn.Parameter):
            raise NotData(type(value).__name__)
        plain = value.detach().to("cpu").contiguous()
        raw = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
        return {"tensor": str(plain.dtype).removeprefix("torch."), "shape": list(plain.shape),
                "bytes": base64.b64encode(raw).decode("ascii")}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, torch.device):
        return {"device": str(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"dict": {key: encode(item) for key, item in value.items()}}
    raise NotData(type(value).__name__)


def decode(data: Any, device: torch.device | None = None) -> Any:
    if isinstance(data, list):
        return [decode(item, device) for item in data]
    if not isinstance(data, dict):
        return data
    if "tensor" in data:
        dtype = getattr(torch, data["tensor"])
        raw = base64.b64decode(data["bytes"])
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        tensor = flat.view(dtype).reshape(data["shape"]).clone()
        return tensor.to(device) if device is not None else tensor
    if "float" in data:
        return float(data["float"])
    if "dtype" in data:
        return getattr(torch, data["dtype"])
    if "device" in data:
        return torch.device(data["device"])
    if "tuple" in data:
        return tuple(decode(item, device) for item in data["tuple"])
    if "dict" in data:
        return {key: decode(item, device) for key, item in data["dict"].items()}
    raise GraderError(f"{ANSWERS_FILE}: unknown entry {sorted(data)}; release the assignment again")


def answer_key(name: str, args: tuple, kwargs: dict) -> str:
    text = json.dumps(encode([name, list(args), kwargs]), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _first_device(args: tuple, kwargs: dict) -> torch.device | None:
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value.device
    return None


class RecordingReference:
    """The reference module, recording the answers of the calls the public checks make."""

    def __init__(self, module: Any):
        self._module = module
        self.answers: dict[str, Any] = {}
        self.unrecordable: dict[str, str] = {}  # check -> what it did
        self.check = ""

    def begin_check(self, name: str) -> None:
        self.check = name

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._module, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            self.remember(name, args, kwargs, result, f"reference.{name}(...)")
            return result

        return call

    def remember(self, name: str, args: tuple, kwargs: dict, result: Any, what: str) -> None:
        try:
            self.answers[answer_key(name, args, kwargs)] = encode(result)
        except NotData as error:
            self.unrecordable.setdefault(self.check, f"{what} takes or returns a {error}, not data")


class ReplayReference:
    """Stands in for the reference solution in a student bundle: answers only the recorded calls."""

    def __init__(self, path: Path):
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}")
            self._answers: dict[str, Any] = data["answers"]
        except (OSError, ValueError, KeyError, AttributeError) as error:
            raise GraderError(f"{path}: unreadable reference answers ({error}); ask for the released "
                              "assignment again") from None

    def begin_check(self, name: str) -> None:
        pass

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.answer(name, args, kwargs, f"reference.{name}(...)")

        return call

    def answer(self, name: str, args: tuple, kwargs: dict, what: str) -> Any:
        try:
            key = answer_key(name, args, kwargs)
        except NotData:
            key = None
        if key not in self._answers:
            from grader.assertions import CheckFailed

            raise CheckFailed(tr("this bundle has no recorded answer for {what} on these inputs; the checks changed "
                                 "since the release: ask for the released assignment again", what=what))
        return decode(self._answers[key], _first_device(args, kwargs))


def recorded(reference: Any, compute: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``compute(reference, *args, **kwargs)``, recorded at release and replayed in a student bundle.

    For a reference computation that needs more than data calls (building a model, a data
    loader) but starts from data the check chose: ``args`` must be data and are the key.
    """
    name = f"recorded:{compute.__qualname__}"  # not the module: check modules are named by where they lie
    what = f"{compute.__name__}(...)"
    if isinstance(reference, ReplayReference):
        return reference.answer(name, args, kwargs, what)
    if isinstance(reference, RecordingReference):
        result = compute(reference._module, *args, **kwargs)
        reference.remember(name, args, kwargs, result, what)
        return result
    return compute(reference, *args, **kwargs)


def write_answers(recording: RecordingReference, path: Path) -> None:
    path.write_text(json.dumps({"format": FORMAT, "answers": recording.answers}) + "\n")  # keeps dict order
