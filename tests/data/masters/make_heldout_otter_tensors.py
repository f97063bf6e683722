# Writes heldout_otter_tensors.ipynb (run from the repository root): an otter-assign v1 master with the
# assignment config keys otter documents, questions with and without points, several test cells per question,
# # HIDDEN cells and test config blocks.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

cells = [
    new_raw_cell('''# ASSIGNMENT CONFIG
name: tensors_lab
init_cell: true
check_all_cell: true
export_cell:
    pdf: false
    instructions: "Run this cell to export your work."
generate:
    points_possible: 10
    show_stdout: true
    filtering: true
solutions_pdf: true
tests:
    files: false
    ok_format: true
seed:
    variable: rng_seed
    autograder_value: 42
    student_value: 7'''),
    new_markdown_cell("# Lab 3: tensors, a layer and a loss"),
    new_code_cell("import torch\nfrom torch import nn\nimport torch.nn.functional as F"),
    new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 2"),
    new_markdown_cell("**Q1.** `normalize(x)`: scale a vector to unit L2 norm."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell('''def normalize(x):
    norm = x.norm()  # SOLUTION
    # BEGIN SOLUTION
    if norm == 0:
        return x.clone()
    # END SOLUTION
    return x / norm  # SOLUTION'''),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("normalize(torch.tensor([3.0, 4.0]))"),
    new_code_cell("assert torch.isclose(normalize(torch.arange(1.0, 6.0)).norm(), torch.tensor(1.0))"),
    new_code_cell("# HIDDEN\nnormalize(torch.zeros(3)).tolist()"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: q2"),
    new_markdown_cell("**Q2.** `Affine(d)`: a module with a weight vector of ones and a bias of zeros; "
                      "`forward(x) = x * weight + bias`."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell('''class Affine(nn.Module):
    def __init__(self, d):
        super().__init__()
        # BEGIN SOLUTION
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        # END SOLUTION

    def forward(self, x):
        return x * self.weight + self.bias  # SOLUTION'''),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("sum(p.numel() for p in Affine(4).parameters())"),
    new_code_cell("# HIDDEN\nAffine(2)(torch.tensor([[1.5, -2.0]])).tolist()"),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: q3\npoints: [1, 1, 2]"),
    new_markdown_cell("**Q3.** `cross_entropy(logits, targets)`: the mean negative log-likelihood, by hand."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell('''def cross_entropy(logits, targets):
    # BEGIN SOLUTION
    log_probs = logits - logits.logsumexp(dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].mean()
    # END SOLUTION'''),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3])).item() == torch.tensor(4.0).log().item()"),
    new_code_cell("logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])\ntargets = torch.tensor([0, 1])\n"
                  "torch.isclose(cross_entropy(logits, targets), F.cross_entropy(logits, targets))"),
    new_code_cell('''""" # BEGIN TEST CONFIG
hidden: true
failure_message: the loss must be the mean over the batch
""" # END TEST CONFIG
big = torch.tensor([[500.0, 0.0], [0.0, 500.0], [500.0, 0.0]])
round(cross_entropy(big, torch.tensor([1, 1, 1])).item(), 3)'''),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
    new_raw_cell("# BEGIN QUESTION\nname: q4\npoints: 3"),
    new_markdown_cell("**Q4.** `accuracy(logits, targets)`: the fraction of rows whose argmax is the target."),
    new_raw_cell("# BEGIN SOLUTION"),
    new_code_cell("def accuracy(logits, targets):\n    return (logits.argmax(dim=1) == targets).float().mean().item()"
                  "  # SOLUTION"),
    new_raw_cell("# END SOLUTION"),
    new_raw_cell("# BEGIN TESTS"),
    new_code_cell("accuracy(torch.eye(3), torch.tensor([0, 1, 2]))"),
    new_code_cell("accuracy(torch.eye(4), torch.tensor([0, 0, 0, 0]))"),
    new_code_cell('''""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
type(accuracy(torch.eye(2), torch.tensor([1, 1]))).__name__'''),
    new_raw_cell("# END TESTS"),
    new_raw_cell("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                                  "name": "python3"}}),
               "tests/data/masters/heldout_otter_tensors.ipynb")
