# mutant: sigmoid_mse_grads forgets the sigmoid: the prediction is x * w1 + w0
"""hw3 — Autograd: the instructor's solution."""

import torch
import torch.nn.functional as F


def quadratic_grad(x: torch.Tensor) -> torch.Tensor:
    """The gradient of sum(x**2 + 5x) with respect to x, by autograd; x itself is left alone."""
    x = x.detach().clone().requires_grad_(True)
    y = (x ** 2 + 5 * x).sum()
    y.backward()
    return x.grad


def quadratic_grad_by_hand(x: torch.Tensor) -> torch.Tensor:
    """The same gradient written out: d/dx (x**2 + 5x) = 2x + 5, with no graph behind it."""
    return 2 * x.detach() + 5


def sigmoid_mse_grads(x, target, w1, w0):
    """loss = mse(sigmoid(x * w1 + w0), target), mean reduction: (loss.item(), dloss/dw1, dloss/dw0)."""
    w1 = w1.detach().clone().requires_grad_(True)
    w0 = w0.detach().clone().requires_grad_(True)
    prediction = x * w1 + w0
    loss = F.mse_loss(prediction, target)
    loss.backward()
    return loss.item(), w1.grad, w0.grad


def graph_grads(a, w1, w2, w3, w4):
    """L = sum(10 - (w3 * (w1 * a) + w4 * (w2 * a))): the gradient of L for every input."""
    inputs = {name: t.detach().clone().requires_grad_(True)
              for name, t in (("a", a), ("w1", w1), ("w2", w2), ("w3", w3), ("w4", w4))}
    a, w1, w2, w3, w4 = (inputs[name] for name in ("a", "w1", "w2", "w3", "w4"))
    y1 = w1 * a
    y2 = w2 * a
    y3 = w3 * y1
    y4 = w4 * y2
    L = (10 - (y3 + y4)).sum()
    L.backward()
    return {name: t.grad for name, t in inputs.items()}


def predict_no_grad(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """x @ w without building a graph, although w requires grad."""
    with torch.no_grad():
        return x @ w
