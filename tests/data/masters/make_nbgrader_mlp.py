# Writes nbgrader_mlp.ipynb (run from the repository root); the notebook is what the tests read.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

def cell(kind, source, **nbgrader):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False, **nbgrader}
    return made

cells = [
    cell("markdown", "# MLP"),
    cell("code", "import torch\nfrom torch import nn"),
    cell("code", '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))
        ### END SOLUTION''', solution=True, grade_id="net"),
    cell("code", '''net = Net()
out = net(torch.randn(2, 784))
assert out.shape == (2, 10)
torch.testing.assert_close(out, net(torch.randn(2, 1, 28, 28)).detach() * 0 + out.detach())''', grade=True, grade_id="shape", points=1),
    cell("code", '''net = Net()
assert isinstance(net, nn.Module)''', grade=True, grade_id="isinstance", points=1),
    cell("code", '''net = Net()
assert sum(p.numel() for p in net.parameters()) == 784 * 128 + 128 + 128 * 10 + 10''', grade=True, grade_id="params", points=1),
    cell("code", '''net = Net()
assert net.fc1.in_features == 784
assert len(list(net.children())) == 2''', grade=True, grade_id="layers", points=1),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/nbgrader_mlp.ipynb")
