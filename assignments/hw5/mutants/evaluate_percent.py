# mutant: evaluate returns a percentage (0..100) instead of a fraction in [0, 1]
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def train_epoch(model, loader, loss_fn, optimizer):
    """One pass over ``loader`` in train mode; returns the mean of the batch losses."""
    model.train()
    total = 0.0
    batches = 0
    for inputs, targets in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
    return total / batches


def evaluate(model, loader):
    """Accuracy in [0, 1] over every sample of ``loader``, in eval mode, without a graph."""
    model.eval()
    correct = 0
    seen = 0
    with torch.no_grad():
        for inputs, targets in loader:
            predictions = model(inputs).argmax(dim=1)
            correct += (predictions == targets).sum().item()
            seen += targets.shape[0]
    return 100 * correct / seen


class Scale(nn.Module):
    """Divides the raw pixel values (0..16) by 16, so the model takes raw images."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def fit(X_train, y_train, epochs, seed, device="cpu"):
    """A small MLP on the 8×8 digits, trained with Adam on shuffled mini-batches."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        Scale(1 / 16),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    ).to(device)
    X = X_train.to(device=device, dtype=torch.float32)
    y = y_train.to(device=device, dtype=torch.long)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, generator=generator)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        train_epoch(model, loader, loss_fn, optimizer)
    model.eval()
    return model
