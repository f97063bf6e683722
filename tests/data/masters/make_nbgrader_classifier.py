# Writes nbgrader_classifier.ipynb (run from the repository root): an nbgrader master with an nn.Module whose
# __init__ and forward are solution regions, nose.tools asserts, a helper defined in one test cell and used by
# a later one, a test cell hidden whole, two hidden regions in one cell, a test that calls a function and reads
# a variable the student's training cell computed, and a written answer replaced whole.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def cell(kind, source, **nbgrader):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     "task": False, **nbgrader}
    return made


cells = [
    cell("markdown", "# A tiny classifier\n\nBuild, check and train a two-layer network.", locked=True,
         grade_id="header"),
    cell("code", "import torch\nfrom torch import nn\n%matplotlib inline", locked=True, grade_id="setup"),
    cell("markdown", "Write `TwoLayer(d_in, hidden, d_out)`: Linear, ReLU, Linear; `forward` returns logits."),
    cell("code", '''class TwoLayer(nn.Module):
    def __init__(self, d_in, hidden, d_out):
        super().__init__()
        ### BEGIN SOLUTION
        self.first = nn.Linear(d_in, hidden)
        self.second = nn.Linear(hidden, d_out)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.second(torch.relu(self.first(x)))
        ### END SOLUTION''', solution=True, grade_id="two_layer"),
    cell("code", '''from nose.tools import assert_equal, assert_true


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


net = TwoLayer(4, 8, 3)
assert_equal(tuple(net(torch.zeros(5, 4)).shape), (5, 3))
assert_true(isinstance(net, nn.Module))''', grade=True, grade_id="two-layer shape", points=1, locked=True),
    cell("code", '''### BEGIN HIDDEN TESTS
assert_equal(count_parameters(TwoLayer(4, 8, 3)), 4 * 8 + 8 + 8 * 3 + 3)
assert_equal(count_parameters(TwoLayer(2, 1, 1)), 2 + 1 + 1 + 1)
### END HIDDEN TESTS''', grade=True, grade_id="two_layer_parameters", points=2, locked=True),
    cell("code", '''net = TwoLayer(3, 5, 2)
x = -torch.ones(1, 3)
### BEGIN HIDDEN TESTS
net.load_state_dict({"first.weight": torch.ones(5, 3), "first.bias": torch.zeros(5),
                     "second.weight": torch.ones(2, 5), "second.bias": torch.full((2,), 0.5)})
### END HIDDEN TESTS
out = net(x)
assert out.shape == (1, 2)
### BEGIN HIDDEN TESTS
assert torch.allclose(out, torch.full((1, 2), 0.5)), "the ReLU must zero the negative activations"
### END HIDDEN TESTS''', grade=True, grade_id="relu_between", points=2, locked=True),
    cell("markdown", "Write `accuracy(logits, labels)` (a Python float), then train for a few steps and keep the "
                     "last loss in `final_loss`."),
    cell("code", '''def accuracy(logits, labels):
    ### BEGIN SOLUTION
    return (logits.argmax(dim=1) == labels).float().mean().item()
    ### END SOLUTION''', solution=True, grade_id="accuracy"),
    cell("code", '''torch.manual_seed(0)
features = torch.randn(64, 4)
labels = (features[:, 0] > 0).long()''', grade_id="data"),
    cell("code", '''### BEGIN SOLUTION
model = TwoLayer(4, 16, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
for step in range(100):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(features), labels)
    loss.backward()
    optimizer.step()
final_loss = loss.item()
### END SOLUTION''', solution=True, grade_id="train"),
    cell("code", '''assert_equal(accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])), 0.5)
assert isinstance(final_loss, float)
assert final_loss < 0.3, "train longer"
assert accuracy(model(features), labels) > 0.9''', grade=True, grade_id="training", points=3, locked=True),
    cell("markdown", "Why does the network need the ReLU between the layers?"),
    cell("markdown", "Two linear layers compose into one linear map; the ReLU makes it non-linear.",
         solution=True, grade=True, grade_id="why_relu", points=1),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/nbgrader_classifier.ipynb")
