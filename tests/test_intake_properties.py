"""Property: whatever lands in a submissions folder, every file is exactly one row, and nothing crashes.

Generated folders hold valid notebooks with random cells, broken JSON, random bytes, outputs with
control characters, and names with random (also non-UTF-8) bytes; each folder is graded for real.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import TEST_ASSIGNMENTS, run_grader

SOURCES = st.one_of(
    st.sampled_from(["def double(x):\n    return x + x\n\ndef answer():\n    return 42\n", "raise ValueError('x')",
                     "print('\\x1b[2J\\x00 10/10')", "while True: pass", "%%writefile a.py\nx = 1", "!ls", "def f(:"]),
    st.text(max_size=60),
)
NAME_BYTES = st.binary(min_size=1, max_size=12).map(
    lambda raw: bytes(b for b in raw if b not in (0, ord("/"), ord("."))) or b"x")


def notebook_bytes(cells: list[str], output: str) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "source": source,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": output}]} for source in cells]}).encode()


FILES = st.one_of(
    st.builds(notebook_bytes, st.lists(SOURCES, max_size=4), st.text(max_size=40)),
    st.binary(max_size=200),  # broken JSON, random bytes
    st.just(b'{"cells": 5}'),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAME_BYTES, st.sampled_from([".ipynb", ".py"]), FILES), min_size=1, max_size=5,
                unique_by=lambda entry: entry[0] + entry[1].encode()))
def test_every_file_is_exactly_one_row_and_no_traceback(tmp_path_factory, entries):
    folder = tmp_path_factory.mktemp("subs")
    for name, suffix, content in entries:
        with open(os.path.join(os.fsencode(folder), name + suffix.encode()), "wb") as handle:
            handle.write(content)
    db = folder.parent / f"{folder.name}.db"
    result = run_grader("grade", "toy", str(folder), "--db", f"sqlite:///{db}", "--workers", "1",
                        "--assignments", str(TEST_ASSIGNMENTS), "--allow-unisolated", timeout=300)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as connection:
        paths = [row[0] for row in connection.execute("select path from submissions")]
        runs = connection.execute("select count(*) from runs").fetchone()[0]
    assert runs == len(entries) and len(set(paths)) == len(entries)
    assert all(Path(path).parent == Path(str(folder)) for path in paths)
