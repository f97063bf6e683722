"""Where submissions are judged: in this process, on a pool of local workers, or on a Dask cluster.

``choose_executor`` is the one place that decides; every executor has the same ``judge(units,
on_verdict)`` (``grader.executors.base.Executor``).
"""

from __future__ import annotations

from grader.devices import is_cuda, plan_worker_devices, visible_gpu_count
from grader.executors.base import MAX_ATTEMPTS, Executor, JudgeJob, OnVerdict
from grader.executors.inprocess import InProcessExecutor
from grader.executors.pool import PoolExecutor, auto_workers, default_workers, prepare_workers
from grader.verdicts import Grading

__all__ = ["MAX_ATTEMPTS", "Executor", "JudgeJob", "OnVerdict", "InProcessExecutor", "PoolExecutor",
           "auto_workers", "choose_executor", "default_workers", "prepare_workers", "plan_devices", "start_batch"]


def choose_executor(spec, job: JudgeJob, grading: Grading, units: int, workers: int = 1,
                    cluster: str | None = None) -> Executor:
    """A Dask cluster when one is named; else one warm worker per device slot (on GPUs, one running
    child per GPU unless the assignment allows more), in this process when there is one slot or one unit."""
    if cluster:
        from grader.executors.cluster import DaskExecutor  # imports dask: only here

        return DaskExecutor(job, grading, cluster)
    devices = plan_devices(spec, job, workers)
    if len(devices) <= 1 or units == 1:
        return InProcessExecutor(job.model_copy(update={"device": devices[0], "device_label": job.label}), spec)
    return PoolExecutor(job, grading, devices)


def plan_devices(spec, job: JudgeJob, workers: int) -> list[str]:
    """One device per local warm worker (on GPUs, one running child per GPU unless the assignment allows more)."""
    return plan_worker_devices(job.device, workers, visible_gpu_count() if is_cuda(job.device) else 0,
                               spec.device.children_per_gpu)


def start_batch(spec, job: JudgeJob, submissions: int, workers: int | None = 1):
    """A local batch's ``grader.executors.startup.BatchStart``: its sandboxes launched now, before anything
    heavy is imported here; ``.executor(grading, units)`` then judges with them. ``workers`` None: as many
    as pay off for ``submissions`` on this machine (``auto_workers``)."""
    from grader.executors.startup import BatchStart

    if workers is None:
        workers = auto_workers(submissions)
    return BatchStart(spec, job, plan_devices(spec, job, workers)[:max(1, submissions)], submissions)
