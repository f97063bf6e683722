# Writes heldout_nbgrader_softmax.ipynb (run from the repository root): an nbgrader master as the Jupyter
# extension's Create Assignment toolbar saves it (cell ids, every metadata key, locked test cells), tests with
# loops, prints, several asserts and a helper from a locked cell.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def meta(grade_id, *, grade=False, solution=False, locked=False, points=None, task=False):
    data = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": task}
    if points is not None:
        data["points"] = points
    return {"nbgrader": data}


def cell(kind, cell_id, source, **nbgrader):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    made.id = cell_id
    if nbgrader:
        made.metadata.update(meta(**nbgrader))
    return made


cells = [
    cell("markdown", "intro", "# Lab 2: tensors and softmax\nFill in each cell marked `YOUR CODE HERE`.",
         grade_id="intro", locked=True),
    cell("code", "imports", "import math\nimport torch\nimport torch.nn.functional as F", grade_id="imports",
         locked=True),
    cell("code", "helpers", '''def close(a, b, tol=1e-5):
    """True when two tensors agree to tol (provided: do not edit)."""
    return a.shape == b.shape and bool((a - b).abs().max() <= tol)


def sample(rows, cols, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=g) * 3''', grade_id="helpers", locked=True),
    cell("markdown", "q1", "**Q1.** `stable_softmax(x)`: softmax over the last dimension, without overflow."),
    cell("code", "softmax_solution", '''def stable_softmax(x):
    """Softmax over the last dimension."""
    ### BEGIN SOLUTION
    shifted = x - x.max(dim=-1, keepdim=True).values
    exps = shifted.exp()
    return exps / exps.sum(dim=-1, keepdim=True)
    ### END SOLUTION''', grade_id="softmax_solution", solution=True),
    cell("code", "test_softmax_rows", '''for rows, cols in [(1, 3), (4, 10), (7, 2)]:
    x = sample(rows, cols, seed=rows)
    p = stable_softmax(x)
    print("shape", tuple(p.shape), "row sums", p.sum(dim=-1))
    assert p.shape == x.shape, "softmax must keep the shape"
    assert close(p.sum(dim=-1), torch.ones(rows)), "each row must sum to 1"
    assert bool((p >= 0).all())''', grade_id="test_softmax_rows", grade=True, locked=True, points=2),
    cell("code", "test_softmax_torch", '''x = sample(5, 6)
assert close(stable_softmax(x), F.softmax(x, dim=-1))
### BEGIN HIDDEN TESTS
big = torch.tensor([[1000.0, 1001.0, 1002.0]])
assert not torch.isnan(stable_softmax(big)).any(), "overflow on large logits"
assert close(stable_softmax(big), F.softmax(big, dim=-1))
### END HIDDEN TESTS''', grade_id="test_softmax_torch", grade=True, locked=True, points=3),
    cell("markdown", "q2", "**Q2.** `one_hot(labels, num_classes)`: a float32 (n, num_classes) matrix."),
    cell("code", "one_hot_solution", '''def one_hot(labels, num_classes):
    ### BEGIN SOLUTION
    out = torch.zeros(len(labels), num_classes)
    out[torch.arange(len(labels)), labels] = 1.0
    return out
    ### END SOLUTION''', grade_id="one_hot_solution", solution=True),
    cell("code", "test_one_hot", '''labels = torch.tensor([0, 2, 1, 2])
encoded = one_hot(labels, 3)
print(encoded)
assert encoded.dtype == torch.float32
for row, label in enumerate(labels.tolist()):
    assert encoded[row, label] == 1.0
    assert encoded[row].sum() == 1.0''', grade_id="test_one_hot", grade=True, locked=True, points=1),
    cell("code", "test_one_hot_hidden", '''### BEGIN HIDDEN TESTS
assert one_hot(torch.tensor([4]), 5).tolist() == [[0.0, 0.0, 0.0, 0.0, 1.0]]
assert one_hot(torch.tensor([], dtype=torch.long), 2).shape == (0, 2)
### END HIDDEN TESTS''', grade_id="test_one_hot_hidden", grade=True, locked=True, points=2),
    cell("markdown", "q3", "**Q3.** In one sentence: why subtract the maximum?"),
    cell("markdown", "q3_answer", "Because exp overflows for large inputs and the shift does not change the result.",
         grade_id="q3_answer", grade=True, solution=True, points=1),
]
nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3", "language": "python",
                                                                  "name": "python3"}}),
               "tests/data/masters/heldout_nbgrader_softmax.ipynb")
