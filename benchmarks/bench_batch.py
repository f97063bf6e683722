"""Benchmark `grader grade` on a batch of generated hw2 submissions.

Run from anywhere with the project's virtual environment active:

    python benchmarks/bench_batch.py --n 200 --flatness --out bench.json

What one run does
-----------------
1. Generates N hw2 notebooks (nbformat) into a temporary folder, in a fixed repeating
   pattern of 10 so that every prefix of the batch has the same mix:
   6 correct (the reference solution cell by cell, and three other student styles), 3 wrong
   (planted mistakes of assignments/hw2/mistakes.toml: softmax over dim 0, no
   max-subtraction, missing bias, sigmoid in predict_proba, a .float() cast, an overflowing
   sigmoid) and 1 crashing (a scratch cell that raises, a function that raises, a syntax
   error in the cell of definitions, a cell that ends the process with os._exit). Every
   notebook carries its own index in a comment, so no two have the same code.
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
  --matrix           run benchmarks/bench_matrix.py instead, with the other options (see its --help):
                     N = 10, 30, 100, 200 x installed here and under /tmp x 1 and 2 workers, and with
                     --peers nbgrader and otter-grader on the same 30 notebooks
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

The tools live in benchmarks/benchlib/ (notebooks, accounting, sampling, runs,
report); this script only reads its options and runs the steps in order.
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
from benchlib import BenchError  # noqa: E402
from benchlib.notebooks import write_submissions  # noqa: E402
from benchlib.report import print_report, summarise  # noqa: E402
from benchlib.runs import check_verdicts, in_process_cost, naive_floor, run_grader  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--matrix" in argv:  # the whole matrix (N x install location x workers, the peers): bench_matrix.py
        from bench_matrix import main as matrix_main
        return matrix_main([item for item in argv if item != "--matrix"])
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
