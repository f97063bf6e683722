"""grader.check's cell progress (``grader.notebook.print_cell``): rewritten in place on a terminal, plain
lines on a pipe or in a log."""

import os
import subprocess
import sys

PRINT_TWO_CELLS = """
from grader.models import CellProgress
from grader.notebook import print_cell
for index in (1, 2):
    print_cell(CellProgress(index=index, label=f"cell {index}", first_line="x = 1", state="running"))
    print_cell(CellProgress(index=index, label=f"cell {index}", first_line="x = 1", state="ok", seconds=0.5))
"""


def test_on_a_pipe_each_cell_is_one_plain_line():
    done = subprocess.run([sys.executable, "-c", PRINT_TWO_CELLS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "▸ cell 1 x = 1 0.5 s\n▸ cell 2 x = 1 0.5 s\n"


def test_on_a_terminal_the_running_line_is_rewritten_with_its_outcome():
    leader, follower = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-c", PRINT_TWO_CELLS], stdout=follower, stderr=subprocess.PIPE,
                              timeout=60)
        os.close(follower)
        assert done.returncode == 0, done.stderr
        written = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(leader)
    assert written.decode().replace("\r\n", "\n") == ("▸ cell 1 x = 1 …\r▸ cell 1 x = 1 0.5 s\n"
                                                      "▸ cell 2 x = 1 …\r▸ cell 2 x = 1 0.5 s\n")
