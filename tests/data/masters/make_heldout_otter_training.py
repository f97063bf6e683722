# Writes heldout_otter_training.ipynb (run from the repository root): an otter-assign v1 master of a tiny
# nn.Module, a loss and a training step; prompts, SOLUTION NO PROMPT, IGNORE lines, a printing test, a manual
# question, per-case points in test config blocks.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

cells = [
    new_raw_cell("# ASSIGNMENT CONFIG\nname: training_lab\ngenerate: true\nexport_cell: false\ninit_cell: false\n"
                 "check_all_cell: false\nsolutions_pdf: false\ntests:\n    ok_format: true"),
    new_markdown_cell("# Lab 5: a tiny network and its training step"),
    new_code_cell("import torch\nfrom torch import nn\n\nX = torch.linspace(-1, 1, 20).unsqueeze(1)\n"
                  "y = 3 * X - 1\nprint(X.shape)  # IGNORE"),
    new_raw_cell("# BEGIN QUESTION\nname: net\npoints: 2"),
    new_markdown_cell("Define `TinyNet`: one `nn.Linear(1, 1)` named `fc`."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell('''class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 1)  # SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION NO PROMPT
        return self.fc(x)
        # END SOLUTION
        """ # BEGIN PROMPT
        return ...
        """; # END PROMPT'''),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("isinstance(TinyNet().fc, nn.Linear)"),
    new_code_cell("print(TinyNet()(torch.zeros(5, 1)).shape)"),
    new_code_cell("# HIDDEN\n[tuple(p.shape) for p in TinyNet().parameters()]"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: loss\npoints: 3"),
    new_markdown_cell("Write `mse(pred, target)`: the mean of squared differences, a 0-d tensor."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("def mse(pred, target):\n    return ((pred - target) ** 2).mean()  # SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("mse(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0])).item()"),
    new_code_cell("mse(torch.zeros(3, 2), torch.ones(3, 2)).dim()"),
    new_code_cell('''""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
round(mse(torch.tensor([[0.5], [-1.5]]), torch.tensor([[1.0], [1.0]])).item(), 4)'''),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: step\npoints: [1, 2]"),
    new_markdown_cell("Write `gradient_step(w, b, lr)`: given `w`, `b` with `requires_grad`, compute the MSE of "
                      "`X * w + b` against `y`, backpropagate, and return new `(w, b)` after one step of size `lr`."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell('''def gradient_step(w, b, lr):
    # BEGIN SOLUTION
    loss = ((X * w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        return w - lr * w.grad, b - lr * b.grad
    # END SOLUTION'''),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("w0, b0 = torch.tensor(0.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)\n"
                  "[round(v.item(), 4) for v in gradient_step(w0, b0, 0.1)]"),
    new_code_cell('''""" # BEGIN TEST CONFIG
hidden: true
failure_message: use the gradient of the mean, not the sum
""" # END TEST CONFIG
w1, b1 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)
[round(v.item(), 4) for v in gradient_step(w1, b1, 0.5)]'''),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: reflection\nmanual: true\npoints: 2"),
    new_markdown_cell("Why do we call `zero_grad()` in a training loop?"),
    new_raw_cell("# BEGIN SOLUTION"),
    new_markdown_cell("Gradients accumulate across backward calls."),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                                  "name": "python3"}}),
               "tests/data/masters/heldout_otter_training.ipynb")
