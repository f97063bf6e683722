"""hw4 hidden checks: other batch sizes, the device, build_sequential's outputs, other models.

Messages never show expected values: the helpers print only the student's values.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.assertions import (expect_close, expect_equal, expect_on_device, expect_rows_sum_to_one, expect_tensor,
                               expect_type, fail, is_remote)
from grader.i18n import tr
from hw4_support import (FLATTEN_HINT, FORWARD_HINT, NETWORK_LINEARS, SIZES_HINT, STD_HINT, check_weights,
                         describe_module, load_check_weights, parameter_shapes, plain_state, short_description,
                         state_shapes)


# helpers ------------------------------------------------------------------------------

def _linear_sizes(description):
    """The student's Linear layers in order, as (name, (in, out) or None), read from shapes only."""
    state = description["state_dict"]

    def size(name):
        weight, bias = state.get(f"{name}.weight"), state.get(f"{name}.bias")
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or not isinstance(bias, torch.Tensor):
            return None
        return (weight.shape[1], weight.shape[0]) if tuple(bias.shape) == (weight.shape[0],) else None

    return [(child["name"], size(child["name"])) for child in description["children"] if child["class"] == "Linear"]


def _layers_in_order(student, model, what):
    """The names of the student's Linear layers, in order, once their described shapes are 784→128→64→10.

    Only shapes are read, and the description is gone before a failure (whose traceback would keep it):
    nothing the student's process described is converted or kept before it fits.
    """
    layers = _linear_sizes(describe_module(student, model, what))
    if [size for _, size in layers] != [(784, 128), (128, 64), (64, 10)]:
        shown = ", ".join(f"{name} {size}" for name, size in layers)
        fail(f"{what} should have three Linear layers 784→128→64→10 with biases (yours: {shown or 'none'})",
             SIZES_HINT)
    return [name for name, _ in layers]


def _mistakes(linears, x):
    """Outputs of common mistakes, computed with the student's own weights."""
    flat = x.reshape(x.shape[0], -1)
    l1, l2, l3 = linears
    identity = lambda t: t  # noqa: E731
    with torch.no_grad():
        def run(act1=F.relu, act2=F.relu, out=lambda t: F.softmax(t, dim=1)):
            return out(l3(act2(l2(act1(l1(flat))))))
        return [
            (run(out=identity), "forgot softmax at the end?"),
            (run(out=lambda t: F.softmax(t, dim=0)), "softmax over dim 0? Each row (one image) must sum to 1: "
                                                     "use dim=1"),
            (run(out=lambda t: F.log_softmax(t, dim=1)), "that is log_softmax; the output must be softmax "
                                                         "probabilities"),
            (run(out=lambda t: F.softmax(F.relu(t), dim=1)), "no ReLU after the output layer: softmax comes "
                                                             "straight after it"),
            (run(act1=identity), "missing ReLU after the first layer?"),
            (run(act2=identity), "missing ReLU after the second layer?"),
            (run(act1=identity, act2=identity), "missing ReLU? Apply ReLU after both hidden layers"),
            (run(act1=torch.sigmoid, act2=torch.sigmoid), "the hidden activations are ReLU, not sigmoid"),
        ]


def _check_output(got, model, linears, x, what, device):
    expect_tensor(got, what=what, shape=(x.shape[0], 10), hint="the output must be (B, 10); " + FLATTEN_HINT)
    hint = FORWARD_HINT
    got_cpu = got.detach().to("cpu", torch.float32)
    for output, mistake in _mistakes(linears, x):
        if torch.allclose(got_cpu, output, rtol=1e-4, atol=1e-5):
            hint = mistake
            break
    expect_rows_sum_to_one(got, what=what, hint=hint)
    with torch.no_grad():
        want = model(x)
    expect_close(got, want, what=what, rtol=1e-4, atol=1e-5, check_device=False, hint=hint)


def _inputs(seed, batch, images):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 1, 28, 28, generator=generator) * 1.5 + 0.3
    return x if images else x.reshape(batch, 784)


# Network -----------------------------------------------------------------------------

@pytest.mark.points(1)
def test_network_other_batches(student, reference, device):
    """Network: batches of 1 and 7, flat and as images, on the grading device"""
    net = student.seeded(5).Network()
    described = parameter_shapes(student, net, "Network()")
    if any(described.get(f"{name}.weight") != [fan_out, fan_in] or described.get(f"{name}.bias") != [fan_out]
           for name, fan_in, fan_out in NETWORK_LINEARS):
        fail("your Network's parameters do not fit the required layers fc1, fc2, fc3", SIZES_HINT)
    state = check_weights(2005)
    load_check_weights(student, net, state, "Network()")
    model = reference.Network()
    model.load_state_dict(state)
    model.eval()
    linears = (model.fc1, model.fc2, model.fc3)
    if device.type != "cpu":
        net.call("to", str(device))
    for seed, batch, images in [(11, 1, False), (12, 7, False), (13, 1, True), (14, 7, True)]:
        x = _inputs(seed, batch, images)
        what = f"Network()(x) for x of shape {tuple(x.shape)}"
        try:
            got = net(x.to(device))
        except AssertionError as error:
            # A diagnosed error: its safe explanation (the error's family, the shapes sent) and its own hint.
            explanation = getattr(error, "safe_explanation", None)
            fail(f"{what}: {error}", None if explanation else FLATTEN_HINT if images else FORWARD_HINT,
                 tr("{what}: {cause}", what=what, cause=explanation) if explanation else None)
        expect_on_device(got, device, what=what,
                         hint="forward must keep its output on the input's device: no .cpu() inside forward, "
                              "and no tensors made without device=x.device")
        _check_output(got, model, linears, x, what, device)


# build_sequential --------------------------------------------------------------------

@pytest.mark.points(1)
def test_sequential_forward(student, reference):
    """build_sequential: the outputs match the network 784→128→64→10 with ReLU and softmax(dim=1)"""
    sequential = student.seeded(7).build_sequential()
    layers = _layers_in_order(student, sequential, "build_sequential()")
    sizes = [(784, 128), (128, 64), (64, 10)]
    state = check_weights(2007, [(name, *size) for name, size in zip(layers, sizes)])
    load_check_weights(student, sequential, state, "build_sequential()")
    model = reference.build_sequential()
    with torch.no_grad():
        for target, name in zip([model.fc1, model.fc2, model.output], layers):
            target.weight.copy_(state[f"{name}.weight"])
            target.bias.copy_(state[f"{name}.bias"])
    model.eval()
    linears = (model.fc1, model.fc2, model.output)
    for seed, batch in [(21, 5), (22, 1)]:
        x = _inputs(seed, batch, images=False)
        what = f"build_sequential()(x) for x of shape {tuple(x.shape)}"
        got = sequential(x)
        _check_output(got, model, linears, x, what, torch.device("cpu"))


# init_weights ------------------------------------------------------------------------

def _check_init(student, rows, seed, label):
    model = student.build("sequential", rows)
    shapes = state_shapes(rows)
    before = plain_state(student.describe(model), shapes, what=f"init_weights({label})")
    returned = student.seeded(seed).init_weights(model)
    after = plain_state(student.describe(model), shapes, what=f"init_weights({label})")
    linears = [row[0] for row in rows if row[1] == "linear"]
    what = f"init_weights({label})"

    if all(torch.equal(before[name], after[name]) for name in before):
        fail(f"{what} did not change the model it was given; it must change it in place",
             "work on the model's own layers: for m in model.modules(): if isinstance(m, nn.Linear): ...")
    all_weights = []
    for name in linears:
        weight, bias = after[f"{name}.weight"], after[f"{name}.bias"]
        if weight.shape != before[f"{name}.weight"].shape or bias.shape != before[f"{name}.bias"].shape:
            fail(f"{what}: the shape of a layer changed", "only fill the existing weight and bias")
        if bool((bias != 0).any()):
            fail(f"{what}: a bias is not all zero ({int((bias != 0).sum())} of {bias.numel()} values are not 0)",
                 "bias not zeroed? every nn.Linear's bias must be filled with 0")
        std, mean, n = float(weight.std()), float(weight.mean()), weight.numel()
        if std == 0:
            fail(f"{what}: all the weights of a layer are equal", "the weights must be random: " + STD_HINT)
        if not 0.008 <= std <= 0.012:
            fail(f"{what}: the weights of a layer have standard deviation {std:.4g}", STD_HINT)
        if abs(mean) > max(0.002, 5 * 0.01 / math.sqrt(n)):
            fail(f"{what}: the weights of a layer have mean {mean:.4g}", "the mean is 0: " + STD_HINT)
        all_weights.append(weight.reshape(-1).to(torch.float64))
    weights = torch.cat(all_weights)
    if weights.numel() >= 20000:
        centred = weights - weights.mean()
        kurtosis = float((centred ** 4).mean() / (centred ** 2).mean() ** 2)
        if not 2.5 <= kurtosis <= 3.5:
            fail(f"{what}: the weights do not look normally distributed (kurtosis {kurtosis:.3g})",
                 "draw from a normal distribution, not a uniform one: " + STD_HINT)
    if returned is None:
        fail(f"{what} returned None", "init_weights must return the model: did you forget `return model`?")
    if not is_remote(returned) or model.call("__eq__", returned) is not True:
        fail(f"{what} returned {short_description(returned)}, not the model it was given", "`return model`")


@pytest.mark.points(1)
def test_init_weights_other_models(student):
    """init_weights: every Linear of deeper models with other layers in between, other seeds"""
    deep = [["a", "linear", 300, 200], ["act1", "sigmoid"], ["b", "linear", 200, 100], ["drop", "dropout", 0.2],
            ["act2", "relu"], ["c", "linear", 100, 50], ["act3", "relu"], ["d", "linear", 50, 10],
            ["out", "log_softmax", 1]]
    _check_init(student, deep, 3, "a deeper nn.Sequential")
    wide = [["flat", "flatten"], ["hidden", "linear", 784, 256], ["act", "relu"], ["logits", "linear", 256, 10]]
    _check_init(student, wide, 4, "a 784→256→10 nn.Sequential")


# count_parameters --------------------------------------------------------------------

@pytest.mark.points(1)
def test_count_parameters_other_models(student):
    """count_parameters: other sizes, layers without bias, frozen layers"""
    hint_scalars = "count scalars (p.numel()), only for parameters with requires_grad, as a Python int"
    rows = [["l1", "linear", 20, 30], ["r", "relu"], ["l2", "linear", 30, 7, False], ["s", "sigmoid"],
            ["l3", "linear", 7, 3]]
    model = student.build("sequential", rows)
    count = student.count_parameters(model)
    expect_type(count, int, what="count_parameters(model)", hint=hint_scalars)
    expect_equal(count, 20 * 30 + 30 + 30 * 7 + 7 * 3 + 3, what="count_parameters(model)", hint=hint_scalars)

    model.get("l1").call("requires_grad_", False)
    count = student.count_parameters(model)
    expect_type(count, int, what="count_parameters(model)", hint=hint_scalars)
    expect_equal(count, 30 * 7 + 7 * 3 + 3, what="count_parameters(model with a frozen layer)",
                 hint="only trainable parameters count: skip those whose requires_grad is False")

    model.call("requires_grad_", False)
    count = student.count_parameters(model)
    expect_equal(count, 0, what="count_parameters(model with every layer frozen)",
                 hint="only trainable parameters count; with none it is 0 (an int)")
