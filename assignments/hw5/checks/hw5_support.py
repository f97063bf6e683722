"""hw5 helpers shared by the public and the hidden checks (trusted side only).

Every check judges by effect: it builds a model, a loader, a loss and an optimizer inside
the sandbox, lets the student's `train_epoch` / `evaluate` / `fit` work on them, reads back
the weights or the predictions, and compares them with what the reference solution does
to identical objects.
"""

from __future__ import annotations

import csv
import functools
import gzip
import secrets
from pathlib import Path

import torch

from grader.assertions import describe_value, expect_close, expect_tensor, expect_type, fail, is_remote
from grader.seeding import manual_seed, seed_everything
from grader.i18n import tr
from grader.replay import recorded
from grader.sandbox.inside import factories

TRAIN_SIZE = 1347          # the rest of the 1,797 digits (450) is held out for fit
FIT_EPOCHS = 20
FIT_BAR = 0.90
FIT_FLOOR = 0.70           # fit's held-out accuracy from here to FIT_BAR earns a share of the points


def fit_share(accuracy: float) -> float:
    """The share of fit's points an accuracy earns: none below FIT_FLOOR, all from FIT_BAR, linear between."""
    return round(min(max((accuracy - FIT_FLOOR) / (FIT_BAR - FIT_FLOOR), 0.0), 1.0), 2)
UNTRAINED_BAR = 0.5        # an untrained or a label-blind classifier is near chance (the reference: at most 0.19)
FIT_KEY_FILE = "fit_key.txt"   # in checks/hidden/, which only the grading machine holds
MLP = [["fc1", "linear", 64, 32], ["relu", "relu"], ["fc2", "linear", 32, 10]]
MLP_DROPOUT = [["fc1", "linear", 64, 32], ["relu", "relu"], ["drop", "dropout", 0.5],
               ["fc2", "linear", 32, 10]]

HINT_ZERO_GRAD = "did you call optimizer.zero_grad() each batch?"
HINT_LOOP = ("each batch needs, in this order: optimizer.zero_grad(), outputs = model(inputs), "
             "loss = loss_fn(outputs, targets), loss.backward(), optimizer.step()")
HINT_MEAN = "return the mean of the batch losses as a float: add up loss.item() per batch, divide by the number of batches"
HINT_EVAL = ("call model.eval() in evaluate (dropout must be off), then count correct predictions "
             "over all samples and divide by the number of samples")


def _data_file() -> Path:
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "data" / "digits.csv.gz"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("assignments/hw5/data/digits.csv.gz is missing")


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(_data_file(), "rt", newline="") as handle:
        rows = [[int(float(value)) for value in row] for row in csv.reader(handle) if row]
    table = torch.tensor(rows, dtype=torch.int64)
    return table[:, :64].to(torch.float32), table[:, 64].clone()


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 scikit-learn digits: X float32 (N, 64) with values 0..16, y int64 (N,)."""
    X, y = _digits()
    return X.clone(), y.clone()


def sample(count: int, seed: int, scaled: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` digits drawn without replacement under ``seed`` (inputs scaled to 0..1)."""
    X, y = digits()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:count]
    return (X[order] / 16 if scaled else X[order]), y[order]


def seed_all(seed: int) -> None:
    """What ``student.seeded(seed)`` does in the sandbox, on the trusted side."""
    seed_everything(seed)


def initial_state(layers: list, seed: int) -> dict[str, torch.Tensor]:
    with torch.random.fork_rng(devices=[]):
        manual_seed(seed)
        return {name: value.clone() for name, value in factories.sequential(layers).state_dict().items()}


def trusted_epoch(loop, layers, state, X, y, batch_size, optimizer, options, seed, start_in_eval=False,
                  device=None):
    """Run ``loop`` (the reference's train_epoch or a known mistake) on fresh trusted objects.

    ``device`` (a GPU run): the model and the data live there, as in ``student_epoch``.
    """
    model = factories.sequential(layers, state_dict=state)
    if device is not None and device.type != "cpu":
        model.to(device)
        X, y = X.to(device), y.to(device)
    if start_in_eval:
        model.eval()
    loader = factories.loader(X, y, batch_size)
    loss_fn = factories.loss("cross_entropy")
    opt = factories.optimizer(optimizer, model, **options)
    with torch.random.fork_rng(devices=[]):
        seed_all(seed)
        result = loop(model, loader, loss_fn, opt)
    return {name: value.detach().clone() for name, value in model.state_dict().items()}, result


def weights_after_reference_epoch(reference, *args):
    """The reference loop's weights after one epoch: data in, data out, so a release can record it."""
    return trusted_epoch(reference.train_epoch, *args)[0]


def reference_accuracy(reference, layers, state, X, y, batch_size, seed):
    trusted = factories.sequential(layers, state_dict=state)
    with torch.random.fork_rng(devices=[]):
        seed_all(seed)
        return reference.evaluate(trusted, factories.loader(X, y, batch_size))


def student_epoch(student, layers, state, X, y, batch_size, optimizer, options, seed, start_in_eval=False,
                  device=None):
    """The same objects built in the sandbox; the student's train_epoch runs on them (on ``device``)."""
    model = student.build("sequential", layers, state_dict=state)
    if device is not None and device.type != "cpu":
        model.call("to", str(device))
        X, y = X.to(device), y.to(device)
    if start_in_eval:
        model.call("eval")
    loader = student.build("loader", X, y, batch_size)
    loss_fn = student.build("loss", "cross_entropy")
    opt = student.build("optimizer", optimizer, model, **options)
    result = student.seeded(seed).train_epoch(model, loader, loss_fn, opt)
    return model, result


# Known mistakes, run on the trusted side only to say which one a wrong result looks like.

# The wrong loops a student's weights are compared with: the reference's train_epoch with these
# planted mistakes of assignments/hw5/mistakes.toml; the first match wins.
KNOWN_LOOPS = ("no_zero_grad", "step_before_backward", "zero_grad_after_backward", "no_train_mode")

# What matching each of KNOWN_LOOPS (same order) tells the student. Each message is a template:
# {zero_grad} and {loop} stand for HINT_ZERO_GRAD and HINT_LOOP.
KNOWN_LOOP_MISTAKES = [
    "your weights match a loop that never calls optimizer.zero_grad(), so the gradients of all earlier "
    "batches pile up: {zero_grad}",
    "your weights match a loop that calls optimizer.step() before loss.backward(): {loop}",
    "your weights match a loop that calls optimizer.zero_grad() between loss.backward() and optimizer.step(), "
    "which throws the gradients away: {loop}",
    "your weights match a loop that leaves the model in eval mode: call model.train() at the start of "
    "train_epoch",
]


@functools.lru_cache(maxsize=None)
def _mistaken_loop(reference_file: str, name: str):
    from grader.mutants import MISTAKES_FILE, planted_module, read_catalogue

    catalogue = {mistake.name: mistake
                 for mistake in read_catalogue(Path(__file__).resolve().parents[1] / MISTAKES_FILE)}
    return planted_module(catalogue[name], Path(reference_file)).train_epoch


def weights_after_known_mistakes(reference, *args, **kwargs):
    """The weights each of KNOWN_LOOPS leaves, in that order; recorded at release.

    The loops are the reference's train_epoch with the planted mistakes of mistakes.toml, which
    a released bundle does not carry: each is one line away from the solution.
    """
    return [trusted_epoch(_mistaken_loop(reference.__file__, name), *args, **kwargs)[0]
            for name in KNOWN_LOOPS]


def same_weights(a: dict, b: dict, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return a.keys() == b.keys() and all(
        a[name].shape == b[name].shape and torch.allclose(a[name].detach().cpu().double(),
                                                          b[name].detach().cpu().double(), rtol=rtol, atol=atol)
        for name in a)


def expect_weights(student, model, expected, *, start, mistakes, what: str) -> None:
    """The weights the student's loop left in ``model`` against the reference loop's."""
    got = student.describe(model)["state_dict"]
    if same_weights(got, expected):
        return
    if same_weights(got, start, rtol=0, atol=0):
        fail(tr("{what}: the weights did not change at all", what=what),
             "call optimizer.step() right after loss.backward(), for every batch, with the optimizer you were "
             "given; optimizer.zero_grad() belongs at the start of the batch (zero_grad between backward and "
             "step, or step before backward, leaves step no gradient to use)")
    hint = tr("{loop}; {zero_grad}", loop=tr(HINT_LOOP), zero_grad=tr(HINT_ZERO_GRAD))
    for weights, message in zip(mistakes, KNOWN_LOOP_MISTAKES):
        if same_weights(got, weights):
            hint = tr(message, loop=tr(HINT_LOOP), zero_grad=tr(HINT_ZERO_GRAD))
            break
    for name, want in expected.items():
        if name not in got:
            fail(tr("{what}: the model has no parameter {name} any more", what=what, name=name), hint)
        expect_close(got[name], want, what=f"{what}: {name}", rtol=1e-4, atol=1e-5, hint=hint)
    fail(tr("{what}: the weights are not the ones the training loop should leave", what=what), hint)


def batch_losses(layers, state, X, y, batch_size) -> list[float]:
    """Each batch's loss under fixed weights (what a loop sees when the learning rate is 0)."""
    model = factories.sequential(layers, state_dict=state)
    loss_fn = factories.loss("cross_entropy")
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        return [loss_fn(model(inputs), targets).item() for inputs, targets in factories.loader(X, y, batch_size)]


def expect_mean_loss(got, losses: list[float], *, samples: int, what: str) -> None:
    expect_type(got, float, what=what, hint="return a Python float: use loss.item(), not the loss tensor")
    mean = sum(losses) / len(losses)
    if abs(got - mean) <= 1e-5 + 1e-4 * abs(mean):
        return
    hint = HINT_MEAN
    if abs(got - losses[-1]) <= 1e-5 + 1e-4 * abs(losses[-1]):
        hint = tr("you returned the last batch's loss; {hint}", hint=tr(HINT_MEAN))
    elif abs(got - sum(losses)) <= 1e-5 + 1e-4 * abs(sum(losses)):
        hint = tr("you returned the sum of the batch losses; divide it by the number of batches")
    elif abs(got - sum(losses) / samples) <= 1e-6 + 1e-4 * abs(sum(losses) / samples):
        hint = tr("you divided the sum of the batch losses by the number of samples; each batch's loss is "
                "already a mean over its samples, so divide by the number of batches (len(loader))")
    fail(tr("{what} returned {value:.6g}, which is not the mean of the batch losses", what=what, value=got), hint)


def trained_state(layers, sample_count: int, sample_seed: int, seed: int, steps: int = 150):
    """Weights of a model trained (with dropout on) on the trusted side, so accuracy means something.

    Deterministic, so it is computed once per grading run and reused for every submission.
    """
    key = (tuple(tuple(row) for row in layers), sample_count, sample_seed, seed, steps)
    return {name: value.clone() for name, value in _trained_state(key).items()}


@functools.lru_cache(maxsize=8)
def _trained_state(key) -> dict[str, torch.Tensor]:
    layers, sample_count, sample_seed, seed, steps = key
    X, y = sample(sample_count, sample_seed)
    with torch.random.fork_rng(devices=[]):
        manual_seed(seed)
        model = factories.sequential([list(row) for row in layers])
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        model.train()
        for _ in range(steps):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def clear_margin(layers, state, X, y, count: int, margin: float = 1e-3):
    """The first ``count`` samples whose top two eval-mode outputs are clearly apart, so the
    argmax cannot flip between machines or thread counts."""
    model = factories.sequential(layers, state_dict=state).eval()
    with torch.no_grad():
        top = model(X).topk(2, dim=1).values
    keep = ((top[:, 0] - top[:, 1]) > margin).nonzero().reshape(-1)[:count]
    return X[keep], y[keep]


def expect_accuracy(student, reference, layers, state, X, y, batch_size, seed, *, what: str):
    """The student's evaluate on a model left in train mode (dropout on) against the reference's."""
    model = student.build("sequential", layers, state_dict=state)
    loader = student.build("loader", X, y, batch_size)
    got = student.seeded(seed).evaluate(model, loader)

    expected = recorded(reference, reference_accuracy, layers, state, X, y, batch_size, seed)
    trusted = factories.sequential(layers, state_dict=state)

    expect_type(got, float, what=what, hint="return a Python float: correct / total, not a tensor")
    if not 0.0 <= got <= 1.0:
        fail(tr("{what} returned {value:.6g}, which is not an accuracy in [0, 1]", what=what, value=got),
             "return a fraction (correct / total), not a percentage")
    if abs(got - expected) <= 1e-6:   # accuracies are k / n; float32 division is fine
        return model
    hint = HINT_EVAL
    dropout_on = factories.sequential(layers, state_dict=state).train()
    with torch.random.fork_rng(devices=[]):
        seed_all(seed)   # replay the call with dropout left on, as a loop without model.eval() runs it
        with torch.no_grad():
            in_train_mode = [((dropout_on(inputs).argmax(1) == targets).sum().item(), len(targets))
                             for inputs, targets in factories.loader(X, y, batch_size)]
        with torch.no_grad():
            in_eval_mode = [((trusted(inputs).argmax(1) == targets).sum().item(), len(targets))
                            for inputs, targets in factories.loader(X, y, batch_size)]

    def overall(batches):
        return sum(c for c, _ in batches) / sum(n for _, n in batches)

    def mean_of_batches(batches):
        return sum(c / n for c, n in batches) / len(batches)

    if any(abs(got - value) <= 1e-6 for value in (overall(in_train_mode), mean_of_batches(in_train_mode))):
        hint = tr("your accuracy changes with dropout: call model.eval() in evaluate")
    elif abs(got - mean_of_batches(in_eval_mode)) <= 1e-6:
        hint = tr("you averaged the accuracies of the batches, but the last batch is smaller: count correct "
                "predictions over all samples and divide by the number of samples")
    fail(tr("{what} returned {value:.6g}, which is not the model's accuracy on these digits", what=what, value=got), hint)


@functools.lru_cache(maxsize=1)
def _fit_key_base() -> int:
    """The secret behind the disguised digits: checks/hidden/fit_key.txt on the grading machine.

    Without the hidden checks (a student's `grader check`) every run draws a fresh one, so no key
    is ever known in advance; a correct fit does as well under any key.
    """
    path = Path(__file__).resolve().parent / "hidden" / FIT_KEY_FILE
    try:
        return int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        return secrets.randbits(62)


def fit_key(purpose: int) -> int:
    return (_fit_key_base() * 1_000_003 + purpose) % (1 << 62)


def disguise(X: torch.Tensor, key: int) -> torch.Tensor:
    """The digits under a secret fixed transformation: the 64 pixels shuffled, about half of them
    inverted (v -> 16 - v). Values stay integers in 0..16; an MLP learns them as well as the plain
    digits, but they are not the public images, so a fit that looks images up fails."""
    generator = torch.Generator().manual_seed(key)
    order = torch.randperm(64, generator=generator)
    inverted = torch.rand(64, generator=generator) < 0.5
    shuffled = X[:, order]
    return torch.where(inverted, 16 - shuffled, shuffled)


def disguised_split(split_seed: int, key: int):
    X, y = digits()
    X = disguise(X, key)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
    train, test = order[:TRAIN_SIZE], order[TRAIN_SIZE:]
    return X[train], y[train], X[test], y[test]


def _fitted(student, device, X_train, y_train, epochs: int, seed: int, *, what: str):
    """The student's fit, run in the sandbox; the module it returned and the description of its state."""
    if device.type == "cpu":
        model = student.fit(X_train, y_train, epochs, seed)
    else:
        model = student.fit(X_train, y_train, epochs, seed, device=str(device))
    if not is_remote(model):
        fail(tr("{what} should return the trained nn.Module, but returned {value}", what=what, value=describe_value(model)),
             "end fit with `return model`")
    description = student.describe(model)
    if description.get("kind") != "module":
        fail(tr("{what} should return the trained nn.Module, but returned a {type}", what=what,
                type=description.get("class")),
             "end fit with `return model`")
    return model, description


def _accuracy(model, description, X_test, y_test, *, what: str) -> float:
    """Predictions on held-out digits whose labels stay here."""
    devices = [value.device for value in description.get("state_dict", {}).values()
               if isinstance(value, torch.Tensor)]
    model_device = devices[0] if devices else torch.device("cpu")
    model.call("eval")
    outputs = model(X_test.to(model_device))
    outputs = expect_tensor(outputs, what=tr("the model from {what}, called on (450, 64) raw images,", what=what),
                            shape=(len(y_test), 10),
                            hint="the model must take the raw (N, 64) images, values 0..16, and give (N, 10) scores")
    predictions = outputs.detach().to("cpu").argmax(dim=1)
    return (predictions == y_test).double().mean().item()


def fit_accuracy(student, device, split_seed: int, fit_seed: int, *, what: str, key_purpose: int = 0):
    """Train the student's fit on one part of the disguised digits, predict the held-out part.

    Only the training images and labels go to the sandbox; the held-out images go in for
    prediction, their labels stay here. Returns the accuracy and what the grader needs to judge
    the training itself (``expect_trained_by_gradient``).
    """
    X_train, y_train, X_test, y_test = disguised_split(split_seed, fit_key(key_purpose))
    model, description = _fitted(student, device, X_train, y_train, FIT_EPOCHS, fit_seed, what=what)
    accuracy = _accuracy(model, description, X_test, y_test, what=what)
    return accuracy, (X_train, y_train, X_test, y_test, description)


def _parameters(description) -> dict:
    trainable = {name for name, _, requires_grad in description.get("parameters", []) if requires_grad}
    return {name: value for name, value in description.get("state_dict", {}).items()
            if name in trainable and isinstance(value, torch.Tensor)}


def expect_trained_by_gradient(student, device, fitted, fit_seed: int, *, what: str) -> None:
    """Judge the training by its effect: ``fit(..., epochs=0)`` (the same seed) returns the untrained
    model, which must be near chance, and training must have changed its trainable weights. A
    classifier that does not learn by gradient steps (a lookup, a nearest neighbour) is as good
    untrained as trained."""
    X_train, y_train, X_test, y_test, trained = fitted
    untrained_what = what.replace(f", {FIT_EPOCHS},", ", 0,")
    model, untrained = _fitted(student, device, X_train, y_train, 0, fit_seed, what=untrained_what)
    accuracy = _accuracy(model, untrained, X_test, y_test, what=untrained_what)
    if accuracy >= UNTRAINED_BAR:
        fail(tr("the model returned by {what} (no training at all) already classifies {accuracy:.1%} of the "
                "held-out digits: fit must build a network and train it for `epochs` epochs by gradient steps, "
                "not memorise or look up the training images", what=untrained_what, accuracy=accuracy),
             "build an nn.Module with parameters (nn.Linear layers), and train it with an optimizer for exactly "
             "`epochs` epochs; with epochs=0 it is untrained")
    before, after = _parameters(untrained), _parameters(trained)
    common = [name for name in after if name in before and before[name].shape == after[name].shape
              and before[name].dtype == after[name].dtype]
    if not after or all(torch.equal(before[name], after[name]) for name in common):
        fail(tr("training did not change the trainable weights of the model from {what}", what=what),
             "train the model's own parameters: optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)")


def expect_learns_from_labels(student, device, fitted, fit_seed: int, *, what: str) -> None:
    """Trained on labels shuffled across the training images, a model cannot know the true ones."""
    X_train, y_train, X_test, y_test, _ = fitted
    shuffled = y_train[torch.randperm(len(y_train), generator=torch.Generator().manual_seed(fit_seed + 1))]
    model, description = _fitted(student, device, X_train, shuffled, FIT_EPOCHS, fit_seed, what=what)
    accuracy = _accuracy(model, description, X_test, y_test, what=what)
    if accuracy >= UNTRAINED_BAR:
        fail(tr("the model returned by {what}, trained on shuffled labels, still classifies {accuracy:.1%} of "
                "the held-out digits correctly: fit must learn from the labels it is given", what=what,
                accuracy=accuracy),
             "train on (X_train, y_train) as given; do not bring labels or images of your own")
