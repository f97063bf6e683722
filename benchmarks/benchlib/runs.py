"""One `grader grade` run measured (wall, CPU, verdicts, gradebook timings, optionally memory),
the naive floor (fresh `import torch` processes), and the checks' in-process cost."""

from __future__ import annotations

import json
import os
import signal
import shutil
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

from benchlib import REPO, BenchError
from benchlib.accounting import CpuAccount, TreeCpu
from benchlib.notebooks import ASSIGNMENT, correct_style
from benchlib.sampling import GpuSampler, PssSampler


def grader_command() -> list[str]:
    script = Path(sys.executable).parent / "grader"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("grader")
    if found:
        return [found]
    return [sys.executable, "-m", "grader.cli"]


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def run_grader(folder: Path, workdir: Path, label: str, workers: int | None, timeout: float,
               interval: float | None, extra_env: dict[str, str] | None = None, device: str = "cpu",
               install=None) -> dict:
    """One `grader grade` run on a fresh database; returns timings, verdicts and memory (GPU memory too).

    ``install`` (a ``benchlib.install.Install``): run that install's grader from its project folder;
    by default this checkout's."""
    db = workdir / f"{label}.db"
    out_json = workdir / f"{label}.json"
    for stale in (db, out_json):
        stale.unlink(missing_ok=True)
    command = (install.grader if install is not None else grader_command()) + ["grade", ASSIGNMENT, str(folder), "--db", f"sqlite:///{db}", "--regrade",
                                  "--device", device, "--json", str(out_json)]
    if workers is not None:
        command += ["--workers", str(workers)]
    log_out, log_err = workdir / f"{label}.stdout", workdir / f"{label}.stderr"
    tree = TreeCpu()
    with open(log_out, "wb") as stdout, open(log_err, "wb") as stderr, CpuAccount(tree) as cpu:
        started, started_epoch = time.perf_counter(), time.time()
        process = subprocess.Popen(command, cwd=install.root if install is not None else REPO, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
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
            kill_group(process)
            raise BenchError(f"grader run {label!r} did not finish within {timeout:g} s (--timeout); killed it")
        except BaseException:
            kill_group(process)
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
        result["memory"] = sampler.as_dict()
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


def naive_floor(count: int, python: str | Path | None = None) -> dict:
    """``count`` fresh ``python -c "import torch"`` one after another (``python``: by default ours)."""
    times = []
    with CpuAccount() as cpu:
        _naive_runs(count, times, str(python or sys.executable))
    return {"runs": count, "per_process_s": statistics.mean(times), "median_s": statistics.median(times),
            "min_s": min(times), "max_s": max(times), "cpu": cpu.as_dict()}


def _naive_runs(count: int, times: list[float], python: str) -> None:
    for _ in range(count):
        started = time.perf_counter()
        done = subprocess.run([python, "-c", "import torch"], capture_output=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            raise BenchError(f"`python -c 'import torch'` failed: {lines[-1] if lines else done.returncode}")


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
