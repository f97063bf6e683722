"""hw4 public checks: Network, build_sequential, init_weights, count_parameters.

Students see these and run them with `grader check hw4`. Every model is built in the
sandbox; only its description (layers, sizes, state_dict) and its outputs on inputs
chosen here come back, and the reference model is rebuilt on this side from them.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.sandbox.inside import factories
from grader.assertions import (expect_close, expect_equal, expect_rows_sum_to_one, expect_tensor, expect_type, fail,
                               is_remote)
from grader.i18n import tr
from hw4_support import (FLATTEN_HINT, FORWARD_HINT, NETWORK_LINEARS, SIZES_HINT, STD_HINT, check_weights,
                         describe_module, load_check_weights, parameter_shapes, plain_state, short_description,
                         state_shapes)

# The architecture the README asks for, built on this side to hold the student's weights (no reference code).
NETWORK_LAYERS = [["flatten", "flatten"], ["fc1", "linear", 784, 128], ["relu1", "relu"], ["fc2", "linear", 128, 64],
                  ["relu2", "relu"], ["fc3", "linear", 64, 10], ["softmax", "softmax", 1]]
SEQUENTIAL_NAMES = ["fc1", "relu1", "fc2", "relu2", "output", "softmax"]
SEQUENTIAL_CLASSES = ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Softmax"]
SEQUENTIAL_SIZES = {"fc1": (784, 128), "fc2": (128, 64), "output": (64, 10)}
SEQUENTIAL_SIZES_HINT = ("layer sizes are 784→128→64→10: fc1 = nn.Linear(784, 128), fc2 = nn.Linear(128, 64), "
                         "output = nn.Linear(64, 10)")


# helpers ------------------------------------------------------------------------------

def _expect_linear(children, name, sizes, what, hint):
    child = children.get(name)
    if child is None:  # a naming mistake, not a sizes one: the hint says which layer to rename
        fail(tr("{what} has no layer named {name} (its layers: {layers})",
                what=what, name=repr(name), layers=", ".join(children) or tr("none")),
             _rename_hint(children, name, sizes))
    if child["class"] != "Linear":
        fail(tr("{what}.{name} is a {type}, expected an nn.Linear", what=what, name=name, type=child["class"]), hint)
    got = (child["attributes"].get("in_features"), child["attributes"].get("out_features"))
    if got != tuple(sizes):
        fail(tr("{what}.{name} is Linear({got_in}, {got_out}), expected Linear({want_in}, {want_out})",
                what=what, name=name, got_in=got[0], got_out=got[1], want_in=sizes[0], want_out=sizes[1]), hint)


def _rename_hint(children, name, sizes):
    """Which layer to rename: the one of the required sizes that is not under a required name, if any."""
    for other, child in children.items():
        attributes = child.get("attributes", {})
        if child.get("class") == "Linear" and (attributes.get("in_features"), attributes.get("out_features")) == \
                tuple(sizes) and other not in ("fc1", "fc2", "fc3", "output"):
            return tr("your layer {other} has the right sizes, Linear({fan_in}, {fan_out}): rename it to {name}; the "
                      "checks find layers by name", other=repr(other), fan_in=sizes[0], fan_out=sizes[1], name=name)
    return tr("name the layer {name}: the checks find layers by name", name=name)


def _reference_network(student, net, seed):
    """The reference architecture holding weights the check drew, loaded into the student's Network too."""
    described = parameter_shapes(student, net, "Network()")
    expected = {f"{name}.{kind}": ([fan_out, fan_in] if kind == "weight" else [fan_out])
                for name, fan_in, fan_out in NETWORK_LINEARS for kind in ("weight", "bias")}
    if any(described.get(name) != shape for name, shape in expected.items()):
        shapes = ", ".join(f"{name} {tuple(shape)}" for name, shape in described.items())
        same_sizes = sorted(map(tuple, described.values())) == sorted(map(tuple, expected.values()))
        fail(tr("your Network's parameters do not fit the required layers fc1, fc2, fc3 (yours: {shapes})",
                shapes=shapes or tr("none")),
             tr("the sizes are right but the names are not: call the layers fc1, fc2, fc3; the checks find "
                "weights by name") if same_sizes else SIZES_HINT)
    state = check_weights(seed)
    load_check_weights(student, net, state, "Network()")
    model = factories.sequential(NETWORK_LAYERS)
    model.load_state_dict(state)
    return model.eval()


def _mistakes(model, x):
    """Outputs of common mistakes, computed with the student's own weights."""
    flat = x.reshape(x.shape[0], -1)
    l1, l2, l3 = model.fc1, model.fc2, model.fc3
    identity = lambda t: t  # noqa: E731
    with torch.no_grad():
        def run(act1=F.relu, act2=F.relu, out=lambda t: F.softmax(t, dim=1)):
            return out(l3(act2(l2(act1(l1(flat))))))
        return [
            (run(out=identity), tr("forgot softmax at the end? forward must return F.softmax(x, dim=1)")),
            (run(out=lambda t: F.softmax(t, dim=0)), tr("softmax over dim 0? Each row (one image) must sum to 1: "
                                                        "use dim=1")),
            (run(out=lambda t: F.log_softmax(t, dim=1)), tr("that is log_softmax; the output must be softmax "
                                                            "probabilities")),
            (run(out=lambda t: F.softmax(F.relu(t), dim=1)), tr("no ReLU after fc3: softmax comes straight after "
                                                                "the output layer")),
            (run(act1=identity), tr("missing ReLU after fc1?")),
            (run(act2=identity), tr("missing ReLU after fc2?")),
            (run(act1=identity, act2=identity), tr("missing ReLU? Apply ReLU after fc1 and after fc2")),
            (run(act1=torch.sigmoid, act2=torch.sigmoid), tr("the hidden activations are ReLU, not sigmoid")),
        ]


def _diagnose(got, model, x):
    if isinstance(got, torch.Tensor) and tuple(got.shape) == (x.shape[0], 10):
        got_cpu = got.detach().to("cpu", torch.float32)
        for output, hint in _mistakes(model, x):
            if torch.allclose(got_cpu, output, rtol=1e-4, atol=1e-5):
                return hint
    return FORWARD_HINT


def _check_network_output(got, model, x, what):
    expect_tensor(got, what=what, shape=(x.shape[0], 10),
                  hint=tr("Network must return a (B, 10) tensor; {hint}", hint=tr(FLATTEN_HINT)))
    hint = _diagnose(got, model, x)
    expect_rows_sum_to_one(got, what=what, hint=hint)
    with torch.no_grad():
        want = model(x)
    expect_close(got, want, what=what, rtol=1e-4, atol=1e-5, check_dtype=True, check_device=False, hint=hint)


def _images(seed, batch):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 28, 28, generator=generator) * 2 - 0.5


# Network -----------------------------------------------------------------------------

@pytest.mark.points(1)
def test_network_layers(student):
    """Network: layers fc1, fc2, fc3 of sizes 784→128→64→10"""
    net = student.seeded(0).Network()
    description = describe_module(student, net, "Network()")
    children = {child["name"]: child for child in description["children"]}
    _expect_linear(children, "fc1", (784, 128), "Network", SIZES_HINT)
    _expect_linear(children, "fc2", (128, 64), "Network", SIZES_HINT)
    _expect_linear(children, "fc3", (64, 10), "Network", SIZES_HINT)
    extra = [name for name, shape, _ in description["parameters"]
             if name.split(".")[0] not in ("fc1", "fc2", "fc3")]
    if extra:
        fail(tr("Network has parameters outside fc1, fc2, fc3: {names}", names=", ".join(extra)), SIZES_HINT)


@pytest.mark.points(1)
def test_network_forward_flat(student, reference):
    """Network: forward on a (4, 784) batch gives softmax probabilities (4, 10)"""
    net = student.seeded(0).Network()
    model = _reference_network(student, net, seed=1001)
    x = _images(1, 4).reshape(4, 784)
    got = net(x)
    _check_network_output(got, model, x, tr("Network()(x) for x of shape {shape}", shape="(4, 784)"))


@pytest.mark.points(1)
def test_network_forward_images(student, reference):
    """Network: forward on a (4, 1, 28, 28) batch of images gives (4, 10), rows summing to 1"""
    net = student.seeded(1).Network()
    model = _reference_network(student, net, seed=1002)
    x = _images(2, 4)
    try:
        got = net(x)
    except AssertionError as error:
        # A diagnosed error carries the hint for what went wrong; the flatten hint is for the rest.
        fail(tr("Network()(x) for x of shape {shape}: {error}", shape="(4, 1, 28, 28)", error=error),
             None if getattr(error, "diagnosis", None) else FLATTEN_HINT)
    _check_network_output(got, model, x, tr("Network()(x) for x of shape {shape}", shape="(4, 1, 28, 28)"))


# build_sequential --------------------------------------------------------------------

@pytest.mark.points(1)
def test_sequential_structure(student):
    """build_sequential: an nn.Sequential named fc1, relu1, fc2, relu2, output, softmax"""
    hint = tr("build it from an OrderedDict: nn.Sequential(OrderedDict([('fc1', nn.Linear(784, 128)), "
            "('relu1', nn.ReLU()), ('fc2', ...), ('relu2', ...), ('output', ...), ('softmax', nn.Softmax(dim=1))]))")
    model = student.seeded(0).build_sequential()
    description = describe_module(student, model, "build_sequential()", hint)
    if description["class"] != "Sequential":
        fail(tr("build_sequential() returned a {type}, expected an nn.Sequential", type=description["class"]), hint)
    names = [child["name"] for child in description["children"]]
    if names != SEQUENTIAL_NAMES:
        fail(tr("the layers of build_sequential() are named {names}, expected {expected}",
                names=names, expected=SEQUENTIAL_NAMES), hint)
    classes = [child["class"] for child in description["children"]]
    if classes != SEQUENTIAL_CLASSES:
        fail(tr("the layers of build_sequential() are {classes}, expected {expected}",
                classes=classes, expected=SEQUENTIAL_CLASSES), hint)
    children = {child["name"]: child for child in description["children"]}
    for name, sizes in SEQUENTIAL_SIZES.items():
        _expect_linear(children, name, sizes, "build_sequential()", SEQUENTIAL_SIZES_HINT)
    dim = children["softmax"]["attributes"].get("dim")
    if dim not in (1, -1, None):
        fail(tr("build_sequential().softmax is nn.Softmax(dim={dim})", dim=dim),
             "softmax over dim 0? Each row (one image) must sum to 1: nn.Softmax(dim=1)")


# init_weights ------------------------------------------------------------------------

def _check_init(student, rows, seed, label):
    """Build a model from ``rows`` in the sandbox, init it, and judge the effect."""
    model = student.build("sequential", rows)
    shapes = state_shapes(rows)
    before = plain_state(student.describe(model), shapes, what=f"init_weights({label})")
    returned = student.seeded(seed).init_weights(model)
    after_description = student.describe(model)
    after = plain_state(after_description, shapes, what=f"init_weights({label})")
    linears = [row[0] for row in rows if row[1] == "linear"]
    what = f"init_weights({label})"

    if all(torch.equal(before[name], after[name]) for name in before):
        if is_remote(returned):
            fail(tr("{what} did not change the model it was given; it must change it in place "
                    "(and return that same model)", what=what),
                 "work on the model's own layers: for m in model.modules(): if isinstance(m, nn.Linear): ...")
        fail(tr("{what} did not change the model it was given (it returned {value})",
                what=what, value=short_description(returned)),
             "change the model's own layers in place, e.g. nn.init.normal_(m.weight, 0, 0.01)")

    all_weights = []
    for name in linears:
        weight, bias = after[f"{name}.weight"], after[f"{name}.bias"]
        if weight.shape != before[f"{name}.weight"].shape or bias.shape != before[f"{name}.bias"].shape:
            fail(tr("{what}: the shape of layer {name} changed to {shape}",
                    what=what, name=repr(name), shape=tuple(weight.shape)),
                 "only fill the existing weight and bias; do not replace the layers")
        if bool((bias != 0).any()):
            fail(tr("{what}: the bias of layer {name} is not all zero ({count} of {total} values are not 0, "
                    "e.g. {example:.4g})", what=what, name=repr(name), count=int((bias != 0).sum()),
                    total=bias.numel(), example=float(bias[bias != 0][0])),
                 "bias not zeroed? fill every bias with 0: layer.bias.data.fill_(0) or nn.init.zeros_(layer.bias)")
        n = weight.numel()
        std = float(weight.std())
        mean = float(weight.mean())
        if std == 0:
            fail(tr("{what}: every weight of layer {name} is {value:.4g}",
                    what=what, name=repr(name), value=float(weight.reshape(-1)[0])),
                 tr("the weights must be random: {hint}", hint=tr(STD_HINT)))
        if not 0.008 <= std <= 0.012:
            fail(tr("{what}: the weights of layer {name} have standard deviation {std:.4g}",
                    what=what, name=repr(name), std=std), STD_HINT)
        if abs(mean) > max(0.002, 5 * 0.01 / math.sqrt(n)):
            fail(tr("{what}: the weights of layer {name} have mean {mean:.4g}", what=what, name=repr(name), mean=mean),
                 tr("the mean is 0: {hint}", hint=tr(STD_HINT)))
        all_weights.append(weight.reshape(-1).to(torch.float64))
    weights = torch.cat(all_weights)
    if weights.numel() >= 20000:
        centred = weights - weights.mean()
        kurtosis = float((centred ** 4).mean() / (centred ** 2).mean() ** 2)
        if not 2.5 <= kurtosis <= 3.5:
            fail(tr("{what}: the weights do not look normally distributed (kurtosis {kurtosis:.3g}, a normal "
                    "distribution has 3)", what=what, kurtosis=kurtosis),
                 tr("draw from a normal distribution, not a uniform one: {hint}", hint=tr(STD_HINT)))

    if returned is None:
        fail(tr("{what} returned None", what=what), "init_weights must return the model: did you forget `return model`?")
    if not is_remote(returned) or model.call("__eq__", returned) is not True:
        fail(tr("{what} returned {value}, not the model it was given", what=what, value=short_description(returned)),
             "init_weights changes the model in place and returns that same model: `return model`")


@pytest.mark.points(1)
def test_init_weights(student):
    """init_weights: biases 0, weights ~ N(0, 0.01²), in place, returns the model"""
    rows = [["fc1", "linear", 784, 128], ["relu", "relu"], ["fc2", "linear", 128, 10]]
    _check_init(student, rows, 0, tr("a 784→128→10 nn.Sequential"))


# count_parameters --------------------------------------------------------------------

@pytest.mark.points(1)
def test_count_parameters(student):
    """count_parameters: 109386 for the 784→128→64→10 network; frozen parameters do not count"""
    rows = [["fc1", "linear", 784, 128], ["relu1", "relu"], ["fc2", "linear", 128, 64], ["relu2", "relu"],
            ["output", "linear", 64, 10], ["softmax", "softmax", 1]]
    model = student.build("sequential", rows)
    count = student.count_parameters(model)
    hint = tr("count scalars, not tensors: sum(p.numel() for p in model.parameters() if p.requires_grad), "
            "as a Python int")
    expect_type(count, int, what="count_parameters(model)", hint=hint)
    expect_equal(count, 109386, what=tr("count_parameters(784→128→64→10 model)"), show_expected=True, hint=hint)

    model.get("fc1").call("requires_grad_", False)
    count = student.count_parameters(model)
    expect_type(count, int, what="count_parameters(model)", hint=hint)
    expect_equal(count, 64 * 128 + 64 + 10 * 64 + 10, what=tr("count_parameters(same model with fc1 frozen)"),
                 show_expected=True,
                 hint="only trainable parameters count: skip those whose requires_grad is False")
