"""The grader installed under /tmp costs per submission what it costs installed anywhere (issue 22).

Installed under /tmp, the Python install is bound into the sandbox's own /tmp tmpfs, and the
scrub after every submission used to walk it (tens of thousands of files, per submission). These
tests copy the project and its virtual environment under a /tmp folder (benchmarks/benchlib/install.py:
the venv hard-linked), run the same submissions through a real warm worker from each install, and
compare what the scrub looked at (``WarmWorkerHost.last_scrub_visited()``), then grade the same hw2
notebooks from both installs and compare the verdicts. Speed itself is the benchmarks' business.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, TEST_ASSIGNMENTS
from grader.sandbox.layers import detect_layers

sys.path.insert(0, str(REPO / "benchmarks"))
from benchlib import BenchError  # noqa: E402
from benchlib.install import Install, temporary_copy, this_checkout  # noqa: E402
from benchlib.notebooks import write_submissions  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None or not detect_layers().bwrap,
                                reason="needs a working bubblewrap: the /tmp install matters only inside its sandbox")

# Three submissions on one warm worker: each writes a different number of files into the sandbox's
# /tmp (and one a folder with files in it), so the scrub after each has that much more to remove.
WRITES = [0, 3, 7]
DRIVER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    import grader
    from grader.extract import extract_submission
    from grader.judge.proxy import StudentSession
    from grader.sandbox.host.warm_worker import WarmWorkerHost
    from grader.spec import load_assignment

    assignments, folder, writes = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    spec = load_assignment("toy", assignments)
    host = WarmWorkerHost(warm_optimizer=False, batch_warmups=False)
    host.start()
    visited = []
    try:
        for number, count in enumerate(writes):
            code = ("import os\\nbefore = sorted(os.listdir('/tmp'))\\n"
                    f"for i in range({count}):\\n"
                    "    open(f'/tmp/left-{i}', 'w').write('x')\\n"
                    f"if {count}:\\n"
                    "    os.makedirs('/tmp/left-folder/inner', exist_ok=True)\\n"
                    "    open('/tmp/left-folder/inner/file', 'w').write('x')\\n"
                    "def probe():\\n    return before")
            path = folder / f"s{number}.ipynb"
            nbformat.write(new_notebook(cells=[new_code_cell(code)]), str(path))
            session = StudentSession(host, extract_submission(path, spec), spec.limits, "cpu")
            try:
                session.start()
                assert not session.fatal, session.fatal
                listed = session.request({"op": "call", "name": "probe"}, ([], {}), what="probe()")
            finally:
                session.close()
            visited.append({"scrub_visited": host.last_scrub_visited(), "tmp_listing": listed})
    finally:
        host.close()
    print(json.dumps({"grader": os.path.dirname(grader.__file__), "runs": visited}))
""")


@pytest.fixture(scope="module")
def tmp_install():
    try:
        install, parent = temporary_copy(prefix="grader-test-install-")
    except BenchError as error:  # /tmp on another filesystem: hard links cannot reach it
        pytest.skip(f"cannot make a hard-linked copy of the venv under /tmp here: {error}")
    yield install
    shutil.rmtree(parent, ignore_errors=True)


def scrub_runs(install: Install, folder: Path) -> dict:
    folder.mkdir()
    # Landlock off, as in tests/test_isolation_per_submission.py: it refuses writes to /tmp itself,
    # and what is measured here is the scrub after a submission that did write there.
    environment = {**os.environ, "GRADER_NO_LANDLOCK": "1"}
    done = subprocess.run([str(install.python), "-c", DRIVER, str(TEST_ASSIGNMENTS), str(folder), json.dumps(WRITES)],
                          capture_output=True, text=True, cwd=install.root, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_tmp_install_imports_the_grader_from_its_copy(tmp_install):
    package = tmp_install.verify()
    assert package == tmp_install.root / "grader"
    assert str(package).startswith("/tmp/")
    assert this_checkout().verify() == REPO / "grader"


def test_the_scrub_after_a_submission_looks_at_the_same_entries_wherever_the_grader_is_installed(
        tmp_install, tmp_path):
    checkout = scrub_runs(this_checkout(), tmp_path / "checkout")
    copied = scrub_runs(tmp_install, tmp_path / "tmp")
    assert Path(copied["grader"]).is_relative_to(tmp_install.root)
    from_checkout = [run["scrub_visited"] for run in checkout["runs"]]
    from_tmp = [run["scrub_visited"] for run in copied["runs"]]
    # Each submission found /tmp clean at its start: what the one before it wrote was removed.
    for result in (checkout, copied):
        for run in result["runs"]:
            assert not [name for name in run["tmp_listing"] if name.startswith("left-")], run["tmp_listing"]
    # The scrub looks at each entry the submission left at the top (a folder is removed whole,
    # not walked) on top of what the sandbox's /tmp held at the start: one more per file written.
    for visits in (from_checkout, from_tmp):
        assert [count - visits[0] for count in visits] == [count + (1 if count else 0) - WRITES[0] for count in WRITES]
    # Installed under /tmp, the sandbox's /tmp holds the folders bubblewrap made for the install's
    # mount points, a handful, never the install's files (the venv alone holds tens of thousands).
    made_for_mounts = len(tmp_install.root.relative_to("/tmp").parts) + 2
    assert 0 <= from_tmp[0] - from_checkout[0] <= made_for_mounts, (from_checkout, from_tmp)
    assert max(from_tmp) < 100


def grade(install: Install, folder: Path, label: str, workdir: Path) -> list[dict]:
    out = workdir / f"{label}.json"
    done = subprocess.run(install.grader + ["grade", "hw2", str(folder), "--db", f"sqlite:///{workdir / label}.db",
                                            "--json", str(out), "--workers", "1"],
                          capture_output=True, text=True, cwd=install.root, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return sorted(json.loads(out.read_text()), key=lambda verdict: Path(verdict["submission"]).name)


def test_grades_from_the_tmp_install_equal_those_from_the_checkout(tmp_install, tmp_path):
    plan = write_submissions(tmp_path / "generated", 10)
    folder = tmp_path / "hw2"
    folder.mkdir()
    chosen = ["s0000", "s0002", "s0006", "s0009"]  # correct, correct (another style), wrong, crashing
    for name in chosen:
        shutil.copyfile(tmp_path / "generated" / f"{name}.ipynb", folder / f"{name}.ipynb")
    from_checkout = grade(this_checkout(), folder, "checkout", tmp_path)
    from_tmp = grade(tmp_install, folder, "tmp", tmp_path)

    def outcome(verdicts: list[dict]) -> list:
        return [(Path(v["submission"]).stem, v["status"], v["score"], v["max_score"],
                 [(check["name"], check["passed"]) for check in v.get("checks", [])]) for v in verdicts]

    assert outcome(from_tmp) == outcome(from_checkout)
    scores = {Path(v["submission"]).stem: v["score"] for v in from_checkout}
    assert scores["s0000"] == scores["s0002"] == 10
    assert 0 < scores["s0006"] < 10, plan["s0006"]
    assert [v["status"] for v in from_tmp] == ["graded"] * len(chosen)
