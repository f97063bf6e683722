"""hw4 helpers shared by the public and the hidden checks (trusted side only)."""

import math

import torch

from grader.assertions import fail, is_remote
from grader.i18n import tr

SIZES_HINT = "layer sizes are 784→128→64→10: fc1 = nn.Linear(784, 128), fc2 = nn.Linear(128, 64), fc3 = nn.Linear(64, 10)"
FORWARD_HINT = ("forward should flatten x to (B, 784), then fc1 → ReLU → fc2 → ReLU → fc3 → "
                "softmax over dim 1")
FLATTEN_HINT = "flatten the images first: x = x.view(x.shape[0], -1) turns (B, 1, 28, 28) into (B, 784)"
STD_HINT = "std is 0.01, i.e. normal_(0, 0.01): nn.init.normal_(layer.weight, mean=0.0, std=0.01)"


def describe_module(student, value, what, hint=None):
    if not is_remote(value):
        fail(tr("{what} should return an nn.Module, but returned {value}", what=what, value=short_description(value)),
             hint)
    description = student.describe(value)
    if description.get("kind") != "module":
        fail(tr("{what} should return an nn.Module, but returned a {type}", what=what, type=description.get("class")),
             hint)
    return description


def short_description(value):
    if is_remote(value):
        return tr("a {type}", type=value.type_name.rsplit(".", 1)[-1])
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"


def plain_state(description):
    return {name: tensor.detach().to("cpu", torch.float32) for name, tensor in description["state_dict"].items()}


NETWORK_LINEARS = (("fc1", 784, 128), ("fc2", 128, 64), ("fc3", 64, 10))
LOAD_HINT = ("keep the layers as nn.Linear attributes fc1, fc2, fc3 (or the Sequential's fc1, fc2, output) and "
             "compute forward from their weights; do not override load_state_dict or state_dict")


def check_weights(seed, linears=NETWORK_LINEARS):
    """Weights the check draws itself (never the student's), so forward is judged on weights nobody chose to fit.

    Drawn uniformly in ±2/sqrt(fan_in), twice PyTorch's default range, so the softmax outputs are
    far from uniform: a constant 0.1 can never match them.
    """
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, fan_in, fan_out in linears:
        bound = 2 / math.sqrt(fan_in)
        state[f"{name}.weight"] = (torch.rand(fan_out, fan_in, generator=generator) * 2 - 1) * bound
        state[f"{name}.bias"] = (torch.rand(fan_out, generator=generator) * 2 - 1) * bound
    return state


def load_check_weights(student, model, state, what):
    """Load the check's weights into the student's model inside the sandbox, then make sure they are there.

    The student's forward then runs on weights the check chose; the reference, loaded with the same
    weights on this side, says what it must return.
    """
    model.call("load_state_dict", state, strict=False)
    loaded = student.describe(model).get("state_dict", {})
    for name, value in state.items():
        got = loaded.get(name)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape) \
                or not torch.equal(got.detach().to("cpu", torch.float32), value):
            fail(tr("{what}.load_state_dict(weights) did not load the weights the check chose into {name}",
                    what=what, name=name), LOAD_HINT)
