# Writes activations.ipynb (run from the repository root); the notebook is what the tests read.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_code_cell('''# grader: config
# title = "Activations"
#
# [limits]
# wall_seconds = 60
# cell_seconds = 10
# call_seconds = 5
#
# [[mistake]]
# name = "relu_keeps_negatives"
# description = "relu returns its input unchanged"
# [[mistake.edit]]
# find = "return torch.clamp(x, min=0)"
# replace = "return x"'''),
    new_markdown_cell("# Activations\n\nWrite two activation functions with plain tensor operations."),
    new_code_cell("import torch"),
    new_markdown_cell("## 1. `relu(x)`\n\nElement-wise max(x, 0), same shape and dtype as `x`."),
    new_code_cell('''def relu(x: torch.Tensor) -> torch.Tensor:
    """Element-wise max(x, 0)."""
    # BEGIN SOLUTION
    return torch.clamp(x, min=0)
    # END SOLUTION'''),
    new_code_cell('''# grader: check public points=2
# ru: relu обнуляет отрицательные элементы тензора формы (3, 4)
def test_relu_small(student, reference, device):
    """relu zeroes the negative entries of a (3, 4) tensor"""
    x = torch.linspace(-3, 3, 12, device=device).reshape(3, 4)
    expect_close(student.relu(x), reference.relu(x), what="relu(x)", hint="keep the positive entries as they are")
# ru "keep the positive entries as they are" = "положительные элементы оставьте как есть"'''),
    new_code_cell('''# grader: check hidden points=1
def test_relu_float64(student, reference):
    """relu keeps float64"""
    x = torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    expect_close(student.relu(x), reference.relu(x), what="relu(x)")'''),
    new_markdown_cell("## 2. `leaky_relu(x, slope)`\n\n`x` where positive, `slope * x` elsewhere."),
    new_code_cell('''def leaky_relu(x: torch.Tensor, slope: float = 0.01) -> torch.Tensor:
    """x where x > 0, slope * x elsewhere."""
    # BEGIN SOLUTION
    return torch.where(x > 0, x, slope * x)
    # END SOLUTION'''),
    new_code_cell('''# grader: check hidden points=1
def test_leaky_relu_slope(student, reference):
    """leaky_relu scales the negative entries by slope"""
    x = torch.linspace(-2, 2, 9)
    expect_close(student.leaky_relu(x, 0.1), reference.leaky_relu(x, 0.1), what="leaky_relu(x, 0.1)")'''),
    new_code_cell('''# grader: skip
print(relu(torch.tensor([-1.0, 2.0])))  # the instructor's own scratch cell'''),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/activations.ipynb")
