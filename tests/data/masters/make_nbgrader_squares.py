# Writes nbgrader_squares.ipynb (run from the repository root); the notebook is what the tests read.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

def cell(kind, source, **nbgrader):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     "task": False, **nbgrader}
    return made

cells = [
    cell("markdown", "# Squares and norms\n\nAn nbgrader-style assignment."),
    cell("code", "import torch"),
    cell("markdown", "Write `squares(n)`: the list of the squares of 1 … n; raise `ValueError` for n < 1."),
    cell("code", '''def squares(n):
    """Compute the squares of numbers from 1 to n."""
    ### BEGIN SOLUTION
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(1, n + 1)]
    ### END SOLUTION''', solution=True, grade_id="squares"),
    cell("code", '''"""Check that squares returns the correct output for several inputs"""
assert squares(1) == [1]
assert squares(2) == [1, 4]
assert squares(10) == [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]


def expected_squares(n):
    return [i * i for i in range(1, n + 1)]''', grade=True, grade_id="correct_squares", points=1,
         locked=True),
    cell("code", '''"""Check that squares raises an error for invalid inputs"""
try:
    squares(0)
except ValueError:
    pass
else:
    raise AssertionError("did not raise")''', grade=True, grade_id="squares_invalid_input", points=1, locked=True),
    cell("markdown", "Write `normalize(x)`: `x` divided by its Euclidean norm; and set `answer` to 42."),
    cell("code", '''def normalize(x):
    ### BEGIN SOLUTION
    return x / torch.linalg.norm(x)
    ### END SOLUTION


### BEGIN SOLUTION
answer = 42
### END SOLUTION''', solution=True, grade_id="normalize"),
    cell("code", '''from nose.tools import assert_equal
x = torch.tensor([3.0, 4.0])
assert torch.allclose(normalize(x), torch.tensor([0.6, 0.8]))
### BEGIN HIDDEN TESTS
y = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
assert torch.allclose(normalize(y), y / 5.0)
assert_equal(normalize(torch.ones(4)).sum().item(), 2.0)
### END HIDDEN TESTS''', grade=True, grade_id="normalize_tests", points=2, locked=True),
    cell("code", '''assert answer == 42
assert squares(4) == expected_squares(4)''', grade=True, grade_id="the_answer", points=1, locked=True),
    cell("markdown", "Write `Doubler`, an `nn.Module` whose `scale` is 2.0 and whose forward multiplies by it."),
    cell("code", '''class Doubler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.scale = 2.0
        ### END SOLUTION

    def forward(self, x):
        return x * self.scale''', solution=True, grade_id="doubler"),
    cell("code", '''model = Doubler()
assert model.scale == 2.0
assert torch.equal(model(torch.ones(2)), torch.full((2,), 2.0))''', grade=True, grade_id="doubler_tests", points=1,
         locked=True),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/nbgrader_squares.ipynb")
