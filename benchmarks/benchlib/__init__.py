"""The benchmarks' library: one module per tool, shared by bench_batch.py, bench_matrix.py and bench_cluster.py.

- notebooks: hw2 submissions, correct ones from the reference solution and wrong ones from
  the assignment's planted mistakes (assignments/hw2/mistakes.toml)
- (the process-tree walker is grader.sandbox.proctree, shared with the sandbox and the tests)
- accounting: CPU seconds of a process tree and of the rest of the machine
- sampling: PSS and GPU memory of a process tree, sampled in a thread
- runs: one `grader grade` run, the naive floor, the in-process cost of the checks
- report: the Markdown report
- install: where the grader is installed (this checkout, or a full copy under /tmp)
- peer_checks: hw2's checks as plain asserts, for the peers
- peers_env: nbgrader's and otter-grader's environments, built on demand under ~/.cache/grader-bench
- peers: nbgrader autograde and otter run on the same notebooks (bench_matrix.py --peers)

The scripts put benchmarks/ on sys.path and import ``benchlib``; it never imports torch, so
the benchmark shares no pages with the grader it measures.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


class BenchError(Exception):
    """A measurement could not be made; the message is one line."""
