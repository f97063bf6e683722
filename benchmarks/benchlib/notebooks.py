"""hw2 submissions for the benchmarks, in a fixed repeating pattern of 10.

Every 10: 6 correct (the reference solution, cell by cell, and three other student styles),
3 wrong (planted mistakes of assignments/hw2/mistakes.toml, applied to the reference as
`grader validate` applies them) and 1 crashing (a scratch cell that raises, a function that
raises, a syntax error in the cell of definitions, a cell that ends the process with
os._exit). Every notebook carries its own index in a comment, so no two have the same code.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Callable

from benchlib import REPO, BenchError

ASSIGNMENT = "hw2"
REFERENCE = REPO / "reference_solutions" / f"{ASSIGNMENT}.py"
CATALOGUE = REPO / "assignments" / ASSIGNMENT / "mistakes.toml"

# The planted mistakes of the wrong notebooks: the six kinds the benchmark has always graded
# (so its figures stay comparable with earlier runs), in their old order.
WRONG_MISTAKES = ("softmax_dim0", "softmax_unstable", "forward_missing_bias", "predict_sigmoid",
                  "forward_casts_float32", "sigmoid_overflow")

SCRATCH = '''
x = torch.randn(3, 5)
print(softmax(x).sum(dim=1))
print(sigmoid(torch.tensor([-1000., 0., 1000.])))
'''

Cells = list[tuple[str, str]]  # (what the cell holds: "imports", a function's name, "scratch"; its code)


def split_cells(source: str) -> Cells:
    """A solution file as a student's notebook: its imports in one cell, then one cell per function."""
    tree = ast.parse(source)
    lines = source.splitlines()
    cells: Cells = []
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is tree.body[0]:
            continue  # the module docstring
        start = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])
        code = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            cells.append((node.name, code))
        elif cells and cells[-1][0] == "imports":
            cells[-1] = ("imports", cells[-1][1] + "\n" + code)
        else:
            cells.append(("imports", code))
    return cells + [("scratch", SCRATCH)]


def reference_cells(source: str | None = None) -> Cells:
    return split_cells(REFERENCE.read_text() if source is None else source)


def planted_sources(names: tuple[str, ...] = WRONG_MISTAKES) -> dict[str, str]:
    """The reference with each named mistake of the catalogue planted."""
    from grader.errors import GraderError
    from grader.mutants import apply, read_catalogue  # pydantic and nbformat, no torch

    try:
        catalogue = {mistake.name: mistake for mistake in read_catalogue(CATALOGUE)}
        missing = [name for name in names if name not in catalogue]
        if missing:
            raise BenchError(f"{CATALOGUE}: no mistake named {', '.join(missing)}; update WRONG_MISTAKES in "
                             f"{__file__}")
        reference = REFERENCE.read_text()
        return {name: apply(catalogue[name], reference, str(REFERENCE)) for name in names}
    except GraderError as error:  # a stale or malformed catalogue: one line, as grader validate says it
        raise BenchError(str(error)) from None


def correct_style(style: int) -> list[str]:
    """Four ways students write a correct solution."""
    if style == 0:  # the reference, one function per cell
        return [code for _, code in reference_cells()]
    if style == 1:  # like submissions/hw2/correct.ipynb: magics, 1/(1+exp(-x)), torch.max, view + mm
        return [
            "!pip install torch torchvision --quiet",
            "import torch\nimport math\n%matplotlib inline",
            "def sigmoid(x: torch.Tensor) -> torch.Tensor:\n    return 1 / (1 + torch.exp(-x))",
            "def softmax(x: torch.Tensor) -> torch.Tensor:\n"
            "    row_max, _ = torch.max(x, dim=1, keepdim=True)\n"
            "    e = torch.exp(x - row_max)\n"
            "    return e / torch.sum(e, dim=1, keepdim=True)",
            "def forward_by_hand(images, W1, b1, W2, b2):\n"
            "    x = images.reshape(images.size(0), -1)\n"
            "    hidden = sigmoid(torch.mm(x, W1) + b1)\n"
            "    return torch.mm(hidden, W2) + b2\n\n"
            "def predict_proba(images, W1, b1, W2, b2):\n"
            "    logits = forward_by_hand(images, W1, b1, W2, b2)\n"
            "    return softmax(logits)",
            SCRATCH,
        ]
    if style == 2:  # log-sum-exp and tanh, everything in one cell
        return [
            "import torch",
            "def sigmoid(x):\n    return 0.5 * (1 + torch.tanh(x / 2))\n\n"
            "def softmax(x):\n    return torch.exp(x - torch.logsumexp(x, dim=1, keepdim=True))\n\n"
            "def forward_by_hand(images, W1, b1, W2, b2):\n"
            "    x = images.flatten(start_dim=1)\n"
            "    return sigmoid(x.matmul(W1) + b1).matmul(W2) + b2\n\n"
            "def predict_proba(images, W1, b1, W2, b2):\n"
            "    return softmax(forward_by_hand(images, W1, b1, W2, b2))",
            "print(predict_proba(torch.rand(2, 1, 28, 28), torch.randn(784, 256), torch.zeros(256),\n"
            "                    torch.randn(256, 10), torch.zeros(10)).sum(dim=1))",
        ]
    # style 3: torch.nn.functional and addmm, with a helper
    return [
        "import torch\nimport torch.nn.functional as F",
        "def sigmoid(x):\n    return torch.sigmoid(x)",
        "def softmax(x):\n    return F.softmax(x, dim=1)",
        "def _flat(images):\n    return images.reshape(len(images), -1)\n\n"
        "def forward_by_hand(images, W1, b1, W2, b2):\n"
        "    h = sigmoid(torch.addmm(b1, _flat(images), W1))\n"
        "    return torch.addmm(b2, h, W2)\n\n"
        "def predict_proba(images, W1, b1, W2, b2):\n"
        "    return softmax(forward_by_hand(images, W1, b1, W2, b2))",
    ]


def _insert_after(cells: Cells, name: str, new: tuple[str, str]) -> Cells:
    index = [held for held, _ in cells].index(name)
    return cells[:index + 1] + [new] + cells[index + 1:]


def _syntax_error(cells: Cells) -> Cells:
    """Every definition in one cell, sigmoid's ``def`` line broken: none of them exists."""
    definitions = [code for held, code in cells if held not in ("imports", "sigmoid", "scratch")]
    broken = "def sigmoid(x)\n    return torch.sigmoid(x)\n\n" + "\n\n".join(definitions)
    return [cells[0], ("definitions", broken), cells[-1]]


CRASH_VARIANTS: dict[str, Callable[[Cells], Cells]] = {
    "cell_raises": lambda cells: _insert_after(cells, "imports", ("crash", "result = undefined_variable + 1")),
    "function_raises": lambda cells: [
        (held, "def softmax(x):\n    raise NotImplementedError('softmax is not done yet')" if held == "softmax" else code)
        for held, code in cells],
    "syntax_error": _syntax_error,
    "cell_exits_process": lambda cells: _insert_after(cells, "predict_proba", ("crash", "import os\nos._exit(3)")),
}

# What each kind should score: "full" (10/10), "partial" (below full), "zero".
EXPECTED = {"correct": "full", **{name: "partial" for name in WRONG_MISTAKES}, "cell_raises": "full",
            "function_raises": "partial", "syntax_error": "zero", "cell_exits_process": "full"}


def submission_plan(index: int, wrong: dict[str, str]) -> tuple[str, str, list[str]]:
    """(category, kind, code cells) of submission ``index``; the pattern repeats every 10.

    ``wrong``: the planted sources (``planted_sources()``), read once for the whole batch.
    """
    block, position = divmod(index, 10)
    if position < 6:
        style = (block * 6 + position) % 4
        return "correct", "correct", correct_style(style)
    if position < 9:
        names = list(wrong)
        name = names[(block * 3 + position - 6) % len(names)]
        return "wrong", name, [code for _, code in reference_cells(wrong[name])]
    names = list(CRASH_VARIANTS)
    name = names[block % len(names)]
    return "crash", name, [code for _, code in CRASH_VARIANTS[name](reference_cells())]


def write_submissions(folder: Path, count: int) -> dict[str, dict]:
    """``count`` notebooks s0000.ipynb ... into ``folder``; returns each one's category, kind and expected score."""
    import nbformat
    from nbformat import v4

    folder.mkdir(parents=True, exist_ok=True)
    wrong = planted_sources()
    plan = {}
    for index in range(count):
        category, kind, cells = submission_plan(index, wrong)
        notebook = v4.new_notebook()
        notebook.cells.append(v4.new_markdown_cell(f"# hw2 — Softmax and a network by hand\n\nStudent {index:04d}"))
        for number, source in enumerate(cells):
            if number == 0:
                source = f"# submission {index:04d} ({category}: {kind})\n" + source
            notebook.cells.append(v4.new_code_cell(source.strip("\n")))
        path = folder / f"s{index:04d}.ipynb"
        nbformat.write(notebook, str(path))
        plan[f"s{index:04d}"] = {"category": category, "kind": kind, "expect": EXPECTED[kind]}
    return plan
