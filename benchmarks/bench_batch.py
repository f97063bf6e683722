"""Benchmark `grader grade` on a batch of generated hw2 submissions.

Run from anywhere with the project's virtual environment active:

    python benchmarks/bench_batch.py --n 200 --flatness --out bench.json

What one run does
-----------------
1. Generates N hw2 notebooks (nbformat) into a temporary folder, in a fixed repeating
   pattern of 10 so that every prefix of the batch has the same mix:
   6 correct (four student styles), 3 wrong (softmax over dim 0, no max-subtraction,
   missing bias, sigmoid in predict_proba, a .float() cast, an overflowing sigmoid) and
   1 crashing (a scratch cell that raises, a function that raises, a syntax error in the
   cell of definitions, a cell that ends the process with os._exit). Every notebook
   carries its own index in a comment, so no two have the same code.
2. Times, in wall seconds per submission:
   (a) `grader grade hw2 DIR --db <fresh sqlite> --regrade` with the default workers
       (one per core);
   (b) the same with `--workers 1`;
   (c) the naive floor: one fresh `python -c "import torch"` process per submission,
       run min(N, 20) times one after another and scaled per submission;
   and prints the ratios (c)/(a) and (b)/(a). CPU per submission counts the whole process
   tree of (a) and (b), sandboxes included, through a cpuacct cgroup where one can be made
   (root, cgroup v1); elsewhere through getrusage, which misses what runs inside bubblewrap.
3. Estimates the per-submission overhead beyond the student's own compute: a separate
   fresh Python process (the benchmark itself never imports torch, so it shares no pages
   with the grader) runs every hw2 check function in-process with the reference solution
   standing in for the student (no sandbox, no pytest, no IPC, one torch thread like the
   sandbox), and also executes the code cells of one generated notebook. Overhead is the
   grader's per-submission time minus that in-process cost; see the printed "method".
4. Runs (a) once more, untimed, sampling every --interval seconds the sum of PSS (`Pss:` of
   /proc/PID/smaps_rollup) over the grader process and all its descendants (reading
   smaps_rollup walks a process's page tables under its memory lock, so the timed runs
   are never sampled), and reports
   the peak in MB, with a breakdown by role at the peak and the peak in each quarter of
   the run. With --flatness it also runs (a) on the first --flatness-n (default 50)
   notebooks and compares the two peaks.
5. Prints a Markdown table; --out FILE also writes every number as JSON.

Options
-------
  --n N              submissions to generate and grade (default 200)
  --workers W        the "default workers" run (a) passes nothing unless W is given
                     (default: nothing, i.e. the grader's own default, one per core)
  --naive-n K        fresh `import torch` processes to time (default min(N, 20))
  --repeats R        rounds of the in-process reference timing (default 20)
  --interval S       PSS sampling period in seconds (default 0.1)
  --flatness         also measure the peak PSS of (a) for --flatness-n submissions
  --flatness-n M     size of the small batch for --flatness (default 50)
  --skip-serial      skip (b), the --workers 1 run
  --timeout S        give up on one grader run after S seconds (default 600)
  --out FILE         write the results as JSON to FILE
  --keep             keep the temporary folder (notebooks, databases, logs) and print it
  --grader-env K=V   extra environment variable for every grader run (repeatable)
  --probe-omp1       also run (a) with OMP_NUM_THREADS=1 in the grader's environment: a
                     diagnostic for torch's intra-op threads in the judge processes
                     oversubscribing the cores (one more full run)
  --device D         grade on D (cpu, cuda or cuda:N; default cpu). On a GPU, (a) and (b) run
                     there, the GPU memory of every process is sampled with nvidia-smi (peak
                     per submission child and per judge), and (d) grades the same batch once
                     more on the CPU for the comparison (--skip-cpu-comparison leaves it out):

                         python benchmarks/bench_batch.py --n 200 --device cuda --out bench-gpu.json

Exit status: 0 when it ran, 1 when a measurement failed (one line on stderr says why),
2 for a usage error. Temporary folders are removed unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "hw2"


class BenchError(Exception):
    """A measurement could not be made; the message is one line."""


# ---------------------------------------------------------------------------------------------
# 1. submissions
# ---------------------------------------------------------------------------------------------

IMPORTS = "import torch\nimport math"

SIGMOID_REF = '''
def sigmoid(x):
    return torch.sigmoid(x)
'''

SOFTMAX_REF = '''
def softmax(x):
    shifted = x - x.max(dim=1, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=1, keepdim=True)
'''

FORWARD_REF = '''
def forward_by_hand(images, W1, b1, W2, b2):
    x = images.reshape(images.shape[0], -1)
    h = sigmoid(x @ W1 + b1)
    return h @ W2 + b2
'''

PREDICT_REF = '''
def predict_proba(images, W1, b1, W2, b2):
    return softmax(forward_by_hand(images, W1, b1, W2, b2))
'''

SCRATCH = '''
x = torch.randn(3, 5)
print(softmax(x).sum(dim=1))
print(sigmoid(torch.tensor([-1000., 0., 1000.])))
'''


def reference_cells() -> list[str]:
    return [IMPORTS, SIGMOID_REF, SOFTMAX_REF, FORWARD_REF + PREDICT_REF, SCRATCH]


def correct_style(style: int) -> list[str]:
    """Four ways students write a correct solution."""
    if style == 0:  # close to the reference, one function per cell
        return reference_cells()
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


WRONG_VARIANTS = {
    "softmax_dim0": lambda cells: _replace(cells, 2, SOFTMAX_REF.replace("dim=1", "dim=0")),
    "softmax_no_max_subtraction": lambda cells: _replace(
        cells, 2, "\ndef softmax(x):\n    e = torch.exp(x)\n    return e / e.sum(dim=1, keepdim=True)\n"),
    "forward_missing_bias": lambda cells: _replace(cells, 3, FORWARD_REF.replace("h @ W2 + b2", "h @ W2") + PREDICT_REF),
    "predict_sigmoid": lambda cells: _replace(
        cells, 3, FORWARD_REF + PREDICT_REF.replace("softmax(forward", "sigmoid(forward")),
    "forward_casts_float": lambda cells: _replace(
        cells, 3, FORWARD_REF.replace("x = images", "x = images.float()").replace("-1)", "-1)\n    W1, W2 = W1.float(), W2.float()")
        + PREDICT_REF),
    "sigmoid_overflows": lambda cells: _replace(
        cells, 1, "\ndef sigmoid(x):\n    e = torch.exp(x)\n    return e / (1 + e)\n"),
}

CRASH_VARIANTS = {
    # name: (cells, expect full marks?)
    "cell_raises": lambda cells: cells[:1] + ["result = undefined_variable + 1"] + cells[1:],
    "function_raises": lambda cells: _replace(
        cells, 2, "\ndef softmax(x):\n    raise NotImplementedError('softmax is not done yet')\n"),
    "syntax_error": lambda cells: cells[:1] + ["def sigmoid(x)\n    return torch.sigmoid(x)\n" + cells[2]
                                               + cells[3]] + cells[4:],
    "cell_exits_process": lambda cells: cells[:4] + ["import os\nos._exit(3)"] + cells[4:],
}

# What each kind should score: "full" (10/10), "partial" (below full), "zero".
EXPECTED = {"correct": "full", "softmax_dim0": "partial", "softmax_no_max_subtraction": "partial",
            "forward_missing_bias": "partial", "predict_sigmoid": "partial", "forward_casts_float": "partial",
            "sigmoid_overflows": "partial", "cell_raises": "full", "function_raises": "partial",
            "syntax_error": "zero", "cell_exits_process": "full"}


def _replace(cells: list[str], index: int, source: str) -> list[str]:
    cells = list(cells)
    cells[index] = source
    return cells


def submission_plan(index: int) -> tuple[str, str, list[str]]:
    """(category, kind, code cells) of submission ``index``; the pattern repeats every 10."""
    block, position = divmod(index, 10)
    if position < 6:
        style = (block * 6 + position) % 4
        return "correct", "correct", correct_style(style)
    if position < 9:
        names = list(WRONG_VARIANTS)
        name = names[(block * 3 + position - 6) % len(names)]
        return "wrong", name, WRONG_VARIANTS[name](reference_cells())
    names = list(CRASH_VARIANTS)
    name = names[block % len(names)]
    return "crash", name, CRASH_VARIANTS[name](reference_cells())


def write_submissions(folder: Path, count: int) -> dict[str, dict]:
    import nbformat
    from nbformat import v4

    folder.mkdir(parents=True, exist_ok=True)
    plan = {}
    for index in range(count):
        category, kind, cells = submission_plan(index)
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


# ---------------------------------------------------------------------------------------------
# 4. memory: PSS of a process tree
# ---------------------------------------------------------------------------------------------

def _parent_map() -> dict[int, int]:
    parents = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in _parent_map().items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = [root], [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def _proc_field(pid: int, file: str, key: str) -> int | None:
    """The first number of the ``key:`` line of /proc/PID/FILE, or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/{file}") as proc:
            for line in proc:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def pss_kb(pid: int) -> int | None:
    return _proc_field(pid, "smaps_rollup", "Pss:")


def thread_count(pid: int) -> int:
    return _proc_field(pid, "status", "Threads:") or 0


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


class TreeCpu:
    """The CPU time of a whole process tree, sandboxes included, from a cgroup v1 ``cpuacct`` group.

    getrusage misses the processes inside bubblewrap (its pid 1 reaps them and their time never
    reaches us), a third of the grader's CPU. A cgroup counts every process started in it. Where
    no ``cpuacct`` hierarchy is writable (not root, cgroup v2 only), ``available`` is False and the
    benchmark falls back to getrusage.
    """

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.path: Path | None = None
        if os.geteuid() == 0 and (self.ROOT / "cpuacct.usage").is_file():
            path = self.ROOT / f"grader-bench-{os.getpid()}-{time.monotonic_ns()}"
            try:
                path.mkdir()
                self.path = path
            except OSError:
                self.path = None

    @property
    def available(self) -> bool:
        return self.path is not None

    def enter(self) -> None:
        """Run in the child before exec (``preexec_fn``)."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text("0")

    def seconds(self) -> float:
        assert self.path is not None
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass  # a process still in it: the kernel keeps it until that one ends


class CpuAccount:
    """Busy CPU seconds on the machine during a block, split into ours (the measured tree + self) and others'.

    With ``tree`` (a ``TreeCpu`` the measured command runs in) the tree's time is exact; without
    it, getrusage of the waited-for children, which misses the sandboxes' time.
    """

    def __init__(self, tree: TreeCpu | None = None):
        self.tree = tree if tree is not None and tree.available else None

    def __enter__(self) -> "CpuAccount":
        self.machine = machine_busy_seconds()
        self.children = self.tree.seconds() if self.tree else _rusage_seconds(resource.RUSAGE_CHILDREN)
        self.me = _rusage_seconds(resource.RUSAGE_SELF)
        self.wall = time.perf_counter()
        self.load = os.getloadavg()[0]
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.machine = machine_busy_seconds() - self.machine
        ended = self.tree.seconds() if self.tree else _rusage_seconds(resource.RUSAGE_CHILDREN)
        self.children = ended - self.children
        self.me = _rusage_seconds(resource.RUSAGE_SELF) - self.me

    def as_dict(self) -> dict:
        cores = len(os.sched_getaffinity(0))
        foreign = max(0.0, self.machine - self.children - self.me)
        return {"measured_cpu_s": round(self.children, 2), "benchmark_cpu_s": round(self.me, 2),
                "accounting": "cgroup" if self.tree else "getrusage",
                "other_processes_cpu_s": round(foreign, 2),
                "other_processes_share": round(foreign / (cores * self.wall), 3) if self.wall else 0.0,
                "load_average_at_start": round(self.load, 2)}


def _rusage_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _role(pid: int, root: int, parent_roles: dict[int, str], parents: dict[int, int]) -> str:
    if pid == root:
        return "coordinator"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        cmdline = ""
    program = os.path.basename(cmdline.split(" ", 1)[0])
    if program == "bwrap":  # its command line holds the fork server's: test it first
        return "bubblewrap"
    if parent_roles.get(parents.get(pid, -1)) in ("fork server", "submission child"):
        return "submission child"  # forked from the fork server: same command line
    if "grader.sandbox.forkserver" in cmdline:
        return "fork server"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline:
        return "judge worker"
    return "other"


class PssSampler(threading.Thread):
    """Samples the summed PSS of a process tree until stopped."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, kB, processes)
        self.peak_kb = 0
        self.peak_roles: dict[str, float] = {}
        self.unreadable = 0
        self.stop_event = threading.Event()
        self.started = time.perf_counter()

    def run(self) -> None:
        while not self.stop_event.is_set():
            tick = time.perf_counter()
            self.sample()
            self.stop_event.wait(max(0.0, self.interval - (time.perf_counter() - tick)))

    def sample(self) -> None:
        pids = process_tree(self.root)
        values = {}
        for pid in pids:
            value = pss_kb(pid)
            if value is None:
                if os.path.exists(f"/proc/{pid}"):
                    self.unreadable += 1
                continue
            values[pid] = value
        if not values:
            return
        total = sum(values.values())
        self.samples.append((time.perf_counter() - self.started, total, len(values)))
        if total > self.peak_kb:
            self.peak_kb = total
            parents = _parent_map()
            roles: dict[int, str] = {}
            for pid in pids:  # parents come before children in process_tree's order
                roles[pid] = _role(pid, self.root, roles, parents)
            breakdown: dict[str, dict] = {}
            for pid, value in values.items():
                entry = breakdown.setdefault(roles.get(pid, "other"), {"processes": 0, "pss_mb": 0.0, "threads": 0})
                entry["processes"] += 1
                entry["pss_mb"] = round(entry["pss_mb"] + value / 1024, 1)
                entry["threads"] += thread_count(pid)
            self.peak_roles = dict(sorted(breakdown.items()))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=5)

    def quarter_peaks_mb(self) -> list[float]:
        if not self.samples:
            return []
        end = self.samples[-1][0] or 1.0
        peaks = [0.0] * 4
        for seconds, kb, _ in self.samples:
            quarter = min(3, int(4 * seconds / end))
            peaks[quarter] = max(peaks[quarter], kb / 1024)
        return [round(peak, 1) for peak in peaks]


# ---------------------------------------------------------------------------------------------
# 2. grader runs
# ---------------------------------------------------------------------------------------------

class GpuSampler(threading.Thread):
    """Samples each process's GPU memory (nvidia-smi) in the grader's tree; peaks by role, in MiB."""

    QUERY = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak_by_role: dict[str, int] = {}
        self.child_peaks: dict[int, int] = {}
        self.samples = 0
        self.error = ""
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)

    def sample(self) -> None:
        try:
            listing = subprocess.run(self.QUERY, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired) as error:
            self.error = str(error)
            return
        used = {}
        for line in listing.splitlines():
            pid, _, mib = line.partition(",")
            if pid.strip().isdigit() and mib.strip().isdigit():
                used[int(pid)] = int(mib)
        tree = process_tree(self.root)
        parents = _parent_map()
        roles: dict[int, str] = {}
        for pid in tree:
            roles[pid] = _role(pid, self.root, roles, parents)
        self.samples += 1
        for pid, mib in used.items():
            if pid not in roles:
                continue
            role = roles[pid]
            self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), mib)
            if role == "submission child":
                self.child_peaks[pid] = max(self.child_peaks.get(pid, 0), mib)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=15)

    def as_dict(self) -> dict:
        peaks = list(self.child_peaks.values())
        return {"peak_mib_by_role": self.peak_by_role, "children_seen": len(peaks),
                "child_peak_mib_max": max(peaks, default=0),
                "child_peak_mib_median": statistics.median(peaks) if peaks else 0,
                "samples": self.samples, "error": self.error}


def grader_command() -> list[str]:
    script = Path(sys.executable).parent / "grader"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("grader")
    if found:
        return [found]
    return [sys.executable, "-m", "grader.cli"]


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_grader(folder: Path, workdir: Path, label: str, workers: int | None, timeout: float,
               interval: float | None, extra_env: dict[str, str] | None = None, device: str = "cpu") -> dict:
    """One `grader grade` run on a fresh database; returns timings, verdicts and memory (GPU memory too)."""
    db = workdir / f"{label}.db"
    out_json = workdir / f"{label}.json"
    for stale in (db, out_json):
        stale.unlink(missing_ok=True)
    command = grader_command() + ["grade", ASSIGNMENT, str(folder), "--db", f"sqlite:///{db}", "--regrade",
                                  "--device", device, "--json", str(out_json)]
    if workers is not None:
        command += ["--workers", str(workers)]
    log_out, log_err = workdir / f"{label}.stdout", workdir / f"{label}.stderr"
    tree = TreeCpu()
    with open(log_out, "wb") as stdout, open(log_err, "wb") as stderr, CpuAccount(tree) as cpu:
        started, started_epoch = time.perf_counter(), time.time()
        process = subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env={**os.environ, **(extra_env or {})},
                                   preexec_fn=tree.enter if tree.available else None)
        sampler = PssSampler(process.pid, interval) if interval else None
        if sampler:
            sampler.start()
        gpu_sampler = GpuSampler(process.pid, max(interval or 0.0, 0.25)) if device != "cpu" else None
        if gpu_sampler:
            gpu_sampler.start()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise BenchError(f"grader run {label!r} did not finish within {timeout:g} s (--timeout); killed it")
        except BaseException:
            _kill_group(process)
            raise
        finally:
            if sampler:
                sampler.stop()
            if gpu_sampler:
                gpu_sampler.stop()
        wall = time.perf_counter() - started
        ended_epoch = time.time()
    tree.remove()
    if code != 0:
        lines = log_err.read_text(errors="replace").strip().splitlines()
        raise BenchError(f"grader run {label!r} exited {code}: {lines[-1] if lines else 'no message'} "
                         f"(command: {' '.join(command)})")
    try:
        verdicts = json.loads(out_json.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise BenchError(f"grader run {label!r} wrote no readable --json file ({error})") from None
    result = {"label": label, "workers": workers, "device": device, "command": " ".join(command), "wall_s": wall,
              "submissions": len(verdicts), "verdicts": verdicts, "db": read_db_timings(db), "cpu": cpu.as_dict(),
              "started_epoch": started_epoch, "ended_epoch": ended_epoch}
    if sampler:
        result["memory"] = {
            "peak_pss_mb": round(sampler.peak_kb / 1024, 1),
            "peak_by_role": sampler.peak_roles,
            "peak_by_quarter_mb": sampler.quarter_peaks_mb(),
            "samples": len(sampler.samples),
            "max_processes": max((count for _, _, count in sampler.samples), default=0),
            "unreadable_samples": sampler.unreadable,
        }
    if gpu_sampler:
        result["gpu_memory"] = gpu_sampler.as_dict()
    return result


def read_db_timings(db: Path) -> dict:
    """Best effort: per-run start times, durations and check seconds from the gradebook."""
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            runs = connection.execute("SELECT id, started_at, duration, layers FROM runs").fetchall()
            checks = dict(connection.execute("SELECT run_id, SUM(seconds) FROM check_results GROUP BY run_id")
                          .fetchall())
        finally:
            connection.close()
    except sqlite3.Error as error:
        return {"error": f"could not read the gradebook's timings ({error})"}
    starts, ends, durations, check_seconds, layers = [], [], [], [], None
    for run_id, started_at, duration, run_layers in runs:
        try:
            moment = datetime.fromisoformat(str(started_at))
            if moment.tzinfo is None:  # stored as naive UTC
                moment = moment.replace(tzinfo=timezone.utc)
            start = moment.timestamp()
        except ValueError:
            continue
        starts.append(start)
        ends.append(start + float(duration or 0))
        durations.append(float(duration or 0))
        check_seconds.append(float(checks.get(run_id) or 0))
        if layers is None and run_layers:
            try:
                layers = json.loads(run_layers) if isinstance(run_layers, str) else run_layers
            except json.JSONDecodeError:
                layers = None
    if not starts:
        return {"error": "no runs in the gradebook"}
    span = max(ends) - min(starts)
    return {"first_start_to_last_end_s": span, "mean_duration_s": statistics.mean(durations),
            "median_duration_s": statistics.median(durations), "mean_check_seconds_s": statistics.mean(check_seconds),
            "first_start_epoch": min(starts), "last_end_epoch": max(ends), "layers": layers or {}}


def check_verdicts(result: dict, plan: dict[str, dict]) -> list[str]:
    """Compare every verdict with what its kind should score; return one line per surprise."""
    problems = []
    seen = set()
    for verdict in result["verdicts"]:
        name = Path(verdict["submission"]).stem
        seen.add(name)
        expected = plan.get(name, {}).get("expect")
        score, max_score = verdict.get("score", 0), verdict.get("max_score", 0)
        if verdict.get("status") != "graded":
            problems.append(f"{name} ({plan.get(name, {}).get('kind')}): status {verdict.get('status')}: "
                            f"{verdict.get('message', '')[:120]}")
            continue
        got = "full" if score == max_score and max_score > 0 else ("zero" if score == 0 else "partial")
        if expected and got != expected and not (expected == "partial" and got == "zero"):
            failed = [check["name"] for check in verdict.get("checks", []) if not check["passed"]]
            problems.append(f"{name} ({plan[name]['kind']}): expected {expected}, got {score:g}/{max_score:g} "
                            f"(failed: {', '.join(failed[:4]) or 'none'})")
    missing = sorted(set(plan) - seen)
    if missing:
        problems.append(f"{len(missing)} submissions have no verdict, e.g. {missing[0]}")
    return problems


# ---------------------------------------------------------------------------------------------
# 2c. the naive floor
# ---------------------------------------------------------------------------------------------

def naive_floor(count: int) -> dict:
    times = []
    with CpuAccount() as cpu:
        _naive_runs(count, times)
    return {"runs": count, "per_process_s": statistics.mean(times), "median_s": statistics.median(times),
            "min_s": min(times), "max_s": max(times), "cpu": cpu.as_dict()}


def _naive_runs(count: int, times: list[float]) -> None:
    for _ in range(count):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            raise BenchError(f"`python -c 'import torch'` failed: {lines[-1] if lines else done.returncode}")


# ---------------------------------------------------------------------------------------------
# 3. the students' own compute, in-process
# ---------------------------------------------------------------------------------------------

IN_PROCESS = textwrap.dedent('''
    import contextlib, importlib.util, inspect, io, json, statistics, sys, time
    import torch
    torch.set_num_threads(1)  # like the sandbox's children (one submission per core)
    from grader.extract import neutralise
    from grader.spec import load_assignment

    repeats, cells = int(sys.argv[1]), json.loads(sys.argv[2])
    spec = load_assignment("hw2")
    def load(path, name):
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    reference = load(spec.reference_solution(), "bench_reference")
    checks = []
    for number, path in enumerate(spec.check_files(True)):
        module = load(path, f"bench_checks_{number}")
        checks += [value for name, value in vars(module).items() if name.startswith("test_") and callable(value)]

    class TimedStudent:
        """The reference solution in the student's place, timing every call made to it."""
        seconds = 0.0
        calls = 0
        def __getattr__(self, name):
            function = getattr(reference, name)
            def call(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return function(*args, **kwargs)
                finally:
                    TimedStudent.seconds += time.perf_counter() - started
                    TimedStudent.calls += 1
            return call

    fixtures = {"student": TimedStudent(), "reference": reference, "device": torch.device("cpu")}
    def one_round():
        TimedStudent.seconds, TimedStudent.calls = 0.0, 0
        started = time.perf_counter()
        for check in checks:
            check(**{name: fixtures[name] for name in inspect.signature(check).parameters})
        return time.perf_counter() - started, TimedStudent.seconds, TimedStudent.calls
    def run_cells():
        namespace = {"__name__": "__main__"}
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            for source in cells:
                exec(compile(neutralise(source)[0], "<cell>", "exec"), namespace)
        return time.perf_counter() - started
    for _ in range(3):
        one_round(); run_cells()
    rounds = [one_round() for _ in range(repeats)]
    cell_times = [run_cells() for _ in range(repeats)]
    print(json.dumps({"checks": len(checks), "student_calls": rounds[0][2],
                      "checks_s": statistics.median(r[0] for r in rounds),
                      "student_compute_s": statistics.median(r[1] for r in rounds),
                      "cells_s": statistics.median(cell_times)}))
''')


def in_process_cost(repeats: int) -> dict:
    cells = correct_style(0)
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, str(repeats), json.dumps(cells)], cwd=REPO,
                          capture_output=True, timeout=300)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"the in-process timing failed: {lines[-1] if lines else done.returncode}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------

def summarise(run: dict, n: int, in_process_total: float, workers: int) -> dict:
    db = run.get("db", {})
    summary = {"wall_s": round(run["wall_s"], 3), "per_submission_s": run["wall_s"] / n,
               "throughput_per_s": n / run["wall_s"], "workers": workers}
    if "first_start_epoch" in db:
        summary["steady_per_submission_s"] = db["first_start_to_last_end_s"] / n
        summary["startup_s"] = db["first_start_epoch"] - run["started_epoch"]
        summary["shutdown_s"] = run["ended_epoch"] - db["last_end_epoch"]
        summary["mean_verdict_duration_s"] = db["mean_duration_s"]
        summary["mean_check_seconds_s"] = db["mean_check_seconds_s"]
        summary["mean_session_overhead_s"] = db["mean_duration_s"] - db["mean_check_seconds_s"]
    summary["overhead_per_submission_s"] = summary["per_submission_s"] - in_process_total / workers
    if "steady_per_submission_s" in summary:
        summary["steady_overhead_per_submission_s"] = summary["steady_per_submission_s"] - in_process_total / workers
    summary["cpu"] = run["cpu"]
    summary["cpu_per_submission_s"] = run["cpu"]["measured_cpu_s"] / n
    return summary


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.2f}{unit}"


def print_report(results: dict) -> None:
    n, a, b, c = results["n"], results["a_default_workers"], results.get("b_one_worker"), results["c_naive_floor"]
    ip = results["in_process"]
    accounting = ("a cpuacct cgroup around the command, which counts every process, the sandboxes' too"
                  if a["cpu"].get("accounting") == "cgroup" else
                  "getrusage of waited-for children, which misses the processes inside bubblewrap")
    print()
    print(f"## grader batch benchmark: {n} hw2 submissions "
          f"({results['mix']['correct']} correct, {results['mix']['wrong']} wrong, {results['mix']['crash']} crashing), "
          f"{results['cores']} cores, sandbox layers: {results['layers']}")
    print()
    print("| measurement | wall | per submission | steady per submission | start-up / shutdown | CPU per submission "
          "| other processes' CPU (share of the machine) |")
    print("|---|---|---|---|---|---|---|")

    def other(cpu: dict) -> str:
        return f"{cpu['other_processes_cpu_s']:.1f} s ({cpu['other_processes_share']:.0%})"

    print(f"| (a) grader, default workers ({a['workers']}) | {fmt(a['wall_s'])} | {fmt(a['per_submission_s'])} | "
          f"{fmt(a.get('steady_per_submission_s'))} | {fmt(a.get('startup_s'))} / {fmt(a.get('shutdown_s'))} | "
          f"{fmt(a['cpu_per_submission_s'])} "
          f"| {other(a['cpu'])} |")
    if b:
        print(f"| (b) grader, --workers 1 | {fmt(b['wall_s'])} | {fmt(b['per_submission_s'])} | "
              f"{fmt(b.get('steady_per_submission_s'))} | {fmt(b.get('startup_s'))} / {fmt(b.get('shutdown_s'))} | "
              f"{fmt(b['cpu_per_submission_s'])} | {other(b['cpu'])} |")
    probe = results.get("probe_omp1")
    if probe:
        print(f"| probe: (a) with OMP_NUM_THREADS=1 | {fmt(probe['wall_s'])} | {fmt(probe['per_submission_s'])} | "
              f"{fmt(probe.get('steady_per_submission_s'))} | {fmt(probe.get('startup_s'))} / "
              f"{fmt(probe.get('shutdown_s'))} | {fmt(probe['cpu_per_submission_s'])} | {other(probe['cpu'])} |")
    print(f"| (c) naive floor: fresh `python -c 'import torch'` ({c['runs']} runs) | "
          f"{fmt(c['per_process_s'] * n)} (scaled) | {fmt(c['per_process_s'])} | — | — | "
          f"{fmt(c['cpu']['measured_cpu_s'] / c['runs'])} | {other(c['cpu'])} |")
    busy = max([a["cpu"]["other_processes_share"], c["cpu"]["other_processes_share"]]
               + ([b["cpu"]["other_processes_share"]] if b else []))
    if busy > 0.1:
        print()
        print(f"WARNING: other processes used up to {busy:.0%} of the machine's CPU during a measurement; "
              "the timings are inflated by that contention (run again on a quiet machine).")
    print()
    ratios = results["ratios"]
    print(f"- (c)/(a) = {ratios['c_over_a']:.2f}  (> 1: the grader judges a submission faster than a naive "
          "grader could merely start a Python process and import torch for it)")
    if "b_over_a" in ratios:
        print(f"- (b)/(a) = {ratios['b_over_a']:.2f}  (speed-up of {a['workers']} workers over 1; ideal {a['workers']})")
    if probe:
        print(f"- probe: (a) / (a with OMP_NUM_THREADS=1) = {a['per_submission_s'] / probe['per_submission_s']:.2f} "
              f"overall, {a['steady_per_submission_s'] / probe['steady_per_submission_s']:.2f} in steady state "
              "(> 1: torch's intra-op threads in the judge processes cost time)")
    print()
    print("### per-submission cost beyond the student's own compute")
    print()
    print(f"- in-process, no sandbox/pytest/IPC, 1 torch thread: all {ip['checks']} checks with the reference as the "
          f"student = {fmt(ip['checks_s'])}, of which the {ip['student_calls']} student calls = "
          f"{fmt(ip['student_compute_s'])}; the notebook's cells = {fmt(ip['cells_s'])}; "
          f"total in-process = {fmt(results['in_process_total_s'])}")
    rows = [("(a) default workers", a)] + ([("(b) --workers 1", b)] if b else [])
    print()
    print("| run | per submission | − in-process / workers | = overhead | overhead, steady state | "
          "in-worker verdict duration | of which checks | of which fork + cells + teardown |")
    print("|---|---|---|---|---|---|---|---|")
    for name, run in rows:
        print(f"| {name} | {fmt(run['per_submission_s'])} | {fmt(results['in_process_total_s'] / run['workers'])} | "
              f"{fmt(run['overhead_per_submission_s'])} | {fmt(run.get('steady_overhead_per_submission_s'))} | "
              f"{fmt(run.get('mean_verdict_duration_s'))} | "
              f"{fmt(run.get('mean_check_seconds_s'))} | {fmt(run.get('mean_session_overhead_s'))} |")
    print()
    print("Method: overhead = wall seconds per submission of the whole `grader grade` command (start-up "
          "included) minus the in-process cost divided by the number of workers (the ideal parallel time). "
          "The in-process cost runs the same hw2 check functions directly in one warm process with the "
          "reference solution standing in for the student, plus exec of a correct notebook's cells; it "
          "includes making the inputs and comparing results, so it is an upper bound on the student's compute "
          "(the student calls alone are listed separately). 'Steady state' uses the gradebook's start time and "
          "duration of every verdict: (last verdict's end − first verdict's start) / N, so the fixed start-up "
          "(command start to first verdict start) and shutdown (last verdict end to command exit) are left out. "
          "'In-worker verdict duration' is the judge's own timer per submission (fork, cells, checks, teardown; "
          "no start-up, no queueing); 'of which checks' sums the gradebook's per-check seconds (student calls "
          "through the sandbox, reference calls and comparisons on the trusted side). CPU per submission is the "
          f"CPU time of the whole grader process tree / N ({accounting}); other processes' CPU "
          "is the machine's busy time (/proc/stat) minus ours during the run.")
    print()
    print("### peak memory (sum of PSS over the grader process tree, sampled every "
          f"{results['interval_s']:g} s)")
    print()
    print("| batch | peak PSS | peak per quarter of the run | processes (max) | at the peak, by role |")
    print("|---|---|---|---|---|")
    peaks = [memory["peak_pss_mb"] for memory in results["memory"].values()]
    for label, memory in results["memory"].items():
        roles = ", ".join(f"{role} x{entry['processes']}: {entry['pss_mb']:g} MB ({entry['threads']} threads)"
                          for role, entry in memory["peak_by_role"].items())
        print(f"| {label} | {memory['peak_pss_mb']:.0f} MB | {memory['peak_by_quarter_mb']} | "
              f"{memory['max_processes']} | {roles} |")
    if len(peaks) == 2:
        print()
        print(f"Flatness: peak PSS at {list(results['memory'])[1]} / at {list(results['memory'])[0]} = "
              f"{peaks[1] / peaks[0]:.2f} (1.00 = memory does not grow with the batch).")
    if results.get("device", "cpu") != "cpu":
        print_gpu_report(results)
    if results.get("verdict_problems"):
        print()
        print(f"### verdicts that did not match their kind ({len(results['verdict_problems'])})")
        for line in results["verdict_problems"][:15]:
            print(f"- {line}")
    else:
        print()
        print("Every verdict matched its kind (correct ones 10/10, wrong and crashing ones as expected).")


def print_gpu_report(results: dict) -> None:
    a, d, gpu = results["a_default_workers"], results.get("d_cpu_comparison"), results.get("gpu_memory") or {}
    print()
    print(f"### {results['device']} against cpu")
    print()
    print("| run | workers | per submission | steady per submission |")
    print("|---|---|---|---|")
    print(f"| (a) --device {results['device']} | {a['workers']} | {fmt(a['per_submission_s'])} | "
          f"{fmt(a.get('steady_per_submission_s'))} |")
    if d:
        print(f"| (d) --device cpu | {d['workers']} | {fmt(d['per_submission_s'])} | "
              f"{fmt(d.get('steady_per_submission_s'))} |")
    print()
    print(f"GPU memory (nvidia-smi, {gpu.get('samples', 0)} samples): peak per submission child "
          f"{gpu.get('child_peak_mib_max', 0)} MiB (median of the children's peaks "
          f"{gpu.get('child_peak_mib_median', 0)} MiB, {gpu.get('children_seen', 0)} children seen); "
          f"peak by role {gpu.get('peak_mib_by_role', {})}" + (f"; sampler error: {gpu['error']}" if gpu.get("error") else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--naive-n", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--flatness", action="store_true")
    parser.add_argument("--flatness-n", type=int, default=50)
    parser.add_argument("--skip-serial", action="store_true")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--grader-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--probe-omp1", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-cpu-comparison", action="store_true")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1 or args.interval <= 0 or (args.workers is not None and args.workers < 1):
        parser.error("--n, --repeats and --workers must be at least 1 and --interval positive")
    if args.out is not None and not args.out.parent.exists():
        parser.error(f"--out {args.out}: folder {args.out.parent} does not exist")
    grader_env = {}
    for item in args.grader_env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--grader-env {item!r}: expected KEY=VALUE")
        grader_env[key] = value
    if args.device != "cpu" and not (args.device == "cuda" or args.device.startswith("cuda:")):
        parser.error(f"--device {args.device}: expected cpu, cuda or cuda:N")
    if args.device != "cpu" and shutil.which("nvidia-smi") is None:
        print("error: --device cuda needs nvidia-smi (the NVIDIA driver's tools) to sample GPU memory",
              file=sys.stderr)
        return 1
    if not Path("/proc/self/smaps_rollup").exists():
        print("error: /proc/PID/smaps_rollup is missing (Linux 4.14+ needed for the PSS samples)", file=sys.stderr)
        return 1

    cores = len(os.sched_getaffinity(0))
    workers = args.workers or cores
    if args.device != "cpu":  # the grader runs one child per GPU: as many workers as GPUs at most
        gpus = 1 if ":" in args.device else max(1, len(subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip().splitlines()))
        workers = min(workers, gpus)
    workdir = Path(tempfile.mkdtemp(prefix="bench-hw2-"))
    started = time.perf_counter()
    try:
        def step(text: str) -> None:
            print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

        step(f"generating {args.n} submissions in {workdir}")
        plan = write_submissions(workdir / "submissions", args.n)
        mix = {category: sum(1 for item in plan.values() if item["category"] == category)
               for category in ("correct", "wrong", "crash")}
        step("warming the page cache (one untimed `import torch`)")
        naive_floor(1)

        step(f"(a) grader grade --device {args.device}, default workers ({workers})")
        run_a = run_grader(workdir / "submissions", workdir, "a", args.workers, args.timeout, None,
                           grader_env, device=args.device)
        run_b = None
        if not args.skip_serial:
            step(f"(b) grader grade --device {args.device} --workers 1")
            run_b = run_grader(workdir / "submissions", workdir, "b", 1, args.timeout, None, grader_env,
                               device=args.device)
        run_d = None
        if args.device != "cpu" and not args.skip_cpu_comparison:
            step("(d) the same batch on --device cpu, default workers, for the comparison")
            run_d = run_grader(workdir / "submissions", workdir, "d", None, args.timeout, None, grader_env)
        # Reading smaps_rollup walks a process's page tables under its memory lock: sampling slows
        # what it samples, so memory comes from a run of its own, not from the timed ones.
        step(f"memory: (a) again, with PSS sampling every {args.interval:g} s")
        run_memory = run_grader(workdir / "submissions", workdir, "a_memory", args.workers, args.timeout,
                                args.interval, grader_env, device=args.device)
        naive_n = args.naive_n or min(args.n, 20)
        step(f"(c) naive floor: {naive_n} fresh `python -c 'import torch'`")
        floor = naive_floor(naive_n)
        step(f"in-process cost of the checks ({args.repeats} rounds)")
        in_process = in_process_cost(args.repeats)
        memory = {f"N={args.n}": run_memory["memory"]}
        if args.flatness and args.flatness_n < args.n:
            step(f"flatness: grader grade on the first {args.flatness_n} submissions, with PSS sampling")
            small = workdir / "small"
            small.mkdir()
            for index in range(args.flatness_n):
                shutil.copy(workdir / "submissions" / f"s{index:04d}.ipynb", small)
            run_small = run_grader(small, workdir, "a_small", args.workers, args.timeout, args.interval,
                                   grader_env)
            memory = {f"N={args.flatness_n}": run_small["memory"], **memory}
            memory[f"N={args.flatness_n}"]["per_submission_s"] = run_small["wall_s"] / args.flatness_n

        probe = None
        if args.probe_omp1:
            step("probe: (a) again with OMP_NUM_THREADS=1 in the grader's environment")
            run_probe = run_grader(workdir / "submissions", workdir, "a_omp1", args.workers, args.timeout, None,
                                   {**grader_env, "OMP_NUM_THREADS": "1"})
        in_process_total = in_process["checks_s"] + in_process["cells_s"]
        if args.probe_omp1:
            probe = summarise(run_probe, args.n, in_process_total, workers)
        a = summarise(run_a, args.n, in_process_total, workers)
        b = summarise(run_b, args.n, in_process_total, 1) if run_b else None
        d = summarise(run_d, args.n, in_process_total, cores) if run_d else None
        ratios = {"c_over_a": floor["per_process_s"] / a["per_submission_s"]}
        if b:
            ratios["b_over_a"] = b["per_submission_s"] / a["per_submission_s"]
        problems = check_verdicts(run_a, plan) + ([f"(b) {line}" for line in check_verdicts(run_b, plan)]
                                                  if run_b else [])
        problems += [f"(memory run) {line}" for line in check_verdicts(run_memory, plan)]
        if run_d:
            problems += [f"(d) {line}" for line in check_verdicts(run_d, plan)]
            cpu_scores = {item["submission"]: item["score"] for item in run_d["verdicts"]}
            problems += [f"{Path(item['submission']).stem}: {item['score']:g} on {args.device}, "
                         f"{cpu_scores.get(item['submission'])} on cpu"
                         for item in run_a["verdicts"] if cpu_scores.get(item["submission"]) != item["score"]]
        layers = run_a["db"].get("layers") or {}
        results = {
            "n": args.n, "cores": cores, "mix": mix, "interval_s": args.interval, "device": args.device,
            "d_cpu_comparison": d, "gpu_memory": run_a.get("gpu_memory"),
            "layers": ", ".join(name for name, on in layers.items() if on) or "unknown",
            "a_default_workers": a, "b_one_worker": b, "c_naive_floor": floor, "ratios": ratios,
            "in_process": in_process, "in_process_total_s": in_process_total, "memory": memory,
            "probe_omp1": probe, "grader_env": grader_env,
            "verdict_problems": problems, "commands": {"a": run_a["command"], **({"b": run_b["command"]} if run_b else {})},
            "benchmark_wall_s": time.perf_counter() - started,
        }
        print_report(results)
        step("done")
        if args.out is not None:
            args.out.write_text(json.dumps(results, indent=2) + "\n")
            print(f"\nwrote {args.out}")
        return 0
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
