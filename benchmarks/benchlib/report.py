"""The batch benchmark's Markdown report, and the per-run summary it is made from."""

from __future__ import annotations


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
