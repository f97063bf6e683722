# Writes nbgrader_regression.ipynb (run from the repository root): an nbgrader master as an instructor
# writes one with the Create Assignment toolbar (numpy and torch asserts, a read-only helper cell the tests
# call, a solution cell replaced whole, written answers, a manually graded code cell and a task cell).
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def cell(kind, source, **nbgrader):
    made = new_code_cell(source) if kind == "code" else new_markdown_cell(source)
    if nbgrader:
        made.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     "task": False, **nbgrader}
    return made


cells = [
    cell("markdown", "# Least squares\n\nFit a line, measure the error, and explain what you saw.",
         locked=True, grade_id="intro"),
    cell("code", "import numpy as np\nimport torch", locked=True, grade_id="imports"),
    cell("code", '''def make_data(n, slope=2.0, intercept=-1.0, seed=0):
    """Points on a line with a little noise (do not change this cell)."""
    generator = np.random.default_rng(seed)
    x = generator.uniform(-1, 1, size=n)
    y = slope * x + intercept + 0.01 * generator.standard_normal(n)
    return x, y''', locked=True, grade_id="helpers"),
    cell("markdown", "## 1. `fit_line(x, y)`\n\nReturn `(slope, intercept)` of the least-squares line as floats.",
         locked=True, grade_id="q1_text"),
    cell("code", '''def fit_line(x, y):
    """Least-squares slope and intercept."""
    ### BEGIN SOLUTION
    A = np.stack([x, np.ones_like(x)], axis=1)
    slope, intercept = np.linalg.lstsq(A, y, rcond=None)[0]
    return float(slope), float(intercept)
    ### END SOLUTION''', solution=True, grade_id="fit_line"),
    cell("code", '''x, y = make_data(50)
slope, intercept = fit_line(x, y)
np.testing.assert_allclose([slope, intercept], [2.0, -1.0], atol=0.05)
### BEGIN HIDDEN TESTS
x, y = make_data(200, slope=-3.0, intercept=0.5, seed=7)
np.testing.assert_allclose(fit_line(x, y), (-3.0, 0.5), atol=0.02)
assert isinstance(fit_line(x, y)[0], float)
### END HIDDEN TESTS''', grade=True, grade_id="test_fit_line", points=3, locked=True),
    cell("markdown", "## 2. `mse(pred, target)`\n\nThe mean squared error of two tensors, as a 0-d tensor.",
         locked=True, grade_id="q2_text"),
    cell("code", '''def mse(pred, target):
    return ((pred - target) ** 2).mean()''', solution=True, grade_id="mse"),
    cell("code", '''pred = torch.tensor([1.0, 2.0, 3.0])
target = torch.tensor([1.0, 0.0, 3.0])
torch.testing.assert_close(mse(pred, target), torch.tensor(4.0 / 3.0))
assert mse(pred, pred).item() == 0.0''', grade=True, grade_id="test_mse", points=2, locked=True),
    cell("markdown", "Set `learning_rate` to the step size you would use for gradient descent here (0.1)."),
    cell("code", '''### BEGIN SOLUTION
learning_rate = 0.1
### END SOLUTION''', solution=True, grade_id="lr"),
    cell("code", '''assert abs(learning_rate - 0.1) < 1e-12''', grade=True, grade_id="test_lr", points=1, locked=True),
    cell("markdown", "## 3. In words\n\nWhy is the intercept column of ones needed?"),
    cell("markdown", '''Without it the line is forced through the origin.
### BEGIN SOLUTION
The column of ones lets the fit choose an offset; without it the model is y = slope * x only.
### END SOLUTION''', solution=True, grade=True, grade_id="why_ones", points=2),
    cell("markdown", "Plot the residuals (graded by hand)."),
    cell("code", '''### BEGIN SOLUTION
residuals = y - (slope * x + intercept)
### END SOLUTION''', solution=True, grade=True, grade_id="residual_plot", points=1),
    cell("markdown", "**Task.** Comment on the residual plot above in a cell of your own.",
         task=True, grade_id="task_comment", points=1, locked=True),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/nbgrader_regression.ipynb")
