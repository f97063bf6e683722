# Writes otter_exceptions.ipynb (run from the repository root): an otter-assign (v1) master with
# exception-based tests (tests: ok_format: false): each test cell defines a test function whose parameters
# name the student's globals (env: all of them), its call in the master marked # IGNORE; a solution region in
# a function, a # SOLUTION value read by a later question, and a manually graded code question.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

raw, md, code = new_raw_cell, new_markdown_cell, new_code_cell
cells = [
    raw("# ASSIGNMENT CONFIG\nname: rows\ntests:\n  ok_format: false\n  files: true"),
    md("# Row normalisation"),
    code("import torch"),
    raw("# BEGIN QUESTION\nname: q1\npoints: 3"),
    md("**Question 1.** Write `normalize_rows(m)`: each row divided by its sum."),
    raw("# BEGIN SOLUTION"),
    code("def normalize_rows(m):\n    # BEGIN SOLUTION\n    return m / m.sum(dim=1, keepdim=True)\n    # END SOLUTION"),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code('''""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_rows_sum_to_one(normalize_rows, torch):
    out = normalize_rows(torch.tensor([[1.0, 3.0], [2.0, 2.0]]))
    assert torch.allclose(out.sum(dim=1), torch.ones(2))

test_rows_sum_to_one(normalize_rows, torch)  # IGNORE'''),
    code('''# HIDDEN
def test_values(env):
    out = env["normalize_rows"](env["torch"].tensor([[1.0, 1.0, 2.0]]))
    assert env["torch"].allclose(out, env["torch"].tensor([[0.25, 0.25, 0.5]])), "wrong values"

test_values(globals())  # IGNORE'''),
    raw("# END TESTS"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q2\npoints: 1"),
    md("**Question 2.** Set `weights` to the normalised rows of a 2 x 4 tensor of ones."),
    raw("# BEGIN SOLUTION"),
    code("weights = normalize_rows(torch.ones(2, 4)) # SOLUTION"),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code('''def test_weights(weights):
    assert weights.shape == (2, 4)
    assert bool((weights == 0.25).all())'''),
    raw("# END TESTS"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q3\nmanual: true\npoints: 3"),
    md("**Question 3.** Print a short summary of `weights` for the reader."),
    raw("# BEGIN SOLUTION"),
    code('print("rows:", weights.shape[0]) # SOLUTION\nprint("each row sums to", float(weights[0].sum())) # SOLUTION'),
    raw("# END SOLUTION"),
    raw("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/otter_exceptions.ipynb")
