"""The service's HTTP side (standard library): webhooks in, 202 at once; /healthz and /status for the operator.

A webhook is checked before anything else: a request without the secret's proof gets 401 and
changes nothing. A genuine event the service does not grade gets 202 and a reason.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from grader.serve.config import ServiceConfig
from grader.serve.events import Ignored
from grader.serve.logs import EventLog
from grader.serve.queue import JobQueue
from grader.serve.sources import SOURCES

MAX_BODY = 5 << 20  # GitHub's own cap is 25 MB; a push event for one student's repository is kilobytes
READ_TIMEOUT = 10.0

PRIVATE_FIELDS = {"student", "score", "max_score", "message", "pull_request"}


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, config: ServiceConfig, queue: JobQueue, log: EventLog, wake: threading.Event, workers):
        self.config, self.queue, self.log, self.wake, self.workers = config, queue, log, wake, workers
        self.assignments = {path.parent.name for path in config.checks_dir.glob("*/assignment.toml")}
        super().__init__((config.host, config.port), Handler)

    def handle_error(self, request, client_address) -> None:
        """A request that broke off (a timeout, a reset): one log line, not a traceback on stderr."""
        import sys

        error = sys.exc_info()[1]
        self.log("request.failed", level="warning", client=client_address[0],
                 error=f"{type(error).__name__}: {str(error)[:200]}")


class Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "grader-serve"
    sys_version = ""
    timeout = READ_TIMEOUT

    def log_message(self, *args) -> None:  # the service logs its own structured lines
        pass

    def reply(self, status: int, data: dict) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            return self.reply(200, {"ok": True})
        if self.path == "/status":
            summary = self.server.queue.summary()
            # The webhook port is reachable by anyone who can reach the forge's side of it: no student's
            # name, score or message here (the gradebook has them).
            summary["last_verdicts"] = [{key: value for key, value in verdict.items() if key not in PRIVATE_FIELDS}
                                        for verdict in summary["last_verdicts"]]
            summary["workers"] = self.server.workers()
            return self.reply(200, summary)
        self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        source = next((s for s in SOURCES.values() if s.path == self.path.split("?", 1)[0]), None)
        if source is None:
            return self.reply(404, {"error": "not found"})
        log = self.server.log
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            return self.reply(411, {"error": "Content-Length required"})
        if int(length) > MAX_BODY:
            log("webhook.refused", level="warning", forge=source.name, reason="too large", bytes=int(length))
            return self.reply(413, {"error": "too large"})
        body = self.rfile.read(int(length))
        headers = {name.lower(): value for name, value in self.headers.items()}
        delivery = source.delivery(headers)
        if not source.authentic(headers, body, self.server.config.webhook_secret.get_secret_value()):
            log("webhook.refused", level="warning", forge=source.name, delivery=delivery, reason="bad signature",
                client=self.client_address[0])
            return self.reply(401, {"error": "bad signature"})
        if headers.get("x-github-event") == "ping":
            return self.reply(200, {"pong": True})
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError
        except ValueError:
            return self.reply(400, {"error": "the body is not a JSON object"})
        try:
            commit = source.commit(headers, payload)
            matched = self.server.config.repository_match(commit.project, commit.repository)
            if matched is None:
                raise Ignored(f"repository {commit.repository[:100]} is not in --repos and does not match the pattern")
            assignment, student = matched
            if assignment not in self.server.assignments:
                raise Ignored(f"no assignment {assignment[:100]} in the checks folder")
            if self.server.config.account(source.name) is None:
                raise Ignored(f"the service has no {source.name} token")
        except Ignored as why:
            log("webhook.ignored", forge=source.name, delivery=delivery, reason=str(why))
            return self.reply(202, {"ignored": str(why)})
        try:
            job, superseded = self.server.queue.add(commit, assignment, student)
        except Exception as error:  # the forge retries a failed delivery (or the operator redelivers it)
            log("webhook.failed", level="error", forge=source.name, delivery=delivery,
                error=f"{type(error).__name__}: {str(error)[:300]}")
            return self.reply(503, {"error": "the queue is unavailable; redeliver later"})
        if job is None:
            log("webhook.ignored", forge=source.name, delivery=delivery, reason="graded on its pull request",
                sha=commit.sha)
            return self.reply(202, {"ignored": "this commit is graded on its pull request"})
        log("webhook.queued", forge=source.name, delivery=delivery, job=job, assignment=assignment, student=student,
            sha=commit.sha, pull_request=commit.pull_request, superseded=superseded)
        self.server.wake.set()
        self.reply(202, {"queued": job, "superseded": superseded})
