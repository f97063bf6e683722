"""`grader serve`: the grading service that takes the forge's webhooks and grades with the hidden checks.

It runs on a machine the students cannot touch: the checks, the reference solutions and the
token stay there. ``serve`` starts the HTTP side in a thread and grades in the calling thread.
"""

from __future__ import annotations

import signal
import threading

from grader.errors import GraderError
from grader.serve.config import ServiceConfig, service_config
from grader.serve.logs import EventLog

__all__ = ["ServiceConfig", "service_config", "run_service"]


def run_service(config: ServiceConfig, stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop`` is set); what was queued stays queued for the next start."""
    from grader.serve.queue import JobQueue
    from grader.serve.server import WebhookServer
    from grader.serve.worker import GradingWorker
    from grader.store import Gradebook

    stop = stop or threading.Event()
    log = EventLog(config.secrets())
    if not config.cluster:
        check_sandbox(config, log)
    gradebook = Gradebook(config.db_url, create=True)
    queue = JobQueue(gradebook.engine, config.settle_seconds)
    requeued = queue.requeue_interrupted()
    worker = GradingWorker(config, queue, gradebook, log, batch_size=config.batch_size)
    try:
        server = WebhookServer(config, queue, log, worker.wake,
                               workers=lambda: {"grading": worker.busy, "batch": config.batch_size,
                                                "cluster": config.cluster or None})
    except OSError as error:
        gradebook.close()
        raise GraderError(f"cannot listen on {config.host}:{config.port}: {error.strerror}; choose another --port "
                          "or --host") from None
    thread = threading.Thread(target=server.serve_forever, name="webhooks", daemon=True)
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: (stop.set(), worker.wake.set()))
    thread.start()
    log("service.started", host=config.host, port=server.server_address[1], checks=str(config.checks_dir),
        db=gradebook.engine.url.render_as_string(hide_password=True), requeued=requeued,
        limit=config.limit_text, forges=[name for name in ("github", "gitlab") if config.account(name)])
    if config.weak_secret:
        log("service.weak_secret", level="warning",
            advice="GRADER_WEBHOOK_SECRET has under 16 characters; register a longer one (secrets.token_hex(32))")
    try:
        worker.run(stop)
    finally:
        server.shutdown()
        server.server_close()
        gradebook.close()
        log("service.stopped")


def check_sandbox(config: ServiceConfig, log: EventLog) -> None:
    """Refuse to start where every push would fail on an unisolated sandbox: say so once, at the start."""
    from grader.doctor import sandbox_report
    from grader.sandbox.layers import missing_isolation

    layers = sandbox_report()
    missing = missing_isolation(layers)
    log("service.sandbox", layers=sorted(key for key, held in layers.items() if held), missing=missing)
    if missing and not config.allow_unisolated:
        raise GraderError(f"this machine's sandbox lacks {' and '.join(missing)}: install bubblewrap "
                          "(apt-get install -y bubblewrap) or pass --allow-unisolated; grader doctor says more")
