"""Describing sandbox objects as data, for objects that cannot cross the boundary.

A module is described by its class, its children (name, class, the sizes of linear
and convolution layers), its train/eval mode, its parameters and its ``state_dict``;
the trusted side rebuilds what it needs from that and compares.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

_LAYER_ATTRIBUTES = ("in_features", "out_features", "in_channels", "out_channels", "kernel_size",
                     "p", "dim", "negative_slope", "num_features")


def describe_object(value: Any) -> dict:
    if isinstance(value, nn.Module):
        return describe_module(value)
    if isinstance(value, torch.optim.Optimizer):
        return {
            "kind": "optimizer",
            "class": type(value).__name__,
            "param_groups": [{k: v for k, v in group.items() if k != "params" and _is_plain(v)}
                             for group in value.param_groups],
        }
    return {"kind": "object", "class": type(value).__name__}


def describe_module(module: nn.Module) -> dict:
    children = []
    for name, child in module.named_children():
        attributes = {}
        for attribute in _LAYER_ATTRIBUTES:
            if hasattr(child, attribute):
                attribute_value = getattr(child, attribute)
                if _is_plain(attribute_value):
                    attributes[attribute] = attribute_value
        children.append({"name": name, "class": type(child).__name__, "attributes": attributes})
    return {
        "kind": "module",
        "class": type(module).__name__,
        "training": bool(module.training),
        "children": children,
        "modules": [[name, type(sub).__name__] for name, sub in module.named_modules()],
        "parameters": [[name, list(param.shape), bool(param.requires_grad)]
                       for name, param in module.named_parameters()],
        "state_dict": {name: tensor.detach() for name, tensor in module.state_dict().items()},
    }


def _is_plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return True
    if isinstance(value, (tuple, list)):
        return all(_is_plain(item) for item in value)
    return False
