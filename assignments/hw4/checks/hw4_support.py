"""hw4 helpers shared by the public and the hidden checks (trusted side only)."""

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
