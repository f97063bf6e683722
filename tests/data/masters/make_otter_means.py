# Writes otter_means.ipynb (run from the repository root); the notebook is what the tests read.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

cells = [
    new_raw_cell("# ASSIGNMENT CONFIG\nname: norms\nexport_cell: false"),
    new_markdown_cell("# Squares and means\n\nAn otter-style assignment."),
    new_code_cell("import torch\n%matplotlib inline"),
    new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 2"),
    new_markdown_cell("**Question 1.** Write `square(x)`: the element-wise square of `x`, same dtype."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("def square(x):\n    # BEGIN SOLUTION\n    return x * x\n    # END SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("square(torch.tensor([1.0, -2.0]))"),
    new_code_cell("assert square(torch.tensor(3.0)).item() == 9.0"),
    new_code_cell("# HIDDEN\nsquare(torch.arange(4))"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: q2\npoints: 3"),
    new_markdown_cell("**Question 2.** Set `total` to the sum of 1 … 10, and write `mean_abs(x)`: the mean of |x|."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("total = 55 # SOLUTION\n\n\ndef mean_abs(x):\n    # BEGIN SOLUTION\n    return x.abs().mean()\n"
                  "    # END SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("print(total)"),
    new_code_cell('""" # BEGIN TEST CONFIG\npoints: 2\nhidden: true\n""" # END TEST CONFIG\n'
                  "x = torch.tensor([-1.0, 3.0, -8.0])\nmean_abs(x)"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/otter_means.ipynb")
