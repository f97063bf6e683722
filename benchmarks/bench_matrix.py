"""The benchmark matrix: N x install location x workers, the naive floor, the peers, and the goals.

    python benchmarks/bench_matrix.py [--peers] [--out matrix.json]
    python benchmarks/bench_batch.py --matrix [--peers]          # the same

What one run does
-----------------
1. Generates max(--ns) hw2 notebooks (benchlib.notebooks: 6 correct, 3 wrong, 1 crashing in
   every 10); a batch of N is the first N of them.
2. For each install location (--locations): ``checkout`` is this project and its virtual
   environment; ``tmp`` is a full copy of both under a fresh /tmp folder (benchlib.install: the
   project copied, the venv hard-linked, the grader asserted to import from the copy). For each:
   - the naive floor: --naive-n fresh ``python -c "import torch"`` of that install's python;
   - for each N in --ns and each W in --workers: ``grader grade hw2 --workers W`` on a fresh
     database, timed (wall, steady state from the gradebook, CPU of the grader's tree);
   - for each N, one more run with the most workers, untimed, sampling PSS (peak memory).
   Beside every figure: the other processes' CPU during that run (the machine's busy time from
   /proc/stat minus the measured tree and the benchmark itself), as a share of all cores.
3. With --peers: builds nbgrader's and otter-grader's environments where missing (once, under
   ~/.cache/grader-bench/, torch==2.13.0 first: see benchlib/peers_env.py), then grades the first
   --peer-n notebooks with ``nbgrader autograde`` and with ``otter run``, the same 13 hw2 checks
   in their form (benchlib/peers.py, benchlib/peer_checks.py). Setup (course folder, generate
   step, autograder zip) is untimed.
4. Prints the matrix and the goals, each with pass or fail:
   - per notebook on --peer-n notebooks: the grader (checkout, the worker count `grader grade` picks without --workers) at least 25x faster
     than nbgrader and 50x faster than otter;
   - at N = 100, from every install location, at least 10x the naive floor;
   - steady-state overhead beyond the student's compute under 20 ms (largest N, most workers);
   - peak memory flat in N: peak PSS at the largest N at most 1.10x the smallest N's.
   A goal whose measurement was not made (N = 100 not in --ns, no --peers) reads "not measured".

Options
-------
  --ns LIST          batch sizes (default 10,30,100,200)
  --workers LIST     worker counts (default 1,2)
  --locations LIST   checkout,tmp (default both)
  --peers            also nbgrader and otter (builds their environments on first use: minutes)
  --peer-n K         notebooks for the peers (default 30)
  --naive-n K        fresh `import torch` processes per location (default 20)
  --repeats R        rounds of the in-process reference timing (default 20)
  --interval S       PSS sampling period (default 0.1)
  --no-memory        skip the PSS runs
  --timeout S        give up on one grader or peer run after S seconds (default 1800)
  --out FILE         write every number as JSON
  --keep             keep the temporary folders and print them

Exit status: 0 when it ran (whatever the goals say), 1 when a measurement failed, 2 for usage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import BenchError  # noqa: E402
from benchlib.install import temporary_copy, this_checkout  # noqa: E402
from benchlib.notebooks import write_submissions  # noqa: E402
from benchlib.report import fmt, summarise  # noqa: E402
from benchlib.runs import check_verdicts, in_process_cost, naive_floor, run_grader  # noqa: E402
from grader.executors.pool import auto_workers  # noqa: E402

GOALS = {"nbgrader": 25.0, "otter": 50.0, "naive_n": 100, "naive": 10.0, "steady_overhead_s": 0.020,
         "memory_flatness": 1.10}


def int_list(text: str) -> list[int]:
    try:
        values = sorted({int(item) for item in text.split(",") if item.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers separated by commas") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected numbers of at least 1")
    return values


def batch_folder(workdir: Path, n: int) -> Path:
    """The first ``n`` notebooks, copied into a folder of their own (the grader refuses hard links)."""
    folder = workdir / f"n{n}"
    if not folder.is_dir():
        folder.mkdir()
        for index in range(n):
            shutil.copyfile(workdir / "all" / f"s{index:04d}.ipynb", folder / f"s{index:04d}.ipynb")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", type=int_list, default=[10, 30, 100, 200])
    parser.add_argument("--workers", type=int_list, default=[1, 2])
    parser.add_argument("--locations", default="checkout,tmp")
    parser.add_argument("--peers", action="store_true")
    parser.add_argument("--peer-n", type=int, default=30)
    parser.add_argument("--naive-n", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    locations = [item.strip() for item in args.locations.split(",") if item.strip()]
    if not locations or set(locations) - {"checkout", "tmp"}:
        parser.error(f"--locations {args.locations}: expected checkout, tmp or both")
    if args.peer_n < 1 or args.naive_n < 1:
        parser.error("--peer-n and --naive-n must be at least 1")
    if args.out is not None and not args.out.parent.exists():
        parser.error(f"--out {args.out}: folder {args.out.parent} does not exist")

    workdir = Path(tempfile.mkdtemp(prefix="bench-matrix-"))
    cleanup: list[Path] = [workdir]
    started = time.perf_counter()
    cores = len(os.sched_getaffinity(0))

    def step(text: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {text}", file=sys.stderr, flush=True)

    try:
        peer_n = args.peer_n if args.peers else None
        total = max(args.ns + ([peer_n] if peer_n else []))
        step(f"generating {total} hw2 notebooks in {workdir}")
        plan = write_submissions(workdir / "all", total)
        step(f"in-process cost of the checks ({args.repeats} rounds)")
        in_process = in_process_cost(args.repeats)
        in_process_total = in_process["checks_s"] + in_process["cells_s"]
        results: dict = {"cores": cores, "ns": args.ns, "workers": args.workers, "in_process": in_process,
                         "in_process_total_s": in_process_total, "locations": {}, "peers": {}, "problems": []}
        most = max(args.workers)
        for location in locations:
            if location == "checkout":
                install = this_checkout()
            else:
                step("copying the project and its venv (hard links) under /tmp")
                install, parent = temporary_copy()
                cleanup.append(parent)
            package = install.verify()
            step(f"[{location}] grader from {package}; naive floor: {args.naive_n} x import torch")
            naive_floor(1, install.python)  # the page cache, untimed
            floor = naive_floor(args.naive_n, install.python)
            cells, memory = [], {}
            for n in args.ns:
                folder = batch_folder(workdir, n)
                for workers in args.workers:
                    step(f"[{location}] N={n}, --workers {workers}")
                    run = run_grader(folder, workdir, f"{location}-n{n}-w{workers}", workers, args.timeout, None,
                                     install=install)
                    summary = summarise(run, n, in_process_total, workers)
                    summary.update(n=n, naive_ratio=floor["per_process_s"] / summary["per_submission_s"])
                    cells.append(summary)
                    results["problems"] += [f"[{location} N={n} W={workers}] {line}"
                                            for line in check_verdicts(run, {k: plan[k] for k in list(plan)[:n]})]
                if not args.no_memory:
                    step(f"[{location}] N={n}, --workers {most}, sampling PSS every {args.interval:g} s")
                    run = run_grader(folder, workdir, f"{location}-n{n}-mem", most, args.timeout, args.interval,
                                     install=install)
                    memory[n] = {**run["memory"], "other_processes_share": run["cpu"]["other_processes_share"]}
            results["locations"][location] = {"root": str(install.root), "grader_package": str(package),
                                              "naive_floor": floor, "cells": cells, "memory": memory}
        if args.peers:
            run_peers(args, workdir, plan, results, step)
        results["goals"] = judge_goals(results, args, most)
        results["benchmark_wall_s"] = time.perf_counter() - started
        print_matrix(results)
        if args.out is not None:
            args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
            print(f"\nwrote {args.out}")
        step("done")
        return 0
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        for folder in cleanup:
            if args.keep:
                print(f"kept {folder}", file=sys.stderr)
            else:
                shutil.rmtree(folder, ignore_errors=True)


def run_peers(args, workdir: Path, plan: dict, results: dict, step) -> None:
    from benchlib.peer_checks import total_points
    from benchlib.peers import compare_scores, run_nbgrader, run_otter
    from benchlib.peers_env import ensure_env

    notebooks = sorted(batch_folder(workdir, args.peer_n).glob("*.ipynb"))
    subset = {k: plan[k] for k in list(plan)[:args.peer_n]}
    for name, runner in (("nbgrader", run_nbgrader), ("otter", run_otter)):
        python = ensure_env(name, log=lambda text: step(text))
        step(f"{name}: {args.peer_n} notebooks")
        (workdir / name).mkdir()
        peer = runner(workdir / name, notebooks, python, args.timeout)
        peer["score_problems"] = compare_scores(peer, subset, total_points())
        results["peers"][name] = peer
    # The grader as an instructor runs it: `grader grade` without --workers picks its own count.
    workers = auto_workers(args.peer_n)
    grader = grader_cell(results, "checkout", args.peer_n, workers)
    if grader is None:  # --peer-n or that count is not in the matrix: grade the same notebooks once more
        install = this_checkout()
        step(f"grader on the peers' {args.peer_n} notebooks, --workers {workers} (its default)")
        run = run_grader(batch_folder(workdir, args.peer_n), workdir, "peers-grader", workers,
                         args.timeout, None, install=install)
        grader = summarise(run, args.peer_n, results["in_process_total_s"], workers)
        grader["n"] = args.peer_n
    results["peers"]["grader"] = grader


def grader_cell(results: dict, location: str, n: int, workers: int) -> dict | None:
    for cell in results["locations"].get(location, {}).get("cells", []):
        if cell["n"] == n and cell["workers"] == workers:
            return cell
    return None


def judge_goals(results: dict, args, most: int) -> list[dict]:
    goals = []

    def goal(name: str, value: float | None, target: str, passed: bool | None, note: str = "") -> None:
        goals.append({"goal": name, "value": value, "target": target,
                      "result": "not measured" if passed is None else ("pass" if passed else "fail"), "note": note})

    peers = results.get("peers") or {}
    grader = peers.get("grader")
    for name in ("nbgrader", "otter"):
        peer = peers.get(name)
        ratio = peer["per_notebook_s"] / grader["per_submission_s"] if peer and grader else None
        steady = grader.get("steady_per_submission_s") if grader else None
        goal(f"{name} per notebook / grader per notebook, {args.peer_n} hw2 notebooks", ratio,
             f">= {GOALS[name]:g}x", None if ratio is None else ratio >= GOALS[name],
             (f"other processes: {peer['cpu']['other_processes_share']:.0%} during {name}, "
              f"{grader['cpu']['other_processes_share']:.0%} during the grader; against the grader's steady "
              f"state (its start-up left out): {peer['per_notebook_s'] / steady:.1f}x" if steady else "")
             if peer and grader else "")
    for location, data in results["locations"].items():
        cell = grader_cell(results, location, GOALS["naive_n"], most)
        goal(f"naive floor / grader per submission at N={GOALS['naive_n']}, {location} install, {most} workers",
             cell["naive_ratio"] if cell else None, f">= {GOALS['naive']:g}x",
             None if cell is None else cell["naive_ratio"] >= GOALS["naive"],
             f"other processes: {cell['cpu']['other_processes_share']:.0%}" if cell else "")
        largest = grader_cell(results, location, max(args.ns), most)
        steady = largest.get("steady_overhead_per_submission_s") if largest else None
        goal(f"steady-state overhead beyond the student's compute, N={max(args.ns)}, {location}, {most} workers",
             steady, f"< {GOALS['steady_overhead_s'] * 1000:g} ms",
             None if steady is None else steady < GOALS["steady_overhead_s"],
             f"other processes: {largest['cpu']['other_processes_share']:.0%}" if largest else "")
        memory = data["memory"]
        if len(memory) >= 2:
            low, high = min(memory), max(memory)
            flatness = memory[high]["peak_pss_mb"] / memory[low]["peak_pss_mb"]
            goal(f"peak PSS at N={high} / at N={low}, {location}", flatness, f"<= {GOALS['memory_flatness']:.2f}",
                 flatness <= GOALS["memory_flatness"],
                 f"{memory[low]['peak_pss_mb']:.0f} MB -> {memory[high]['peak_pss_mb']:.0f} MB")
        else:
            goal(f"peak memory flat in N, {location}", None, f"<= {GOALS['memory_flatness']:.2f}", None,
                 "needs --ns with two sizes and no --no-memory")
    return goals


def print_matrix(results: dict) -> None:
    print()
    print(f"## grader benchmark matrix: hw2, {results['cores']} cores")
    print()
    print("| install | N | workers | wall | per submission | steady per submission | steady overhead | "
          "CPU per submission | naive floor / per submission | other processes' CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for location, data in results["locations"].items():
        for cell in data["cells"]:
            print(f"| {location} | {cell['n']} | {cell['workers']} | {fmt(cell['wall_s'])} | "
                  f"{fmt(cell['per_submission_s'])} | {fmt(cell.get('steady_per_submission_s'))} | "
                  f"{fmt(cell.get('steady_overhead_per_submission_s'))} | {fmt(cell['cpu_per_submission_s'])} | "
                  f"{cell['naive_ratio']:.1f}x | {cell['cpu']['other_processes_share']:.0%} |")
    print()
    print("| install | naive floor per process | other processes' CPU | peak PSS by N (other processes' CPU) |")
    print("|---|---|---|---|")
    for location, data in results["locations"].items():
        floor = data["naive_floor"]
        peaks = ", ".join(f"N={n}: {memory['peak_pss_mb']:.0f} MB ({memory['other_processes_share']:.0%})"
                          for n, memory in data["memory"].items()) or "—"
        print(f"| {location} ({data['grader_package']}) | {fmt(floor['per_process_s'])} | "
              f"{floor['cpu']['other_processes_share']:.0%} | {peaks} |")
    peers = results.get("peers") or {}
    if peers:
        print()
        print("| grader | notebooks | wall | per notebook | CPU | other processes' CPU | scores unlike the kind |")
        print("|---|---|---|---|---|---|---|")
        grader = peers.get("grader")
        if grader:
            print(f"| grader ({grader['workers']} workers: its default) | {grader['n']} | {fmt(grader['wall_s'])} | "
                  f"{fmt(grader['per_submission_s'])} | {grader['cpu']['measured_cpu_s']:.1f} s | "
                  f"{grader['cpu']['other_processes_share']:.0%} | — |")
        for name in ("nbgrader", "otter"):
            peer = peers.get(name)
            if peer:
                print(f"| {name} | {peer['n']} | {fmt(peer['wall_s'])} | {fmt(peer['per_notebook_s'])} | "
                      f"{peer['cpu']['measured_cpu_s']:.1f} s | {peer['cpu']['other_processes_share']:.0%} | "
                      f"{len(peer['score_problems'])} |")
    print()
    print("| goal | measured | target | result | note |")
    print("|---|---|---|---|---|")
    for goal in results["goals"]:
        value = goal["value"]
        shown = "—" if value is None else (fmt(value) if "ms" in goal["target"] else f"{value:.2f}")
        print(f"| {goal['goal']} | {shown} | {goal['target']} | {goal['result']} | {goal['note']} |")
    busiest = max([cell["cpu"]["other_processes_share"] for data in results["locations"].values()
                   for cell in data["cells"]] + [0.0])
    if busiest > 0.1:
        print()
        print(f"WARNING: other processes used up to {busiest:.0%} of the machine's CPU during a run; those figures "
              "are inflated by the contention (run again on a quiet machine).")
    if results["problems"]:
        print()
        print(f"### verdicts that did not match their kind ({len(results['problems'])})")
        for line in results["problems"][:15]:
            print(f"- {line}")
    print()
    print(f"The whole matrix took {results.get('benchmark_wall_s', 0):.0f} s.")


if __name__ == "__main__":
    sys.exit(main())
