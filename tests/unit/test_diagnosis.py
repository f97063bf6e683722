"""Each rule of grader.judge.diagnosis on torch's real message, produced by running the student's buggy code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from grader.i18n import load_catalog, set_language
from grader.judge import diagnosis as diagnosis_module
from grader.judge.diagnosis import ArgumentFacts, diagnose

REPO = Path(__file__).resolve().parents[2]


def diagnosed(buggy, *args):
    """Run ``buggy(*args)`` as a student's function; the diagnosis of what it raised."""
    with pytest.raises(Exception) as raised:
        buggy(*args)
    return diagnose(type(raised.value).__name__, str(raised.value), ArgumentFacts.of((list(args), {})))


def test_view_with_a_fixed_batch_is_a_hardcoded_batch():
    found = diagnosed(lambda images: images.view(64, 784), torch.rand(4, 1, 28, 28))
    assert found.family == "hardcoded_batch"
    assert found.cause == "your code assumed a batch of 64; this check sent a batch of 4"
    assert "x.shape[0]" in found.fix and "-1" in found.fix


def test_sum_viewed_as_a_fixed_column_is_a_hardcoded_batch():
    def softmax(x):
        exps = torch.exp(x)
        return exps / exps.sum(dim=1).view(64, 1)

    found = diagnosed(softmax, torch.randn(4, 10))
    assert found.family == "hardcoded_batch" and "a batch of 64" in found.cause and "a batch of 4" in found.cause


def test_randn_of_a_fixed_batch_in_the_function_is_a_hardcoded_batch():
    def forward(images, W1):
        noise = torch.randn(64, 256)
        return images.reshape(images.shape[0], -1) @ W1 + noise

    found = diagnosed(forward, torch.rand(4, 1, 28, 28), torch.randn(784, 256))
    assert found.family == "hardcoded_batch"
    assert found.cause == "your code assumed a batch of 64; this check sent a batch of 4"


def test_loss_against_fixed_size_targets_is_a_hardcoded_batch():
    def loss(logits):
        return torch.nn.functional.cross_entropy(logits, torch.zeros(64, dtype=torch.long))

    found = diagnosed(loss, torch.randn(4, 10))
    assert found.family == "hardcoded_batch" and "a batch of 4" in found.cause


def test_softmax_without_keepdim_is_a_missing_keepdim():
    found = diagnosed(lambda x: torch.exp(x) / torch.exp(x).sum(dim=1), torch.randn(4, 10))
    assert found.family == "missing_keepdim"
    assert "keepdim=True" in found.fix and ".view(-1, 1)" in found.fix
    assert "(4, 10)" in found.cause


def test_unrelated_broadcast_error_is_described_with_its_sizes():
    found = diagnosed(lambda x: x + torch.ones(3), torch.randn(4, 10))
    assert found.family == "broadcast" and "sizes 10 and 3" in found.cause
    assert "10" not in found.safe_cause


def test_float64_batch_into_float32_weights_is_a_dtype_mismatch():
    def forward(images):
        return images.reshape(images.shape[0], -1) @ torch.randn(784, 10)

    found = diagnosed(forward, torch.rand(4, 1, 28, 28, dtype=torch.float64))
    assert found.family == "dtype" and "float64" in found.cause
    assert "dtype=x.dtype" in found.fix


def test_float64_batch_into_a_linear_layer_is_a_dtype_mismatch():
    layer = torch.nn.Linear(784, 10)
    found = diagnosed(lambda x: layer(x), torch.rand(4, 784, dtype=torch.float64))
    assert found.family == "dtype" and "float64" in found.cause


@pytest.mark.parametrize("message", ["expected scalar type Float but found Double",  # torch before 2.1
                                     "Found dtype Double but expected Float"])  # mse_loss's backward
def test_older_dtype_messages_are_a_dtype_mismatch(message):
    found = diagnose("RuntimeError", message, ArgumentFacts.of(([torch.rand(4, 784, dtype=torch.float64)], {})))
    assert found.family == "dtype" and "float64" in found.cause


def test_float_class_labels_are_a_target_dtype_error():
    found = diagnosed(lambda logits, y: torch.nn.functional.nll_loss(logits.log_softmax(dim=1), y.float()),
                      torch.randn(4, 10), torch.randint(0, 10, (4,)))
    assert found.family == "target_dtype" and "y.long()" in found.fix


def test_tensors_on_two_devices_are_a_device_mismatch():
    # The meta device stands in for a GPU on a machine without one: torch raises the same family of error.
    layer = torch.nn.Linear(784, 10).to("meta")
    found = diagnosed(lambda x: layer(x), torch.rand(4, 784))
    assert found.family == "device" and "sent its inputs on cpu" in found.cause
    assert "device=x.device" in found.fix


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cpu_weights_with_a_cuda_batch_are_a_device_mismatch():
    found = diagnosed(lambda x: x @ torch.randn(784, 10), torch.rand(4, 784, device="cuda"))
    assert found.family == "device" and "cuda:0" in found.cause


def test_backward_on_a_vector_is_a_non_scalar_backward():
    def grad(x):
        x = x.clone().requires_grad_(True)
        (x ** 2 + 5 * x).backward()
        return x.grad

    found = diagnosed(grad, torch.randn(5))
    assert found.family == "backward_non_scalar" and ".sum()" in found.fix


def test_backward_without_requires_grad_is_nothing_to_differentiate():
    def grad(x):
        (x ** 2 + 5 * x).sum().backward()
        return x.grad

    found = diagnosed(grad, torch.randn(5))
    assert found.family == "backward_no_grad" and "requires_grad_(True)" in found.fix


def test_second_backward_is_backward_twice():
    def grad(x):
        x = x.clone().requires_grad_(True)
        loss = (x * x).sum()
        loss.backward()
        loss.backward()

    assert diagnosed(grad, torch.randn(5)).family == "backward_twice"


def test_in_place_update_of_a_leaf_is_inplace_leaf():
    def step(w):
        w = w.clone().requires_grad_(True)
        w -= 0.1

    assert diagnosed(step, torch.randn(5)).family == "inplace_leaf"


def test_unflattened_images_into_a_matmul():
    found = diagnosed(lambda images, W1: images @ W1, torch.rand(4, 1, 28, 28), torch.randn(784, 256))
    assert found.family == "unflattened_input" and "(4, 1, 28, 28)" in found.cause
    assert "reshape(x.shape[0], -1)" in found.fix


def test_transposed_weight_in_a_matmul():
    found = diagnosed(lambda x, W1: x @ W1.T, torch.rand(4, 784), torch.randn(784, 256))
    assert found.family == "transposed_matmul" and "(4x784) @ (256x784)" in found.cause
    assert "784" not in found.safe_cause


def test_a_message_no_rule_knows_has_no_diagnosis():
    assert diagnose("ValueError", "my own words", ArgumentFacts()) is None
    assert diagnose("RuntimeError", "", ArgumentFacts()) is None


def test_a_view_that_would_not_fit_any_batch_is_not_called_a_hardcoded_batch():
    with pytest.raises(RuntimeError) as raised:
        torch.randn(4, 10).view(4, 784)
    assert diagnose("RuntimeError", str(raised.value), ArgumentFacts.of(([torch.randn(4, 10)], {}))) is None


def test_safe_cause_of_a_hardcoded_batch_holds_no_number_from_the_message():
    """A hidden check may show the safe cause: the 64 came from the student's message, the 4 from the check."""
    found = diagnosed(lambda images: images.view(64, 784), torch.rand(4, 1, 28, 28))
    assert "64" not in found.safe_cause and "batch of 4" in found.safe_cause


def test_diagnosis_in_russian():
    try:
        set_language("ru")
        found = diagnosed(lambda images: images.view(64, 784), torch.rand(4, 1, 28, 28))
    finally:
        set_language("en")
    assert found.cause == "ваш код рассчитан на батч из 64; эта проверка передала батч из 4"
    assert "x.shape[0]" in found.fix


def test_every_diagnosis_text_has_a_russian_entry():
    catalog = load_catalog(REPO / "grader" / "locale" / "ru.toml")
    tree = ast.parse(Path(diagnosis_module.__file__).read_text())
    texts = [node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "tr"
             and node.args and isinstance(node.args[0], ast.Constant)]
    assert len(texts) > 20
    assert [text for text in texts if not catalog.get(text)] == []
