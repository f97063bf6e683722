# Writes heldout_nbgrader_training.ipynb (run from the repository root): an nbgrader master of a small
# nn.Module and a training step, metadata as the Jupyter extension saves it; locked cells hold the data and
# helpers that call the student's class and function; a hidden test reads the model's gradients.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def cell(kind, cell_id, source, grade=False, solution=False, locked=False, points=None):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    made.id = cell_id
    if grade or solution or locked:
        made.metadata["nbgrader"] = {"grade": grade, "grade_id": cell_id, "locked": locked, "schema_version": 3,
                                     "solution": solution, "task": False}
        if points is not None:
            made.metadata["nbgrader"]["points"] = points
    return made


cells = [
    cell("markdown", "title", "# Lab 4: a linear model and one training step", locked=True),
    cell("code", "setup", "import torch\nfrom torch import nn\nimport torch.nn.functional as F\n"
         "from nose.tools import assert_equal, assert_true", locked=True),
    cell("code", "data", '''torch.manual_seed(0)
X = torch.randn(64, 4)
true_w = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
y = X @ true_w + 0.1''', locked=True),
    cell("code", "model_solution", '''class LinearRegressor(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        ### BEGIN SOLUTION
        self.linear = nn.Linear(d_in, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.linear(x)
        ### END SOLUTION''', solution=True),
    cell("code", "test_model", '''model = LinearRegressor(4)
assert isinstance(model.linear, nn.Linear)
assert_equal(tuple(model(X).shape), (64, 1))''', grade=True, locked=True, points=1),
    cell("code", "step_solution", '''def train_step(model, optimizer, X, y):
    """One step of gradient descent on the mean squared error; returns the loss as a float."""
    ### BEGIN SOLUTION
    optimizer.zero_grad()
    loss = F.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION''', solution=True),
    cell("code", "helpers", '''def count_params(module):
    return sum(p.numel() for p in module.parameters())


def run_steps(steps, lr=0.05, seed=0):
    torch.manual_seed(seed)
    model = LinearRegressor(4)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return [train_step(model, optimizer, X, y) for _ in range(steps)]''', locked=True),
    cell("code", "test_params", "assert_equal(count_params(LinearRegressor(4)), 5)\n"
         "assert_equal(count_params(LinearRegressor(10)), 11)", grade=True, locked=True, points=1),
    cell("code", "test_training", '''losses = run_steps(25)
print("first loss", round(losses[0], 3), "last loss", round(losses[-1], 3))
assert_true(isinstance(losses[0], float), "train_step must return a float")
for before, after in zip(losses, losses[1:]):
    assert after < before, "the loss must go down at every step"
### BEGIN HIDDEN TESTS
assert losses[-1] < 0.2 * losses[0], "25 steps should cut the loss by 5x"
### END HIDDEN TESTS''', grade=True, locked=True, points=2),
    cell("code", "test_zero_grad", '''### BEGIN HIDDEN TESTS
first = run_steps(2, lr=0.0)
assert abs(first[0] - first[1]) < 1e-6, "with lr=0 the loss must not change"
torch.manual_seed(3)
probe = LinearRegressor(4)
optimizer = torch.optim.SGD(probe.parameters(), lr=0.0)
train_step(probe, optimizer, X, y)
once = probe.linear.weight.grad.clone()
train_step(probe, optimizer, X, y)
assert torch.allclose(probe.linear.weight.grad, once), "zero the gradients before each backward"
### END HIDDEN TESTS''', grade=True, locked=True, points=2),
]
nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                                  "name": "python3"}}),
               "tests/data/masters/heldout_nbgrader_training.ipynb")
