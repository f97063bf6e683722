# mutant: init_weights initialises and returns a deep copy, leaving the model it was given unchanged
"""Reference solution for hw4 — a multilayer perceptron with nn.Module."""

from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F


class Network(nn.Module):
    """784 → 128 → 64 → 10 with ReLU after the hidden layers and softmax over dim 1."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)  # (B, 1, 28, 28) or (B, 784) → (B, 784)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.softmax(self.fc3(x), dim=1)


def build_sequential():
    """The same network as an nn.Sequential, with named layers."""
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(784, 128)),
        ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(128, 64)),
        ("relu2", nn.ReLU()),
        ("output", nn.Linear(64, 10)),
        ("softmax", nn.Softmax(dim=1)),
    ]))


def init_weights(model):
    """In place: every nn.Linear gets bias 0 and weights drawn from N(0, 0.01²)."""
    import copy
    model = copy.deepcopy(model)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(mean=0.0, std=0.01)
                if module.bias is not None:
                    module.bias.fill_(0)
    return model


def count_parameters(model):
    """The number of trainable scalars (parameters with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
