"""Hostile notebooks against the whole engine, graded in one batch with correct ones.

``tests/hostile/*.ipynb`` are stubs for the toy assignment (``double(x)`` -> ``2 * x``,
``answer()`` -> 42; 4 points; 3 s per cell and per call, 30 s per submission) whose honest code
scores 0; each tries to cheat, escape, leak or stall (its first markdown cell says how). Two
more are generated here into the temporary folder: a 100 MB notebook and one whose JSON is
nested 100 000 deep. The batch also holds three correct notebooks: one graded right after a
notebook that plants modules in the sandbox's ``/tmp`` (it imports ``matplotlib`` the way
students do), one in the middle and one at the very end.

These tests are the judge of the judge. The batch fixture prepares, on the host:

* a copy of the toy assignment laid out like the repository (``<tmp>/repo``), whose reference
  solution and checks carry a canary token, so a leak of either shows up as text;
* canary files (``<tmp>/canary``) that must be neither read (atime), changed nor removed, and
  paths next to the notebooks, in the copy, in ``/work/main`` and in the host's ``/tmp`` that
  must not be created;
* a TCP listener on every host address and an abstract Unix socket that must get no connection;
* ``GRADER_TEST_SECRET`` in the environment of the grading process, which must appear in no
  verdict field and nowhere in the database file.

The notebooks learn those paths from placeholders (``@@REPO@@``, ``@@CANARY_DIR@@``,
``@@SUBMISSIONS_DIR@@``, ``@@LISTEN_PORT@@``, ``@@ABSTRACT_SOCKET@@``) filled in when they are
copied, so they attack with full knowledge of the layout. A notebook whose attack step works
prints ``HOSTILE-EVIDENCE[case]: ...``; any such line in a verdict is reported.

The batch runs in a child process (``grade_submissions`` with workers=1, one SQLite file), so
the secret is in a real process environment and a batch that hangs can be stopped. If a
submission crashes the whole batch, the crash is recorded, that submission is set aside and the
rest are graded again in a further pass of the same batch, so one run reports every problem.
While it runs, a sampler records the process tree: the largest number of processes in the
sandbox, the sandbox's memory (PSS of its processes plus what its RAM-backed ``/tmp`` holds)
and the grading process's RSS.

Bounds (toy limits: 3 s per cell and call, 30 s wall, 2048 MB memory, 64 processes, 64 KB of
output per stream): every submission's verdict within wall + 10 s; one sandbox never over
64 processes (+3 for the inner bwrap, the fork server and the child); the sandbox's memory (PSS
of its processes plus its RAM-backed /tmp) never over 3 GiB (the 2048 MB limit plus 1 GiB for
the warm worker, ~0.3 GiB, and slack); each output stream within 6 x 64 KB (one per respawn)
+ 1 KB; the whole batch within ``BATCH_SECONDS``.

Measured on the development machine (2 CPUs, 23 GB, other test runs sharing the CPUs): with the
engine as of this test's writing the batch took 238-301 s. About 170 s of that are three
stalls the test reports (fork server SIGSTOPped: ~65 s; a frame drip-fed one byte every 4 s:
~48 s; half a frame sent at 27 s: ~57 s); before the judge was hardened against forged frames,
four batch crashes added ~15 s of restarts. The other cases, which stop at their 3 s limits
(endless loops, floods, bombs, respawns) or finish at once, take 70-95 s together, start-up
included. ``BATCH_SECONDS`` = 160 s is that plus ~70% for slower or busier machines. The run is
stopped outright after ``HARD_LIMIT_SECONDS`` (900 s).

The batch runs once, in a module-scoped fixture that records everything; then one test per
notebook (each hostile one scores 0, reports no success, leaks nothing into its verdict, stays
within its time and output bounds; each correct one gets full marks) and one test per property of
the whole batch (no crash, nothing in the database, listeners, canary, host files, survivors,
process, memory and time bounds). A failure names its case; every problem is also written to
``hostile_report.json`` in the fixture's temporary folder.

Run: ``python -m pytest -q tests/test_hostile.py`` (``-s`` prints the report); it is marked
``slow``. ``-k correct_last`` still grades the whole batch (the cases share it). The notebooks were generated once by a script kept outside the repository; edit
them as notebooks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.sandbox.host.warm_worker import WARM_WORKER_MODULE
from grader.sandbox.proctree import descendants_of, kill_tree, process_table, read_proc, stat_fields

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"
TOY_DATA = Path(__file__).resolve().parent / "data"

WALL_SECONDS = 30          # the toy assignment's limits (tests/data/assignments/toy/assignment.toml)
PROCESS_LIMIT = 64
OUTPUT_BYTES = 64 << 10
VERDICT_SLACK_SECONDS = 10
SANDBOX_MEMORY_BOUND = 3 << 30
BATCH_SECONDS = 160
HARD_LIMIT_SECONDS = 900
DAEMON_WAIT_SECONDS = 4

SECRET_ENV = "GRADER_TEST_SECRET"
EVIDENCE = re.compile(r"HOSTILE-EVIDENCE\[(\w+)\]: ([^\n]{0,300})")
PROCESS_MARKERS = ("HOSTILE_DAEMON_MARKER", "hostile-daemon", "hostile_fill_", "HOSTILE-EVIDENCE")

CORRECT = "import torch\n\n\ndef double(x):\n    return x + x\n\n\ndef answer():\n    return 42\n"
CORRECT_WITH_IMPORTS = ("import math\nimport numpy as np\nimport torch\ntry:\n    import matplotlib.pyplot as plt\n"
                        "except ImportError:\n    plt = None\n")
# Graded first, in this order: the planter, its victim, the looter (they share one warm worker).
LEADING = ["plant_import_shadow", "correct_imports", "loot_from_shared_tmp"]
MALFORMED = {"malformed_invalid_json", "malformed_truncated", "malformed_not_utf8", "malformed_empty",
             "malformed_huge_100mb", "malformed_deep_nesting"}
CORRECT_NAMES = ("correct_imports", "correct_middle", "correct_last")
# What hostile notebooks try to create on the host (in every folder of host_target_dirs()).
TARGET_NAMES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini", "hostile_results.json",
                "hostile_written.txt", "hostile_daemon.txt", "hostile_unpickled.txt", "HOSTILE_CANARY",
                "results.pkl", "link_to_canary")

RUNNER = r'''
import json, os, re, sys, time, traceback
from pathlib import Path

from grader.extract import ExtractionError, extract_submission
from grader.api import grade_submissions
from grader.spec import load_assignment

config = json.loads(Path(sys.argv[1]).read_text())
events = open(config["events"], "a", buffering=1)


def emit(kind, **fields):
    events.write(json.dumps({"kind": kind, "t": time.monotonic(), **fields}) + "\n")
    events.flush()


spec = load_assignment("toy", config["assignments"])
remaining, number = list(config["paths"]), 0
emit("start")
while remaining:
    number += 1
    graded = []

    def on_verdict(verdict, number=number, graded=graded):
        graded.append(verdict.submission)
        emit("verdict", number=number, verdict=json.loads(verdict.model_dump_json()))

    emit("pass", number=number, paths=remaining)
    log_path = Path(config["events"]).with_name(f"pass{number}.log")
    saved = [os.dup(1), os.dup(2)]
    with open(log_path, "wb") as log:  # pytest prints an INTERNALERROR's cause here
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    try:
        grade_submissions("toy", remaining, db_url=config["db_url"], assignments_dir=config["assignments"],
                          regrade=True, on_verdict=on_verdict)
        remaining = []
    except BaseException as error:
        sys.stdout.flush()
        sys.stderr.flush()
        causes = re.findall(r"^INTERNALERROR> ([\w.]+(?:Error|Exception)\b.*)$", log_path.read_text(errors="replace"),
                            re.M)
        culprits, phase = [], "extraction"
        for path in remaining:
            if path in graded:
                continue
            try:
                extract_submission(Path(path), spec)
            except ExtractionError:
                pass
            except BaseException:
                culprits.append(path)
        if not culprits:
            phase = "judging"
            culprits = [path for path in remaining if path not in graded][:1]
        emit("crash", number=number, phase=phase, culprits=culprits, error=f"{type(error).__name__}: {error}"[:500],
             cause=(causes[-1] if causes else "")[:300], traceback=traceback.format_exc()[-6000:])
        remaining = [path for path in remaining if path not in graded and path not in culprits]
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
emit("done")
'''


# --- the host side's traps ------------------------------------------------------------------------


class Listener:
    """A TCP listener on every host address and an abstract Unix socket; records who connects."""

    def __init__(self, abstract_name: str):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(64)
        self.port = self.tcp.getsockname()[1]
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind("\0" + abstract_name)
        self.unix.listen(64)
        self.connections: list[str] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            ready, _, _ = select.select([self.tcp, self.unix], [], [], 0.2)
            for server in ready:
                try:
                    connection, peer = server.accept()
                except OSError:
                    continue
                connection.settimeout(0.5)
                try:
                    data = connection.recv(200)
                except OSError:
                    data = b""
                connection.close()
                self.connections.append(f"{'tcp' if server is self.tcp else 'unix'} from {peer!r}: {data!r}")

    def close(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)
        self.tcp.close()
        self.unix.close()


def status_kib(pid: int, field: str, name: str = "status") -> int:
    for line in read_proc(pid, name).decode(errors="replace").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class TreeSampler:
    """Samples the grading process's tree: sandbox processes, sandbox memory, trusted-side RSS."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.root: int | None = None
        self.stopping = False
        self.samples = 0
        self.peak_sandbox_processes = 0
        self.peak_sandbox_pss = 0
        self.peak_sandbox_tmpfs = 0
        self.peak_sandbox_memory = 0
        self.peak_tree_rss = 0
        self.peak_runner_rss = 0
        self.peak_at = 0.0
        self.started = time.monotonic()
        self.seen: dict[int, tuple[str, str]] = {}  # pid -> (start time, what) of every process of the batch
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, root: int) -> None:
        self.root = root
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while not self.stopping:
            try:
                self.sample()
            except Exception:  # a process vanished mid-read: take the next sample
                pass
            time.sleep(self.interval)

    def sample(self) -> None:
        assert self.root is not None
        table = process_table()
        tree = descendants_of(self.root, table)
        for pid in tree:
            if pid not in self.seen:
                self.seen[pid] = (start_time(pid), f"{table[pid][1]} {read_proc(pid, 'cmdline')[:120]!r}")
        outer = [pid for pid in tree if table[pid][1] == "bwrap" and table[table[pid][0]][1] != "bwrap"]
        sandbox, largest = set(), 0
        for pid in outer:  # one outer bwrap per warm worker: its tree is one sandbox
            inside = descendants_of(pid, table)
            largest = max(largest, len(inside))
            sandbox.update(inside)
        servers = [pid for pid in sandbox if table.get(pid, (0, ""))[1] != "bwrap"
                   and WARM_WORKER_MODULE.encode() in read_proc(pid, "cmdline")
                   and table.get(table[pid][0], (0, ""))[1] == "bwrap"]
        pss = sum(status_kib(pid, "Pss", "smaps_rollup") for pid in sandbox) << 10
        tmpfs = 0
        for pid in servers:
            try:
                stats = os.statvfs(f"/proc/{pid}/root/tmp")
                tmpfs += (stats.f_blocks - stats.f_bfree) * stats.f_frsize
            except OSError:
                pass
        self.samples += 1
        self.peak_sandbox_processes = max(self.peak_sandbox_processes, largest)
        self.peak_sandbox_pss = max(self.peak_sandbox_pss, pss)
        self.peak_sandbox_tmpfs = max(self.peak_sandbox_tmpfs, tmpfs)
        if pss + tmpfs > self.peak_sandbox_memory:
            self.peak_sandbox_memory = pss + tmpfs
            self.peak_at = time.monotonic() - self.started
        self.peak_tree_rss = max(self.peak_tree_rss, sum(status_kib(pid, "VmRSS") for pid in [self.root, *tree]) << 10)
        self.peak_runner_rss = max(self.peak_runner_rss, status_kib(self.root, "VmRSS") << 10)

    def summary(self) -> dict:
        return {"samples": self.samples, "peak_sandbox_processes": self.peak_sandbox_processes,
                "peak_sandbox_pss_mib": self.peak_sandbox_pss >> 20,
                "peak_sandbox_tmpfs_mib": self.peak_sandbox_tmpfs >> 20,
                "peak_sandbox_memory_mib": self.peak_sandbox_memory >> 20,
                "peak_sandbox_memory_at_s": round(self.peak_at, 1),
                "peak_tree_rss_mib": self.peak_tree_rss >> 20, "peak_runner_rss_mib": self.peak_runner_rss >> 20}


def start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (with the state), so that a reused pid is not taken for a survivor."""
    fields = stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""


def is_zombie(pid: int) -> bool:
    fields = stat_fields(pid)
    return not fields or fields[0] in ("Z", "X")


def digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


# --- the batch ------------------------------------------------------------------------------------


def mirror_toy(root: Path, token: str) -> Path:
    """The toy assignment laid out like the repository, its reference and checks carrying canaries."""
    assignments = root / "tests" / "data" / "assignments"
    shutil.copytree(TOY_DATA / "assignments" / "toy", assignments / "toy")
    references = root / "tests" / "data" / "reference_solutions"
    references.mkdir(parents=True)
    shutil.copy(TOY_DATA / "reference_solutions" / "toy.py", references / "toy.py")
    with open(references / "toy.py", "a") as handle:
        handle.write(f"\n# CANARY-REFERENCE-{token}\n")
    for check in sorted((assignments / "toy" / "checks").rglob("test_*.py")):
        with open(check, "a") as handle:
            handle.write(f"\n# CANARY-CHECKS-{token}\n")
    return assignments


def materialize(batch: Path, replacements: dict[str, str]) -> list[str]:
    names = []
    for source in sorted(HOSTILE_DIR.glob("*.ipynb")):
        data = source.read_bytes()
        for placeholder, value in replacements.items():
            data = data.replace(placeholder.encode(), value.encode())
        (batch / source.name).write_bytes(data)
        names.append(source.stem)
    # 100 MB: a notebook whose author forgot to clear a plot's output.
    huge = new_notebook(cells=[new_markdown_cell("# Homework"), new_code_cell(
        "def double(x):\n    raise NotImplementedError\n\n\ndef answer():\n    raise NotImplementedError\n")])
    huge.cells[1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo" * (10 << 20)})]
    nbformat.write(huge, str(batch / "malformed_huge_100mb.ipynb"))
    names.append("malformed_huge_100mb")
    (batch / "malformed_deep_nesting.ipynb").write_text(
        '{"cells": ' + "[" * 100_000 + "]" * 100_000 + ', "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    names.append("malformed_deep_nesting")
    for name, cells in [("correct_imports", [CORRECT_WITH_IMPORTS, CORRECT]), ("correct_middle", [CORRECT]),
                        ("correct_last", ["%matplotlib inline", CORRECT])]:
        notebook = new_notebook(cells=[new_markdown_cell("# Homework")] + [new_code_cell(c) for c in cells])
        nbformat.write(notebook, str(batch / f"{name}.ipynb"))
    return names


def batch_order(hostile: list[str]) -> list[str]:
    rest = [name for name in hostile if name not in LEADING]
    middle = len(rest) // 2
    return LEADING + rest[:middle] + ["correct_middle"] + rest[middle:] + ["correct_last"]


def host_target_dirs(tmp: Path, repo_copy: Path, canary: Path, batch: Path) -> list[Path]:
    toy = repo_copy / "tests" / "data" / "assignments" / "toy"
    return [canary, batch, tmp, repo_copy, repo_copy / "tests", toy / "checks" / "public", toy / "checks" / "hidden",
            repo_copy / "tests" / "data" / "reference_solutions", REPO, HOSTILE_DIR,
            Path("/tmp"), Path.home()]


def verdict_text(verdict: dict) -> str:
    parts = [verdict.get("message", ""), verdict.get("stdout", ""), verdict.get("stderr", "")]
    parts += [check.get("message", "") for check in verdict.get("checks", [])]
    parts += [json.dumps(cell.get("error")) for cell in verdict.get("cells", [])]
    return "\n".join(parts)


def database_text(db_path: Path) -> str:
    text = "\n".join(sqlite3.connect(db_path).iterdump())
    for suffix in ("", "-wal", "-shm"):
        raw = Path(str(db_path) + suffix)
        if raw.exists():
            text += "\n" + raw.read_bytes().decode("latin-1")
    return text


def surviving_processes(own: set[int], seen: dict[int, tuple[str, str]], secret: str) -> list[str]:
    """Processes of the batch still alive, and any process anywhere that carries a hostile marker or the secret."""
    found = []
    for pid, (ppid, comm) in process_table().items():
        if pid in own or is_zombie(pid):
            continue
        cmdline = read_proc(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace")
        environ = read_proc(pid, "environ").decode(errors="replace")
        reasons = [marker for marker in PROCESS_MARKERS if marker in cmdline or marker in comm]
        if secret in environ:
            reasons.append("the secret in its environment")
        if pid in seen and seen[pid][0] == start_time(pid):
            reasons.append("it belongs to the batch's process tree")
        if reasons:
            found.append(f"pid {pid} ({comm}, parent {ppid}): {cmdline[:200]!r}: {', '.join(reasons)}")
    return found


# --- the batch, run once for the module ------------------------------------------------------------

HOSTILE_NAMES = sorted([path.stem for path in HOSTILE_DIR.glob("*.ipynb")]
                       + ["malformed_huge_100mb", "malformed_deep_nesting"])


@dataclass
class HostileBatch:
    """Everything the batch left behind, recorded by the fixture; each test judges one part of it."""

    token: str
    secret: str
    order: list[str]
    returncode: int | None
    hard_killed: bool
    runner_log: str
    elapsed: float
    verdicts: dict[str, dict]
    crashes: list[dict]
    passes: int
    database_text: str
    connections_during: list[str]
    canary_atime_moved_to: float | None
    # per moment ("right after the batch", "4 s after the batch"): what was found on the host then
    host_changes: dict[str, list[str]] = field(default_factory=dict)
    survivors: dict[str, list[str]] = field(default_factory=dict)
    late_connections: dict[str, list[str]] = field(default_factory=dict)
    ps_rows: dict[str, list[str]] = field(default_factory=dict)
    usage: dict = field(default_factory=dict)
    peak_sandbox_memory: int = 0
    report_path: Path | None = None

    def leaks(self) -> dict[str, str]:
        return {"the secret environment variable": self.secret,
                "the canary file's content": f"CANARY-FILE-{self.token}",
                "the reference solution": f"CANARY-REFERENCE-{self.token}",
                "the checks' source": f"CANARY-CHECKS-{self.token}"}


def crash_text(event: dict) -> str:
    names = [Path(p).stem for p in event["culprits"]]
    last = event["traceback"].strip().splitlines()[-1] if event["traceback"].strip() else ""
    cause = event.get("cause") or last
    return (f"{', '.join(names)} crashed the whole batch while {event['phase']} (pass {event['number']}): "
            f"{event['error']} [{cause}]")


def crashes_caused_by(batch: HostileBatch, name: str) -> list[str]:
    return [crash_text(event) for event in batch.crashes if name in [Path(p).stem for p in event["culprits"]]]


def verdict_leaks(batch: HostileBatch, name: str) -> list[str]:
    text = json.dumps(batch.verdicts.get(name, {}))
    return [f"{name}: its verdict contains {what}" for what, needle in batch.leaks().items() if needle in text]


def hostile_problems(batch: HostileBatch, name: str) -> list[str]:
    """What is wrong with one hostile notebook's outcome: it must score 0 and reach nothing."""
    problems = crashes_caused_by(batch, name)
    verdict = batch.verdicts.get(name)
    if verdict is None:
        return problems + [f"{name}: no verdict"]
    if verdict["score"] != 0:
        passed = [check["name"] for check in verdict["checks"] if check["passed"]]
        problems.append(f"{name} (hostile) scored {verdict['score']}/{verdict['max_score']}; passed {passed}")
    if name in MALFORMED and verdict["status"] != "error":
        problems.append(f"{name} (malformed) has status {verdict['status']}, expected error")
    for what in dict.fromkeys(what for _, what in EVIDENCE.findall(verdict_text(verdict))):
        problems.append(f"{name}: the notebook reports success: {what}")
    if verdict["duration"] > WALL_SECONDS + VERDICT_SLACK_SECONDS:
        problems.append(f"{name} took {verdict['duration']:.1f} s, over the {WALL_SECONDS} s wall limit "
                        f"(+{VERDICT_SLACK_SECONDS} s slack)")
    for stream in ("stdout", "stderr"):
        if len(verdict[stream]) > 6 * OUTPUT_BYTES + 1024:
            problems.append(f"{name}: {len(verdict[stream])} characters of {stream} were kept")
    return problems + verdict_leaks(batch, name)


def correct_problems(batch: HostileBatch, name: str) -> list[str]:
    """A correct notebook, wherever it sits in the batch, gets full marks."""
    problems = crashes_caused_by(batch, name)
    verdict = batch.verdicts.get(name)
    if verdict is None:
        return problems + [f"{name}: no verdict"]
    if verdict["status"] != "graded" or verdict["score"] != 4 or verdict["max_score"] != 4:
        problems.append(f"{name} (correct) got {verdict['status']} {verdict['score']}/{verdict['max_score']}: "
                        f"{verdict['message'][:200]} {[c['message'][:150] for c in verdict['checks']]}")
    return problems + verdict_leaks(batch, name)


def process_problems(batch: HostileBatch) -> list[str]:
    problems = []
    if batch.hard_killed:
        problems.append(f"the batch did not finish within {HARD_LIMIT_SECONDS} s and was killed")
    if batch.returncode != 0:
        problems.append(f"the grading process exited with {batch.returncode}: {batch.runner_log[-2000:]}")
    return problems


def crash_problems(batch: HostileBatch) -> list[str]:
    problems = [crash_text(event) for event in batch.crashes]
    if batch.passes > 1:
        problems.append(f"the batch needed {batch.passes} passes (each crash stopped it; the rest were graded again)")
    return problems


def database_problems(batch: HostileBatch) -> list[str]:
    return [f"the database contains {what}" for what, needle in batch.leaks().items() if needle in batch.database_text]


def listener_problems(batch: HostileBatch) -> list[str]:
    problems = [f"the host's listeners were reached: {batch.connections_during}"] if batch.connections_during else []
    return problems + [f"the host's listeners were reached {when}: {connections}"
                       for when, connections in batch.late_connections.items() if connections]


def canary_read_problems(batch: HostileBatch) -> list[str]:
    if batch.canary_atime_moved_to is None:
        return []
    return [f"canary_secret.txt was read during the batch (atime moved to {time.ctime(batch.canary_atime_moved_to)})"]


def host_file_problems(batch: HostileBatch) -> list[str]:
    return [problem for problems in batch.host_changes.values() for problem in problems]


def survivor_problems(batch: HostileBatch) -> list[str]:
    return ([f"process alive {when}: {line}" for when, lines in batch.survivors.items() for line in lines]
            + [f"ps {when}: {row}" for when, rows in batch.ps_rows.items() for row in rows])


def process_count_problems(batch: HostileBatch) -> list[str]:
    if batch.usage["peak_sandbox_processes"] > PROCESS_LIMIT + 3:
        return [f"the sandbox held {batch.usage['peak_sandbox_processes']} processes at once "
                f"(limit {PROCESS_LIMIT} + bwrap and the fork server)"]
    return []


def memory_problems(batch: HostileBatch) -> list[str]:
    if batch.peak_sandbox_memory > SANDBOX_MEMORY_BOUND:
        return [f"the sandbox used {batch.usage['peak_sandbox_memory_mib']} MiB (PSS "
                f"{batch.usage['peak_sandbox_pss_mib']} + /tmp {batch.usage['peak_sandbox_tmpfs_mib']} at their "
                f"peaks), over {SANDBOX_MEMORY_BOUND >> 20} MiB"]
    return []


def duration_problems(batch: HostileBatch) -> list[str]:
    return [f"the batch took {batch.elapsed:.0f} s, over its {BATCH_SECONDS} s bound"] if batch.elapsed > BATCH_SECONDS \
        else []


BATCH_CHECKS = [process_problems, crash_problems, database_problems, listener_problems, canary_read_problems,
                host_file_problems, survivor_problems, process_count_problems, memory_problems, duration_problems]


def every_problem(batch: HostileBatch) -> list[str]:
    problems = [problem for check in BATCH_CHECKS for problem in check(batch)]
    for name in batch.order:
        problems += correct_problems(batch, name) if name in CORRECT_NAMES else hostile_problems(batch, name)
    return list(dict.fromkeys(problems))


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    """Grades every hostile notebook with the correct ones in one batch, and records what happened."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    token = secrets.token_hex(12)
    secret = f"SECRET-{secrets.token_hex(16)}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(SECRET_ENV, secret)
        yield run_hostile_batch(tmp_path, token, secret)


def run_hostile_batch(tmp_path: Path, token: str, secret: str) -> HostileBatch:
    repo_copy = tmp_path / "repo"
    assignments = mirror_toy(repo_copy, token)
    canary = tmp_path / "canary"
    canary.mkdir()
    canary_secret, canary_keep = canary / "canary_secret.txt", canary / "canary_keep.txt"
    canary_secret.write_text(f"CANARY-FILE-{token}\n")
    canary_keep.write_text("this file must still be here after the batch\n")
    protected = {path: digest(path) for path in [canary_secret, canary_keep, *sorted(repo_copy.rglob("*.py")),
                                                 *sorted(HOSTILE_DIR.glob("*.ipynb"))]}
    old = 946684800  # 2000-01-01: any read now moves atime (relatime updates an atime older than a day)
    for path in (canary_secret, canary_keep):
        os.utime(path, (old, old))
    batch = tmp_path / "batch"
    batch.mkdir()
    listener = Listener(f"grader-hostile-{token}")
    hostile = materialize(batch, {"@@REPO@@": str(repo_copy), "@@CANARY_DIR@@": str(canary),
                                  "@@SUBMISSIONS_DIR@@": str(batch), "@@LISTEN_PORT@@": str(listener.port),
                                  "@@ABSTRACT_SOCKET@@": f"grader-hostile-{token}"})
    assert sorted(hostile) == HOSTILE_NAMES  # the parametrisation covers every notebook of the batch
    order = batch_order(hostile)
    paths = [str(batch / f"{name}.ipynb") for name in order]
    targets = [folder / name for folder in host_target_dirs(tmp_path, repo_copy, canary, batch)
               for name in TARGET_NAMES]
    targets_before = {path: digest(path) for path in targets}

    db_path = tmp_path / "grades.db"
    events_path = tmp_path / "events.jsonl"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"paths": paths, "db_url": f"sqlite:///{db_path}", "assignments": str(assignments),
                                  "events": str(events_path)}))
    runner = tmp_path / "run_batch.py"
    runner.write_text(RUNNER)
    own = {os.getpid()}

    sampler = TreeSampler()
    hard_killed = False
    started = time.monotonic()
    with open(tmp_path / "runner.log", "wb") as log:
        process = subprocess.Popen([sys.executable, str(runner), str(config)], cwd=tmp_path, stdout=log,
                                   stderr=subprocess.STDOUT, env=dict(os.environ))
        own.add(process.pid)
        sampler.start(process.pid)
        try:
            process.wait(timeout=HARD_LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            hard_killed = True
            kill_tree(process.pid)
            process.wait()
    elapsed = time.monotonic() - started
    sampler.stop()
    (batch / "malformed_huge_100mb.ipynb").unlink(missing_ok=True)  # 115 MB: not kept with pytest's last runs
    connections_during = list(listener.connections)

    # --- what the batch produced ---
    events = [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()] \
        if events_path.exists() else []
    verdicts = {Path(event["verdict"]["submission"]).stem: event["verdict"]
                for event in events if event["kind"] == "verdict"}
    atime = canary_secret.stat().st_atime
    result = HostileBatch(
        token=token, secret=secret, order=order, returncode=process.returncode, hard_killed=hard_killed,
        runner_log=(tmp_path / "runner.log").read_text(errors="replace"), elapsed=elapsed, verdicts=verdicts,
        crashes=[event for event in events if event["kind"] == "crash"],
        passes=sum(1 for event in events if event["kind"] == "pass"),
        database_text=database_text(db_path) if db_path.exists() else "", connections_during=connections_during,
        canary_atime_moved_to=None if atime == old else atime)

    # --- the host, right after the batch and once more when a daemon would have acted ---
    def check_host(when: str) -> None:
        changes = [f"{path} was changed or removed ({when})" for path, was in protected.items() if digest(path) != was]
        for path, was in targets_before.items():
            if digest(path) != was:
                changes.append(f"{path} was {'created' if was is None else 'changed'} on the host ({when})")
        result.host_changes[when] = changes
        result.survivors[when] = surviving_processes(own, sampler.seen, secret)
        result.late_connections[when] = list(listener.connections) if listener.connections != connections_during \
            else []
        listing = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
        result.ps_rows[when] = []
        for row in listing.splitlines():
            pid, stat, args = (row.split(None, 2) + ["", ""])[:3]
            if int(pid) not in own and not stat.startswith("Z") and any(m in args for m in PROCESS_MARKERS):
                result.ps_rows[when].append(row.strip()[:200])

    check_host("right after the batch")
    time.sleep(DAEMON_WAIT_SECONDS)
    check_host(f"{DAEMON_WAIT_SECONDS} s after the batch")
    listener.close()
    for path, was in targets_before.items():  # never leave what a hostile notebook managed to write
        if was is None and path.is_file() and digest(path) is not None:
            path.unlink()

    result.usage = sampler.summary()
    result.peak_sandbox_memory = sampler.peak_sandbox_memory
    result.report_path = tmp_path / "hostile_report.json"
    report = {"elapsed_s": round(elapsed, 1), "passes": result.passes, "usage": result.usage,
              "verdicts": {name: {"status": v["status"], "score": v["score"], "duration": round(v["duration"], 1),
                                  "message": v["message"][:160],
                                  "cells": [f"{c['index']}:{c['status']}" for c in v["cells"] if c["status"] != "ok"],
                                  "checks": [c["message"][:120] for c in v["checks"] if not c["passed"]][:4]}
                           for name, v in verdicts.items()},
              "problems": every_problem(result)}
    result.report_path.write_text(json.dumps(report, indent=2))
    print(f"\nhostile batch: {elapsed:.1f} s, {result.passes} pass(es), {len(verdicts)} verdicts; usage {result.usage}")
    for name in order:
        v = verdicts.get(name)
        print(f"  {name:28} " + (f"{v['status']:6} {v['score']:g}/{v['max_score']:g} {v['duration']:6.1f}s "
                                 f"{v['message'][:80]}" if v else "no verdict"))
    return result


def explain(problems: list[str], batch: HostileBatch) -> str:
    return f"{len(problems)} problems (report: {batch.report_path}):\n" + "\n".join(f"- {p}" for p in problems)


# --- one test per notebook -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_notebook_scores_nothing_and_reaches_nothing(hostile_batch, name):
    problems = hostile_problems(hostile_batch, name)
    assert not problems, explain(problems, hostile_batch)


@pytest.mark.parametrize("name", CORRECT_NAMES)
def test_correct_notebook_in_the_batch_gets_full_marks(hostile_batch, name):
    problems = correct_problems(hostile_batch, name)
    assert not problems, explain(problems, hostile_batch)


# --- one test per property of the whole batch ----------------------------------------------------------

BATCH_PROPERTIES = {
    "the grading process finishes on its own": process_problems,
    "no submission crashes the batch": crash_problems,
    "the database holds no secret, canary, reference or checks": database_problems,
    "the host's listeners are never reached": listener_problems,
    "the canary file is never read": canary_read_problems,
    "no file on the host is created, changed or removed": host_file_problems,
    "no process of the batch survives it": survivor_problems,
    "the sandbox stays within its process limit": process_count_problems,
    "the sandbox stays within its memory bound": memory_problems,
    "the batch finishes within its time bound": duration_problems,
}


@pytest.mark.parametrize("property_name", sorted(BATCH_PROPERTIES))
def test_the_whole_batch(hostile_batch, property_name):
    problems = BATCH_PROPERTIES[property_name](hostile_batch)
    assert not problems, explain(problems, hostile_batch)
