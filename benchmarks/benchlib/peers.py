"""nbgrader's autograde and otter-grader's `otter run` on the same hw2 notebooks, with hw2's checks.

Both peers get the same notebooks the grader gets (benchlib.notebooks), with the same 13 checks
(benchlib.peer_checks), in each peer's own form:

- nbgrader: a course folder with ``source/hw2/hw2.ipynb`` (a read-only cell with the helpers and
  the reference, one graded test cell per check, hidden checks inside ``### BEGIN HIDDEN TESTS``),
  ``nbgrader generate_assignment`` run once (untimed), and each student's notebook in
  ``submitted/<student>/hw2/hw2.ipynb`` as a student hands it in: their cells, then the released
  test cells. Timed: one ``nbgrader autograde hw2`` over them all (one process, notebooks one after
  another, each in a fresh kernel: nbgrader's design).
- otter: an autograder zip (``otter_config.json`` and ``tests/qN.py`` in otter's exception-based
  format, one test file per check), timed: ``otter run -a autograder.zip NOTEBOOK`` for each
  notebook, one after another (otter's command for grading without a container; ``otter grade``
  needs Docker).

Each peer runs the student's code and the tests in one process, so a submission can fake its
score (DESIGN.md); they are measured here for their speed only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

from benchlib import BenchError
from benchlib.accounting import CpuAccount
from benchlib.peer_checks import CHECKS, body, prelude

NBGRADER_CONFIG = '''c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = 60
c.ExecutePreprocessor.timeout = 60
'''


def peer_environment(python: Path) -> dict[str, str]:
    """The peer's venv first on PATH: nbgrader runs ``alembic`` and both start ``python3`` kernels by name."""
    return {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(python.parent.parent)}


def _meta(grade_id: str, grade: bool, points: float = 0.0) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": True, "schema_version": 3, "solution": False,
            "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def _nbgrader_test_cells(with_hidden: bool) -> list:
    from nbformat import v4

    cells = [v4.new_code_cell("# hw2 checks: helpers and the reference (read-only)\n" + prelude(),
                              metadata=_meta("hw2_prelude", False))]
    for check in CHECKS:
        name, points, hidden = check[0], check[1], check[2]
        code = "env = globals()\n" + body(check)
        if hidden:
            code = ("### BEGIN HIDDEN TESTS\n" + code + "\n### END HIDDEN TESTS") if with_hidden else ""
        cells.append(v4.new_code_cell(f"# check {name}\n" + code, metadata=_meta(f"test_{name}", True, points)))
    return cells


def _kernel_metadata(notebook) -> None:
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}


def make_nbgrader_course(root: Path, notebooks: list[Path], python: Path) -> list[str]:
    """The course folder, the assignment generated (untimed); returns the student ids."""
    import nbformat
    from nbformat import v4

    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root)))
    source = v4.new_notebook()
    _kernel_metadata(source)
    source.cells = [v4.new_markdown_cell("# hw2"), v4.new_code_cell("# your code here\nimport torch")]
    source.cells += _nbgrader_test_cells(with_hidden=True)
    (root / "source" / "hw2").mkdir(parents=True)
    nbformat.write(source, str(root / "source" / "hw2" / "hw2.ipynb"))
    done = subprocess.run([str(python.parent / "nbgrader"), "generate_assignment", "hw2", "--force"], cwd=root,
                          capture_output=True, text=True, timeout=300, env=peer_environment(python))
    if done.returncode != 0:
        raise BenchError(f"nbgrader generate_assignment failed: {done.stderr.strip().splitlines()[-1:]}")
    released = nbformat.read(str(root / "release" / "hw2" / "hw2.ipynb"), as_version=4)
    tests = [cell for cell in released.cells if "nbgrader" in cell.get("metadata", {})]
    students = []
    for path in notebooks:
        student = nbformat.read(str(path), as_version=4)
        _kernel_metadata(student)
        student.cells = student.cells + [nbformat.from_dict(json.loads(json.dumps(cell))) for cell in tests]
        folder = root / "submitted" / path.stem / "hw2"
        folder.mkdir(parents=True)
        nbformat.write(student, str(folder / "hw2.ipynb"))
        students.append(path.stem)
    return students


def run_nbgrader(workdir: Path, notebooks: list[Path], python: Path, timeout: float) -> dict:
    root = workdir / "nbgrader-course"
    students = make_nbgrader_course(root, notebooks, python)
    command = [str(python.parent / "nbgrader"), "autograde", "hw2", "--force"]
    with CpuAccount() as cpu:
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout,
                              env=peer_environment(python))
        wall = time.perf_counter() - started
    (workdir / "nbgrader-autograde.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0 and not (root / "autograded").is_dir():
        raise BenchError(f"nbgrader autograde exited {done.returncode}; see {workdir / 'nbgrader-autograde.log'}")
    scores = nbgrader_scores(root, python)
    return {"peer": "nbgrader", "command": " ".join(command), "n": len(students), "wall_s": wall,
            "per_notebook_s": wall / len(students), "cpu": cpu.as_dict(), "scores": scores,
            "exit_code": done.returncode}


def nbgrader_scores(root: Path, python: Path) -> dict[str, float]:
    script = ("import json, sys\nfrom nbgrader.api import Gradebook\n"
              "with Gradebook(sys.argv[1]) as gb:\n"
              "    print(json.dumps({s.student.id: s.score for s in gb.assignment_submissions('hw2')}))")
    done = subprocess.run([str(python), "-c", script, f"sqlite:///{root}/gradebook.db"], capture_output=True,
                          text=True, timeout=120, env=peer_environment(python))
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


OTTER_TEST = '''from otter.test_files import test_case

OK_FORMAT = False
name = {name!r}
points = {points!r}

{prelude_block}

@test_case(points={points!r}, hidden={hidden!r})
def test_{name}(env):
{body}
'''


def make_otter_zip(path: Path) -> Path:
    import textwrap

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("otter_config.json", json.dumps({"lang": "python", "variables": {}}))
        for number, check in enumerate(CHECKS, start=1):
            name, points, hidden = check[0], check[1], check[2]
            text = OTTER_TEST.format(name=name, points=points, hidden=hidden,
                                     prelude_block=prelude(), body=textwrap.indent(body(check), "    "))
            archive.writestr(f"tests/q{number:02d}_{name}.py", text)
    return path


def run_otter(workdir: Path, notebooks: list[Path], python: Path, timeout: float) -> dict:
    archive = make_otter_zip(workdir / "otter-autograder.zip")
    otter = str(python.parent / "otter")
    scores, failures, times = {}, [], []
    with CpuAccount() as cpu:
        started = time.perf_counter()
        for notebook in notebooks:
            output = workdir / "otter-out" / notebook.stem
            output.mkdir(parents=True)
            one = time.perf_counter()
            done = subprocess.run([otter, "run", "-a", str(archive), "-o", str(output), str(notebook)],
                                  capture_output=True, text=True, timeout=timeout, cwd=output,
                                  env=peer_environment(python))
            times.append(time.perf_counter() - one)
            results = output / "results.json"
            if results.is_file():
                scores[notebook.stem] = otter_score(json.loads(results.read_text()))
            else:
                failures.append(f"{notebook.stem}: exit {done.returncode}: "
                                f"{(done.stderr.strip().splitlines() or [''])[-1][:160]}")
        wall = time.perf_counter() - started
    return {"peer": "otter", "command": f"{otter} run -a {archive} -o OUT NOTEBOOK (one per notebook)",
            "n": len(notebooks), "wall_s": wall, "per_notebook_s": wall / len(notebooks),
            "median_notebook_s": sorted(times)[len(times) // 2], "cpu": cpu.as_dict(), "scores": scores,
            "failures": failures}


def otter_score(results: dict) -> float:
    tests = results.get("tests") or []
    if tests:
        return float(sum(test.get("score") or 0 for test in tests))
    return float(results.get("score") or 0)


def compare_scores(peer: dict, plan: dict[str, dict], total: float) -> list[str]:
    """Where the peer's score disagrees with what the notebook's kind should get (full/partial/zero)."""
    problems = []
    for name, item in plan.items():
        if name not in peer["scores"]:
            problems.append(f"{name} ({item['kind']}): no score")
            continue
        score = peer["scores"][name]
        got = "full" if abs(score - total) < 1e-6 else ("zero" if score == 0 else "partial")
        expected = item["expect"]
        if got != expected and not (expected == "partial" and got == "zero"):
            problems.append(f"{name} ({item['kind']}): {score:g}/{total:g}, expected {expected}")
    return problems


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
