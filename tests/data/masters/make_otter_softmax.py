# Writes otter_softmax.ipynb (run from the repository root); the notebook is what the tests read.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell
cells = [
    new_raw_cell("# ASSIGNMENT CONFIG\nname: probe"),
    new_code_cell("import numpy as np\nimport torch\nfrom torch import nn"),
    new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 4"),
    new_markdown_cell("Write `softmax(x)` and `Tiny`."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("def softmax(x):\n    # BEGIN SOLUTION\n    e = (x - x.max(dim=1, keepdim=True).values).exp()\n    return e / e.sum(dim=1, keepdim=True)\n    # END SOLUTION\n\n\nclass Tiny(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)  # SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("x = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))\ntype(softmax(x))"),
    new_code_cell("softmax(torch.zeros(2, 3)).shape"),
    new_code_cell("np.isclose(softmax(torch.ones(1, 4))[0, 0].item(), 0.25)"),
    new_code_cell("Tiny()"),
    new_code_cell("# HIDDEN\ntorch.allclose(softmax(torch.tensor([[1000.0, 1000.0]])), torch.tensor([[0.5, 0.5]]))"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/otter_softmax.ipynb")
