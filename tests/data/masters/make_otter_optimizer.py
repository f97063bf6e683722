# Writes otter_optimizer.ipynb (run from the repository root): an otter master whose tests build
# torch.optim optimizers over the student's model (torch.optim.SGD, optim.Adam imported as a module, SGD
# imported by name) and hand them to the student's training step.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

cells = [
    new_raw_cell("# ASSIGNMENT CONFIG\nname: steps\nexport_cell: false"),
    new_markdown_cell("# One gradient step\n\nWrite `step(model, optimizer, x, y)`: one training step on the "
                      "mean squared error; return the loss as a Python float."),
    new_code_cell("import torch\nfrom torch import nn, optim\nfrom torch.optim import SGD"),
    new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 3"),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("def step(model, optimizer, x, y):\n    # BEGIN SOLUTION\n    optimizer.zero_grad()\n"
                  "    loss = ((model(x) - y) ** 2).mean()\n    loss.backward()\n    optimizer.step()\n"
                  "    return loss.item()\n    # END SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("torch.manual_seed(0)\nnet = nn.Linear(3, 1)\nx = torch.randn(8, 3)\ny = x.sum(dim=1, keepdim=True)\n"
                  "opt = torch.optim.SGD(net.parameters(), lr=0.1)\nlosses = [step(net, opt, x, y) for _ in range(30)]\n"
                  "assert losses[-1] < 0.1 * losses[0]"),
    new_code_cell("net = nn.Linear(3, 1)\nx = torch.randn(8, 3)\nbefore = net.weight.detach().clone()\n"
                  "step(net, optim.Adam(net.parameters(), lr=0.01), x, x.sum(dim=1, keepdim=True))\n"
                  "assert not torch.equal(net.weight.detach(), before)"),
    new_code_cell("# HIDDEN\nnet = nn.Linear(3, 1)\nx = torch.randn(4, 3)\nopt = SGD(net.parameters(), lr=0.0)\n"
                  "a = step(net, opt, x, torch.zeros(4, 1))\nb = step(net, opt, x, torch.zeros(4, 1))\n"
                  "assert abs(a - b) < 1e-6"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/otter_optimizer.ipynb")
