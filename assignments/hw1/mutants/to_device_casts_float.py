# mutant: to_device converts to float32 while moving (dtype not preserved)
"""Reference solution for hw1 — Tensors."""

import torch


def arange_matrix(rows: int, cols: int) -> torch.Tensor:
    """An int64 (rows, cols) tensor holding 0 ... rows*cols - 1 in row-major order."""
    return torch.arange(rows * cols, dtype=torch.int64).reshape(rows, cols)


def first_column_last_row(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first column and the last row of a 2-D tensor."""
    return a[:, 0], a[-1, :]


def flatten_batch(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C*H*W), same dtype and device."""
    return images.reshape(images.shape[0], -1)


def standardize_columns(x: torch.Tensor) -> torch.Tensor:
    """Subtract each column's mean and divide by its (unbiased) standard deviation."""
    return (x - x.mean(dim=0, keepdim=True)) / x.std(dim=0, keepdim=True)


def stack_channels(r: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Three (H, W) tensors -> one (3, H, W) tensor."""
    return torch.stack([r, g, b], dim=0)


def count_greater(t: torch.Tensor, value: float) -> int:
    """How many elements of t are strictly greater than value, as a Python int."""
    return int((t > value).sum().item())


def to_device(x: torch.Tensor, device: str) -> torch.Tensor:
    """x on device, same dtype and values."""
    return x.to(device).float()
