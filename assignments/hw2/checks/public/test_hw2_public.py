"""hw2 public checks: small, ordinary inputs. Run them yourself with `grader check`."""

import pytest
import torch

from grader.assertions import expect_close, expect_rows_sum_to_one, expect_tensor
from grader.seeding import manual_seed


def make_network(device, dtype=torch.float32):
    """Small random weights for a 784 -> 256 -> 10 network, like an untrained MNIST model."""
    W1 = torch.randn(784, 256, dtype=dtype, device=device) * 0.05
    b1 = torch.randn(256, dtype=dtype, device=device) * 0.1
    W2 = torch.randn(256, 10, dtype=dtype, device=device) * 0.3
    b2 = torch.randn(10, dtype=dtype, device=device) * 0.5
    return W1, b1, W2, b2


@pytest.mark.points(1.5)
def test_sigmoid_values(student, reference, device):
    """sigmoid on a (5, 6) tensor of moderate values"""
    manual_seed(0)
    x = torch.randn(5, 6, device=device) * 3
    got = student.sigmoid(x)
    expect_close(got, reference.sigmoid(x), what="sigmoid(x)", show_expected=True,
                 hint="sigmoid is 1 / (1 + torch.exp(-x)), element by element; the result has x's shape.")


@pytest.mark.points(0.5)
def test_softmax_rows_sum_to_one(student, device):
    """softmax: each row of a (4, 10) batch of logits sums to 1"""
    manual_seed(1)
    logits = torch.randn(4, 10, device=device)
    got = student.softmax(logits)
    expect_tensor(got, what="softmax(logits)", shape=(4, 10), hint="softmax keeps the shape of its input.")
    expect_rows_sum_to_one(got, what="softmax(logits)",
                           hint="divide each row's exponentials by that row's sum: sum(dim=1, keepdim=True).")


@pytest.mark.points(1)
def test_softmax_values(student, reference, device):
    """softmax of a (4, 10) batch of logits matches the row-wise softmax"""
    manual_seed(1)
    logits = torch.randn(4, 10, device=device) * 2
    got = student.softmax(logits)
    expect_close(got, reference.softmax(logits), what="softmax(logits)", show_expected=True,
                 hint="each entry is exp(logit) divided by the sum of exp over its own row: normalise each row (dim=1), "
                      "not each column and not the whole batch.")


@pytest.mark.points(0.5)
def test_forward_by_hand_shape(student, device):
    """forward_by_hand: a (4, 1, 28, 28) batch gives (4, 10) logits"""
    manual_seed(2)
    images = torch.rand(4, 1, 28, 28, device=device)
    W1, b1, W2, b2 = make_network(device)
    got = student.forward_by_hand(images, W1, b1, W2, b2)
    expect_tensor(got, what="forward_by_hand(images, W1, b1, W2, b2)", shape=(4, 10), dtype=torch.float32,
                  device=device,
                  hint="flatten the images to (B, 784) with images.reshape(images.shape[0], -1), then "
                       "(B, 784) @ (784, 256) -> (B, 256) and (B, 256) @ (256, 10) -> (B, 10).")


@pytest.mark.points(1.5)
def test_forward_by_hand_values(student, reference, device):
    """forward_by_hand on a (4, 1, 28, 28) batch: the logits of the two-layer network"""
    manual_seed(3)
    images = torch.rand(4, 1, 28, 28, device=device)
    W1, b1, W2, b2 = make_network(device)
    got = student.forward_by_hand(images, W1, b1, W2, b2)
    expect_close(got, reference.forward_by_hand(images, W1, b1, W2, b2),
                 what="forward_by_hand(images, W1, b1, W2, b2)", rtol=1e-4, atol=1e-4, show_expected=True,
                 hint="h = sigmoid(x @ W1 + b1), then return h @ W2 + b2: include both biases, use sigmoid "
                      "(not ReLU) in the hidden layer, and no activation on the output.")


@pytest.mark.points(1)
def test_predict_proba(student, reference, device):
    """predict_proba on a (4, 1, 28, 28) batch: rows of class probabilities"""
    manual_seed(4)
    images = torch.rand(4, 1, 28, 28, device=device)
    W1, b1, W2, b2 = make_network(device)
    got = student.predict_proba(images, W1, b1, W2, b2)
    expect_tensor(got, what="predict_proba(images, W1, b1, W2, b2)", shape=(4, 10),
                  hint="predict_proba returns one row of 10 probabilities per image.")
    expect_rows_sum_to_one(got, what="predict_proba(images, W1, b1, W2, b2)",
                           hint="apply your softmax (over each row) to the logits from forward_by_hand; "
                                "sigmoid does not make rows sum to 1.")
    expect_close(got, reference.predict_proba(images, W1, b1, W2, b2),
                 what="predict_proba(images, W1, b1, W2, b2)", rtol=1e-4, atol=1e-5, show_expected=True,
                 hint="predict_proba(...) is softmax(forward_by_hand(...)).")
