"""Objects a check asks the sandbox to build for the student's code to use.

Checks cannot send a model, a data loader, a loss or an optimizer as data, so they
send a recipe by name; these builders run inside the sandbox. They are harness code,
not secrets: the expected results stay on the trusted side.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

_LAYERS: dict[str, Callable[..., nn.Module]] = {
    "linear": nn.Linear,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "dropout": nn.Dropout,
    "flatten": nn.Flatten,
    "softmax": nn.Softmax,
    "log_softmax": nn.LogSoftmax,
}

_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "nll": nn.NLLLoss,
    "mse": nn.MSELoss,
}

_OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
}


def sequential(layers: list, state_dict: dict | None = None) -> nn.Sequential:
    """``layers``: [name, kind, *args] rows, e.g. ["fc1", "linear", 784, 128]."""
    modules = OrderedDict()
    for row in layers:
        name, kind, *args = row
        modules[str(name)] = _LAYERS[kind](*args)
    model = nn.Sequential(modules)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return model


def loader(inputs: torch.Tensor, targets: torch.Tensor, batch_size: int) -> DataLoader:
    """Batches in a fixed order (no shuffling), so a check knows what the loop saw."""
    return DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=False)


def tensor_dataset(*tensors: torch.Tensor) -> TensorDataset:
    """A dataset of the given tensors' rows, so a check can try the student's loader code on data it chose."""
    return TensorDataset(*tensors)


def loss(name: str, **kwargs: Any) -> nn.Module:
    return _LOSSES[name](**kwargs)


def optimizer(name: str, model: nn.Module, **kwargs: Any) -> torch.optim.Optimizer:
    return _OPTIMIZERS[name](model.parameters(), **kwargs)


def _torch_class(module: Any, base: type, class_name: str, kind: str) -> type:
    """The class ``module.<class_name>`` when it is a ``base``; the name comes from a check, never run as code."""
    made = getattr(module, class_name, None) if class_name.isidentifier() else None
    if not (isinstance(made, type) and issubclass(made, base)):
        raise ValueError(f"{module.__name__} has no {kind} {class_name!r}")
    return made


def optimizer_over(class_name: str, params: Any, *args: Any, **kwargs: Any) -> torch.optim.Optimizer:
    """``torch.optim.<class_name>(params, ...)`` made here, over parameters of the student's objects: what a
    converted nbgrader or otter test builds with ``torch.optim.SGD(model.parameters(), lr=...)``."""
    return _torch_class(torch.optim, torch.optim.Optimizer, class_name, "optimizer")(params, *args, **kwargs)


def module_of(class_name: str, *args: Any, **kwargs: Any) -> nn.Module:
    """``torch.nn.<class_name>(...)`` made here: a layer or loss a converted nbgrader or otter test builds and
    hands to the student's code (``step(nn.Linear(3, 1), ...)``), so the student's code can update it."""
    return _torch_class(nn, nn.Module, class_name, "module")(*args, **kwargs)


FACTORIES: dict[str, Callable[..., Any]] = {
    "sequential": sequential,
    "loader": loader,
    "tensor_dataset": tensor_dataset,
    "loss": loss,
    "optimizer": optimizer,
    "optimizer_over": optimizer_over,
    "module_of": module_of,
}


def build(factory: str, *args: Any, **kwargs: Any) -> Any:
    if factory not in FACTORIES:
        raise ValueError(f"unknown factory {factory!r}")
    return FACTORIES[factory](*args, **kwargs)
