"""The Dask executor: the local pool's unit of work, carried by Dask instead of pipes.

Every Dask worker gets a worker plugin (``JudgePool``) that starts, once, as many warm judge
processes as the worker has threads — the same ``grader.executors.worker.worker_main`` a local
pool runs, each with its own sandbox. A task carries plain strings: the plugin's name and one
extracted submission as JSON; it returns the worker's message as JSON. The coordinator (this
process) alone writes the gradebook.

Faults: a judge process that dies on a submission is replaced and the submission is sent
again (a new task, anywhere); after ``MAX_ATTEMPTS`` deaths it is stored as an error. A Dask
worker that dies takes its running task with it; the scheduler gives that task to another
worker and, past its ``allowed-failures``, gives up on it (``KilledWorker``), which is stored
as an error too. Each submission's verdict is stored once, when its task's result arrives here.

This module imports dask; nothing else in grader imports it unless ``--cluster`` is given.
"""

from __future__ import annotations

import logging
import queue
import uuid
from typing import Callable

try:
    import dask
    from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker
except ImportError:  # pragma: no cover - the message is the point
    from grader.errors import GraderError

    raise GraderError("--cluster needs Dask: pip install 'grader[cluster]' (or pip install 'dask[distributed]')") \
        from None

from grader import __version__
from grader.errors import GraderError
from grader.executors.base import MAX_ATTEMPTS, JudgeJob, OnVerdict
from grader.executors.messages import Crashed, Judged, decode, encode
from grader.executors.worker import JudgeProcess
from grader.models import ExtractedSubmission, Verdict
from grader.verdicts import Grading

CONNECT_TIMEOUT_S = 10


class JudgePool(WorkerPlugin):
    """Warm judge processes on one Dask worker, one per worker thread, started when the plugin arrives."""

    def __init__(self, job_json: str):
        self.job_json = job_json
        self.idle: queue.SimpleQueue | None = None
        self.processes: list[JudgeProcess] = []

    def setup(self, worker) -> None:
        self.idle = queue.SimpleQueue()
        job = JudgeJob.model_validate_json(self.job_json)
        self.processes = [JudgeProcess(job) for _ in range(worker.state.nthreads)]
        for process in self.processes:
            process.start()  # does not wait: torch loads while the first tasks are on their way
            self.idle.put(process)

    def teardown(self, worker) -> None:
        for process in self.processes:
            process.stop()

    def judge(self, unit_json: str) -> str:
        process = self.idle.get()
        try:
            return encode(process.judge(unit_json))
        finally:
            self.idle.put(process)


def judge_unit(plugin_name: str, unit_json: str) -> tuple[str, str]:
    """The task: one extracted submission (JSON) in, (worker message JSON, worker's name) out."""
    worker = get_worker()
    message = worker.plugins[plugin_name].judge(unit_json)
    return message, worker.name if isinstance(worker.name, str) else worker.address


def connect(address: str) -> tuple[Client, Callable[[], None]]:
    """A client for ``tcp://host:port`` (any scheduler address) or ``local:N`` (a LocalCluster here)."""
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise GraderError(f"--cluster {address}: expected local:N with N worker processes, e.g. local:2")
        # One task at a time per worker thread, and a task whose worker died is tried on
        # MAX_ATTEMPTS workers in all, as a local batch retries a dead worker's submission.
        with dask.config.set({"distributed.scheduler.allowed-failures": MAX_ATTEMPTS - 1,
                              "distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(n_workers=int(count), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise GraderError(f"--cluster {address}: cannot reach a Dask scheduler there ({error}); start one "
                          "(dask scheduler, dask-jobqueue, dask-kubernetes) or use --cluster local:N") from None
    return client, client.close


class DaskExecutor:
    def __init__(self, job: JudgeJob, grading: Grading, address: str):
        self.job = job
        self.grading = grading
        self.address = address

    def judge(self, units: list[ExtractedSubmission], on_verdict: OnVerdict) -> None:
        address, fingerprint = self.address, self.grading.checks_fingerprint
        client, close = connect(address)
        token = uuid.uuid4().hex[:12]
        plugin_name = f"grader-judges-{token}"
        by_path = {unit.path: unit for unit in units}
        payloads = {unit.path: unit.model_dump_json() for unit in units}
        attempts: dict[str, int] = {}
        futures: dict = {}
        try:
            client.register_plugin(JudgePool(self.job.model_dump_json()), name=plugin_name)
            if not client.scheduler_info().get("workers"):
                raise GraderError(f"--cluster {address}: the scheduler has no workers; start some (dask worker "
                                  f"{address}) and try again")
            completed = as_completed()
            order = {path: index for index, path in enumerate(by_path)}

            def submit(path: str) -> None:
                attempts[path] = attempts.get(path, 0) + 1
                future = client.submit(judge_unit, plugin_name, payloads[path], pure=False,
                                       key=f"grader-{token}-{order[path]}-{attempts[path]}")
                futures[future] = path
                completed.add(future)

            for path in by_path:
                submit(path)
            for future in completed:
                path = futures.pop(future)
                try:
                    message_json, where = future.result()
                except KilledWorker:
                    on_verdict(self.grading.error(
                        path, by_path[path].student, sha256=by_path[path].sha256,
                        message="every Dask worker that judged this submission died; grade it alone to see why"))
                    continue
                except Exception as error:  # the task itself failed on the worker: a set-up problem there
                    raise GraderError(f"--cluster {address}: a Dask worker could not judge {path}: "
                                      f"{type(error).__name__}: {error}") from None
                finally:
                    future.release()
                message = decode(message_json)
                if isinstance(message, Judged):
                    verdict = Verdict.model_validate_json(message.verdict_json)
                    if verdict.checks_fingerprint != fingerprint or verdict.grader_version != __version__:
                        raise GraderError(f"Dask worker {where} has other checks of {self.job.assignment} or "
                                          f"another grader version ({verdict.grader_version}) than this machine "
                                          f"({__version__}); give every worker the same grader install and "
                                          "assignments folder")
                    on_verdict(verdict)
                elif isinstance(message, Crashed) and attempts[path] < MAX_ATTEMPTS:
                    submit(path)
                elif isinstance(message, Crashed):
                    on_verdict(self.grading.error(
                        path, by_path[path].student, sha256=by_path[path].sha256,
                        message=f"the grading worker died twice while judging this submission (exit "
                                f"{message.exitcode}); grade it alone to see why"))
                else:
                    raise GraderError(f"Dask worker {where}: {getattr(message, 'message', message)}")
        finally:
            if futures:
                client.cancel(list(futures))
            try:
                client.unregister_worker_plugin(plugin_name)  # stops the judges on a long-lived cluster
            except Exception:
                pass
            close()


def sandbox_reports(address: str) -> dict[str, dict[str, bool]]:
    """What `grader doctor --cluster` shows: each worker's sandbox self-check, by worker."""
    from grader.doctor import sandbox_report

    client, close = connect(address)
    try:
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            raise GraderError(f"--cluster {address}: the scheduler has no workers")
        futures = {client.submit(sandbox_report, pure=False, workers=[worker], allow_other_workers=False,
                                 key=f"grader-doctor-{uuid.uuid4().hex[:12]}"):
                   f"{info['name']} ({worker})" if isinstance(info.get("name"), str) else worker
                   for worker, info in workers.items()}
        return {name: future.result() for future, name in futures.items()}
    finally:
        close()
