# Writes otter_stats.ipynb (run from the repository root): an otter-assign (v1) master as its documentation
# writes one: points as a list, absent, a number shared with a test config's points, and each: N; # SOLUTION
# line endings (assignments, augmented, calls), # SEED, # BEGIN SOLUTION NO PROMPT with a """ # BEGIN PROMPT
# string, # IGNORE lines and blocks, an ## Ignore ## cell, # HIDDEN cells, a failure_message, and a manually
# graded written question with a prompt block.
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

raw, md, code = new_raw_cell, new_markdown_cell, new_code_cell
cells = [
    raw("# ASSIGNMENT CONFIG\nname: stats\ninit_cell: false\nexport_cell: false\ngenerate:\n  seed: 42\n"
        "tests:\n  files: true"),
    md("# Tensor statistics\n\nStandardize, double, clip and count."),
    code("import numpy as np\nimport torch"),
    code('## Ignore ##\nprint("instructor scratch: secret_scratch_value = 123")'),
    raw("# BEGIN QUESTION\nname: q1\npoints: [1, 2, 1]"),
    md("**Question 1.** Write `standardize(x)`: subtract the mean, divide by the (biased) standard deviation."),
    raw("# BEGIN SOLUTION"),
    code("def standardize(x):\n    mean = x.mean() # SOLUTION\n    std = x.std(unbiased=False) # SOLUTION\n"
         "    return (x - mean) / std # SOLUTION"),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code("standardize(torch.tensor([1.0, 2.0, 3.0])).mean().abs().item() < 1e-6"),
    code("# HIDDEN\nz = standardize(torch.tensor([2.0, 4.0, 6.0, 8.0]))\n"
         "bool(torch.allclose(z.std(unbiased=False), torch.tensor(1.0)))"),
    code("standardize(torch.arange(4.0)).shape"),
    raw("# END TESTS"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q2"),
    md("**Question 2.** Draw five normal samples and set `doubled` to twice them."),
    raw("# BEGIN SOLUTION"),
    code("np.random.seed(42) # SEED\nsamples = np.random.normal(size=5)\ndoubled = 2 * samples # SOLUTION"),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code('""" # BEGIN TEST CONFIG\nfailure_message: doubled must be twice samples\n""" # END TEST CONFIG\n'
         "bool(np.allclose(doubled, 2 * samples))"),
    code("doubled.shape"),
    raw("# END TESTS"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q3\npoints: 4"),
    md("**Question 3.** Write `clip(t, limit)` and `running_mean(values)` (the mean of each prefix)."),
    raw("# BEGIN SOLUTION"),
    code('''def clip(t, limit):
    # BEGIN SOLUTION NO PROMPT
    return t.clamp(-limit, limit)
    # END SOLUTION
    """ # BEGIN PROMPT
    # clamp every entry of t into [-limit, limit]
    ...
    """; # END PROMPT


def running_mean(values):
    total = 0.0
    means = []
    for count, value in enumerate(values, start=1):
        total += value # SOLUTION
        means.append(total / count) # SOLUTION
    return means'''),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code('""" # BEGIN TEST CONFIG\npoints: 2\nhidden: true\n""" # END TEST CONFIG\n'
         "clip(torch.tensor([-5.0, 0.5, 5.0]), 1.0)"),
    code("running_mean([2.0, 4.0, 6.0])"),
    code("assert clip(torch.zeros(2), 1.0).shape == (2,)"),
    raw("# END TESTS"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q4\nmanual: true\npoints: 2"),
    raw("# BEGIN PROMPT"),
    md("**Question 4.** Why do we divide by the standard deviation?"),
    raw("# END PROMPT"),
    raw("# BEGIN SOLUTION"),
    md("**SOLUTION:** Dividing makes the spread one, so features measured in different units compare."),
    raw("# END SOLUTION"),
    raw("# END QUESTION"),
    raw("# BEGIN QUESTION\nname: q5\npoints:\n  each: 1"),
    md("**Question 5.** Write `count_positive(x)`: how many entries are above zero, as an int."),
    raw("# BEGIN SOLUTION"),
    code('''def count_positive(x):
    return int((x > 0).sum()) # SOLUTION
# BEGIN IGNORE
print("checking my own solution:", count_positive(torch.tensor([1.0, -1.0])))
# END IGNORE'''),
    raw("# END SOLUTION"),
    raw("# BEGIN TESTS"),
    code("count_positive(torch.tensor([1.0, -2.0, 3.0]))"),
    code('# HIDDEN\nx = torch.tensor([-1.0, 0.0, 2.0])\nprint("instructor debugging")  # IGNORE\ncount_positive(x)'),
    raw("# END TESTS"),
    raw("# END QUESTION"),
]
nbformat.write(new_notebook(cells=cells), "tests/data/masters/otter_stats.ipynb")
