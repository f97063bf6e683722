"""The start-up timeline of `grader grade hw2` (and `grader check hw2`), end to end.

    python benchmarks/bench_startup.py --count 30 --workers 2 --repeat 5
    python benchmarks/bench_startup.py --check --repeat 5

Each run is a fresh `grader` process on a fresh gradebook, with $GRADER_TIMELINE set
(``grader.timeline``): seconds from process start to the sandboxes launched and ready, the
judge ready, the first and last verdict, and exit; the CPU seconds of the whole process tree
(a cgroup v1 ``cpuacct`` group where writable, else getrusage, which misses the sandboxes)
and the load average at the start. Prints one JSON line per run, then the minimum of each
figure over the runs (a shared machine's noise only ever adds time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import REPO  # noqa: E402
from benchlib.accounting import CpuAccount, TreeCpu  # noqa: E402
from benchlib.notebooks import write_submissions  # noqa: E402


def first(entries: list[dict], event: str, t0: float, last: bool = False) -> float | None:
    times = [entry["t"] - t0 for entry in entries if entry["event"] == event]
    if not times:
        return None
    return round(max(times) if last else min(times), 3)


def one_run(command: list[str], scratch: Path, source: Path = REPO) -> dict:
    timeline_path = scratch / "timeline.jsonl"
    timeline_path.unlink(missing_ok=True)
    environment = dict(os.environ, GRADER_TIMELINE=str(timeline_path))
    tree = TreeCpu()
    with CpuAccount(tree) as account:
        t0 = time.time()
        done = subprocess.run(command, cwd=source, env=environment, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, preexec_fn=tree.enter if tree.available else None)
        wall = time.time() - t0
    tree.remove()
    from grader.timeline import read

    entries = read(timeline_path) if timeline_path.exists() else []
    coordinator = next((entry["pid"] for entry in entries if entry["event"] == "cli.start"), None)
    torch_in_coordinator = [entry["t"] - t0 for entry in entries if entry["pid"] == coordinator and entry["torch"]]
    result = {
        "exit_code": done.returncode,
        "cli_start": first(entries, "cli.start", t0),
        "sandbox_launch_first": first(entries, "sandbox.launch", t0),
        "sandbox_launch_last": first(entries, "sandbox.launch", t0, last=True),
        "sandbox_ready_last": first(entries, "sandbox.ready", t0, last=True),
        "judge_ready_first": first(entries, "judge.ready", t0),
        "judge_ready_last": first(entries, "judge.ready", t0, last=True),
        "coordinator_torch": round(min(torch_in_coordinator), 3) if torch_in_coordinator else None,
        "first_verdict": first(entries, "verdict", t0),
        "last_verdict": first(entries, "verdict", t0, last=True),
        "verdicts": sum(entry["event"] == "verdict" for entry in entries),
        "exit_mark": first(entries, "exit", t0),  # the coordinator's last line (then exit handlers, os._exit)
        "exit": round(wall, 3),
        "tree_cpu_s": account.as_dict()["measured_cpu_s"],
        "accounting": account.as_dict()["accounting"],
        "load_1min": account.as_dict()["load_average_at_start"],
    }
    if done.returncode not in (0, 1):
        result["stderr"] = done.stderr.decode(errors="replace")[-500:]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30, help="hw2 notebooks to grade (at most 50)")
    parser.add_argument("--workers", type=int, default=None, help="--workers of grader grade (default: its own)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="time `grader check hw2` on one correct notebook")
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="run the grader of this source tree (an unpacked older commit, to compare)")
    args = parser.parse_args()
    if not 1 <= args.count <= 50:
        parser.error("--count: 1 to 50")
    with tempfile.TemporaryDirectory(prefix="grader-bench-startup-") as folder:
        scratch = Path(folder)
        notebooks = scratch / "notebooks"
        notebooks.mkdir()
        write_submissions(notebooks, 1 if args.check else args.count)
        runs = []
        for _ in range(args.repeat):
            database = scratch / "grades.db"
            database.unlink(missing_ok=True)
            if args.check:
                command = [sys.executable, "-m", "grader.cli", "check", "hw2", str(notebooks / "s0000.ipynb")]
            else:
                command = [sys.executable, "-m", "grader.cli", "grade", "hw2", str(notebooks),
                           "--db", f"sqlite:///{database}"]
                if args.workers:
                    command += ["--workers", str(args.workers)]
            run = one_run(command, scratch, args.tree.resolve())
            print(json.dumps(run), flush=True)
            runs.append(run)
        keys = [key for key, value in runs[0].items() if isinstance(value, (int, float)) and key != "exit_code"]
        best = {key: min((run[key] for run in runs if run.get(key) is not None), default=None) for key in keys}
        print(json.dumps({"minimum_of": len(runs), "tree": str(args.tree), "command": "check" if args.check else "grade",
                          "count": args.count, "workers": args.workers, **best}))


if __name__ == "__main__":
    main()
