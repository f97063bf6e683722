"""Benchmark `grader grade --cluster local:N` against local batches on the same hw2 submissions.

    python benchmarks/bench_cluster.py --n 100 --out bench_cluster.json

Generates N hw2 notebooks (benchlib.notebooks' mix: 6 correct, 3 wrong, 1 crashing in
every 10), then times, each on a fresh SQLite gradebook with --regrade:

  --cluster local:2     a LocalCluster of 2 Dask worker processes, each with its warm judge
  --cluster local:1     the same with 1 worker
  --workers 2           a local batch (grader/batch.py), for the cluster path's overhead
  --workers 1

For each run: wall seconds per submission (start-up included) and steady-state seconds per
submission ((last verdict's end - first verdict's start) / N, from the gradebook's start times
and durations, so the fixed start-up and shutdown are left out). Reported: the speed-up of
local:2 over local:1, and the cluster path's per-submission overhead = steady per submission
of local:N minus that of --workers N (same parallelism, same judge; the difference is Dask's
scheduling and the extra hop). Every verdict is checked against its kind, and the cluster runs'
scores must equal the local batch's. Other processes' share of the CPU is printed with each run.

Exit status: 0 when it ran, 1 when a measurement failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import REPO, BenchError  # noqa: E402
from benchlib.accounting import CpuAccount  # noqa: E402
from benchlib.notebooks import write_submissions  # noqa: E402
from benchlib.runs import check_verdicts, grader_command, kill_group, read_db_timings  # noqa: E402

RUNS = [("cluster local:2", ["--cluster", "local:2"], 2), ("cluster local:1", ["--cluster", "local:1"], 1),
        ("local batch --workers 2", ["--workers", "2"], 2), ("local batch --workers 1", ["--workers", "1"], 1)]


def run(folder: Path, workdir: Path, label: str, options: list[str], timeout: float) -> dict:
    slug = label.replace(" ", "_").replace(":", "").replace("-", "")
    db, out_json = workdir / f"{slug}.db", workdir / f"{slug}.json"
    command = grader_command() + ["grade", "hw2", str(folder), "--db", f"sqlite:///{db}", "--regrade", "--device",
                                  "cpu", "--json", str(out_json), *options]
    with open(workdir / f"{slug}.stderr", "wb") as stderr, CpuAccount() as cpu:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except BaseException:
            kill_group(process)
            raise
        wall = time.perf_counter() - started
    if code != 0:
        lines = (workdir / f"{slug}.stderr").read_text(errors="replace").strip().splitlines()
        raise BenchError(f"{label} exited {code}: {lines[-1] if lines else 'no message'}")
    timings = read_db_timings(db)
    if "error" in timings:
        raise BenchError(f"{label}: {timings['error']}")
    return {"label": label, "command": " ".join(command), "wall_s": wall, "db": timings, "cpu": cpu.as_dict(),
            "verdicts": json.loads(out_json.read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        plan = write_submissions(workdir / "submissions", args.n)
        results = {}
        for label, options, workers in RUNS:
            print(f"running {label} ...", file=sys.stderr, flush=True)
            result = run(workdir / "submissions", workdir, label, options, args.timeout)
            result["workers"] = workers
            result["per_submission_s"] = result["wall_s"] / args.n
            result["steady_per_submission_s"] = result["db"]["first_start_to_last_end_s"] / args.n
            result["problems"] = check_verdicts(result, plan)
            results[label] = result
        scores = {label: sorted((v["submission"], v["score"], v["status"]) for v in result["verdicts"])
                  for label, result in results.items()}
        same_scores = len({json.dumps(value) for value in scores.values()}) == 1
        two, one = results["cluster local:2"], results["cluster local:1"]
        summary = {
            "n": args.n, "cores": len(os.sched_getaffinity(0)), "same_scores_everywhere": same_scores,
            "speedup_local2_over_local1": one["wall_s"] / two["wall_s"],
            "steady_speedup_local2_over_local1": one["steady_per_submission_s"] / two["steady_per_submission_s"],
            "cluster_overhead_per_submission_s": {
                f"{workers} worker(s)": results[f"cluster local:{workers}"]["steady_per_submission_s"]
                - results[f"local batch --workers {workers}"]["steady_per_submission_s"] for workers in (1, 2)},
        }
        print(f"\n## {args.n} hw2 submissions, {summary['cores']} cores\n")
        print("| run | wall | per submission | steady per submission | other processes' CPU share |")
        print("|---|---|---|---|---|")
        for label, result in results.items():
            print(f"| {label} | {result['wall_s']:.1f} s | {result['per_submission_s'] * 1000:.0f} ms | "
                  f"{result['steady_per_submission_s'] * 1000:.0f} ms | {result['cpu']['other_processes_share']:.0%} |")
        print(f"\nlocal:2 over local:1: {summary['speedup_local2_over_local1']:.2f}x overall, "
              f"{summary['steady_speedup_local2_over_local1']:.2f}x in steady state")
        for key, value in summary["cluster_overhead_per_submission_s"].items():
            print(f"cluster path overhead per submission vs a local batch, {key}: {value * 1000:+.1f} ms")
        print(f"same scores in every run: {same_scores}")
        for label, result in results.items():
            for line in result["problems"][:5]:
                print(f"- {label}: {line}")
        if args.out:
            for result in results.values():
                result.pop("verdicts")
            args.out.write_text(json.dumps({"summary": summary, "runs": results}, indent=2) + "\n")
        return 0 if same_scores else 1
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
