"""The run counts under `grader history` and `grader runs`: "1 run", "2 runs"."""

import io

from rich.console import Console

from grader.models import Verdict
from grader.report.terminal import print_history, print_runs


def runs(count: int) -> list[Verdict]:
    return [Verdict(assignment="hw", submission="s.ipynb", student="s", status="graded", run_id=index + 1)
            for index in range(count)]


def last_line(print_table, verdicts: list[Verdict]) -> str:
    out = io.StringIO()
    print_table(verdicts, Console(file=out, width=200))
    return out.getvalue().strip().splitlines()[-1]


def test_history_of_one_run_says_run():
    assert last_line(print_history, runs(1)) == "1 run"


def test_history_of_two_runs_says_runs():
    assert last_line(print_history, runs(2)) == "2 runs"


def test_runs_of_one_run_says_run():
    assert last_line(print_runs, runs(1)) == "1 run, 0 excluded"
