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
        kind = description.get("class")
        del description  # a failure's traceback keeps this frame alive: let the student's data go first
        fail(tr("{what} should return an nn.Module, but returned a {type}", what=what, type=kind), hint)
    return description


def short_description(value):
    if is_remote(value):
        return tr("a {type}", type=value.type_name.rsplit(".", 1)[-1])
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}"


def plain_state(description, expected=None, what="the model"):
    """The described state_dict as float32 CPU tensors.

    ``expected`` (name -> shape): the shapes the check knows the model has; they are compared
    with the description first, so nothing the student's process described is converted (or
    allocated for) before it is known to fit.
    """
    state = description["state_dict"]
    if expected is not None:
        described = {name: tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else None
                     for name, tensor in state.items()}
        if described != expected:
            changed = sorted(name for name in described.keys() | expected.keys()
                             if described.get(name) != expected.get(name))
            del state, description  # a failure's traceback keeps this frame: let the student's tensors go first
            fail(tr("{what}: its parameters changed names or shapes ({names})", what=what,
                    names=", ".join(changed[:6])), "only fill the existing weight and bias; do not replace the layers")
    return {name: tensor.detach().to("cpu", torch.float32) for name, tensor in state.items()}


def state_shapes(rows):
    """The state_dict shapes of a model built from ``rows`` by the ``sequential`` factory."""
    shapes = {}
    for row in rows:
        if row[1] == "linear":
            name, _, fan_in, fan_out, *bias = row
            shapes[f"{name}.weight"] = (fan_out, fan_in)
            if not bias or bias[0]:
                shapes[f"{name}.bias"] = (fan_out,)
    return shapes


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
    missing = _first_not_loaded(student.describe(model).get("state_dict", {}), state)
    if missing is not None:  # the description is gone by now: a failure's traceback cannot keep it
        fail(tr("{what}.load_state_dict(weights) did not load the weights the check chose into {name}",
                what=what, name=missing), LOAD_HINT)


def _first_not_loaded(loaded, state):
    """The first of the check's weights that the described state_dict does not hold (shapes compared first)."""
    for name, value in state.items():
        got = loaded.get(name)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(value.shape) \
                or not torch.equal(got.detach().to("cpu", torch.float32), value):
            return name
    return None


def parameter_shapes(student, model, what):
    """The described parameters' shapes, name -> list; only these small facts outlive the description."""
    description = describe_module(student, model, what)
    return {str(name): list(shape) for name, shape, _ in description["parameters"]}
