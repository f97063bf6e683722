"""A loopback HTTP server speaking the parts of GitHub's and GitLab's REST APIs that `grader ci` uses.

GitHub (under /github, as GitHub Enterprise serves it under /api/v3): list issue comments
(per_page, page, a Link header), create one, edit one. GitLab (under /api/v4): list merge
request notes (per_page, page, X-Next-Page), create one, edit one. Both: comment on a commit
(``commit_comments``, for `grader serve`'s pushes without a pull request). Wrong tokens get 401,
unknown pull requests 404; ``fail`` makes chosen requests answer an error status or
stall. Every request is recorded with its headers and body for the tests to assert.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: str

    @property
    def json(self):
        return json.loads(self.body) if self.body else None


@dataclass
class Failure:
    method: str | None  # None: any
    status: int | str  # an HTTP status, or "stall" (answer nothing for ``seconds``)
    seconds: float = 0.0
    times: int = 1


@dataclass
class FakeForge:
    token: str
    requests: list[RecordedRequest] = field(default_factory=list)
    github: dict[tuple[str, int], list[dict]] = field(default_factory=dict)  # (owner/name, number) -> comments
    gitlab: dict[tuple[str, int], list[dict]] = field(default_factory=dict)  # (project id, iid) -> notes
    # (forge, owner/name or project id, sha) -> comments on that commit; any commit may be commented on
    commit_comments: dict[tuple[str, str, str], list[dict]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    next_link_base: str | None = None  # serve Link: next on another base URL (a hostile or broken API)
    answers_user: bool = False  # GET /user names the account the token posts as (else 404, as for an app token)
    next_id: int = 1000

    def __post_init__(self):
        self.lock = threading.Lock()
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                forge.handle(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- set-up ------------------------------------------------------------------------

    def __enter__(self) -> "FakeForge":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def comment(self, body: str, login: str = "someone", system: bool = False) -> dict:
        with self.lock:
            self.next_id += 1
            return {"id": self.next_id, "body": body, "user": {"login": login, "type": "User"},
                    "author": {"username": login}, "system": system}

    # -- serving -----------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        request = RecordedRequest(method=handler.command, path=parts.path,
                                  query=dict(urllib.parse.parse_qsl(parts.query)),
                                  headers={k.lower(): v for k, v in handler.headers.items()}, body=body)
        with self.lock:
            self.requests.append(request)
            failure = next((f for f in self.failures if f.times > 0 and f.method in (None, request.method)), None)
            if failure is not None:
                failure.times -= 1
        if failure is not None:
            if failure.status == "stall":
                time.sleep(failure.seconds)
                return
            return self.reply(handler, failure.status, {"message": "Service Unavailable" if failure.status >= 500
                                                        else "Injected failure"})
        if parts.path.startswith("/github/"):
            return self.serve_github(handler, request, parts.path.removeprefix("/github"))
        if parts.path.startswith("/api/v4/"):
            return self.serve_gitlab(handler, request, parts.path.removeprefix("/api/v4"))
        self.reply(handler, 404, {"message": "Not Found"})

    def reply(self, handler, status: int, data, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    def page(self, items: list[dict], query: dict[str, str]) -> tuple[list[dict], int, int | None]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = max(int(query.get("page", 1)), 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        return chunk, page, (page + 1 if page * per_page < len(items) else None)

    def serve_github(self, handler, request: RecordedRequest, path: str) -> None:
        if request.headers.get("authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
            return self.reply(handler, 401, {"message": "Bad credentials"})
        if path == "/user" and request.method == "GET" and self.answers_user:
            return self.reply(handler, 200, {"login": "github-actions[bot]"})
        on_commit = re.fullmatch(r"/repos/([^/]+/[^/]+)/commits/([0-9a-f]{40})/comments", path)
        if on_commit and request.method == "POST":
            created = self.comment(request.json["body"], login="grader-service")
            self.commit_comments.setdefault(("github", on_commit.group(1), on_commit.group(2)), []).append(created)
            return self.reply(handler, 201, created)
        listing = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path)
        edit = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)
        if listing:
            comments = self.github.get((listing.group(1), int(listing.group(2))))
            if comments is None:
                return self.reply(handler, 404, {"message": "Not Found"})
            if request.method == "GET":
                chunk, page, next_page = self.page(comments, request.query)
                headers = {}
                if next_page:
                    base = self.next_link_base or self.url
                    query = urllib.parse.urlencode({**request.query, "page": next_page})
                    headers["Link"] = f'<{base}{request.path}?{query}>; rel="next"'
                return self.reply(handler, 200, chunk, headers)
            if request.method == "POST":
                created = self.comment(request.json["body"], login="github-actions[bot]")
                created["user"]["type"] = "Bot"
                created["html_url"] = f"https://github.example/{listing.group(1)}/pull/{listing.group(2)}"
                comments.append(created)
                return self.reply(handler, 201, created)
        if edit and request.method == "PATCH":
            for comments in self.github.values():
                for comment in comments:
                    if comment["id"] == int(edit.group(2)):
                        comment["body"] = request.json["body"]
                        return self.reply(handler, 200, comment)
        self.reply(handler, 404, {"message": "Not Found"})

    def serve_gitlab(self, handler, request: RecordedRequest, path: str) -> None:
        if request.headers.get("private-token") != self.token and request.headers.get("job-token") != self.token:
            return self.reply(handler, 401, {"message": "401 Unauthorized"})
        if path == "/user" and request.method == "GET" and self.answers_user:
            return self.reply(handler, 200, {"username": "project_42_bot"})
        on_commit = re.fullmatch(r"/projects/([^/]+)/repository/commits/([0-9a-f]{40})/comments", path)
        if on_commit and request.method == "POST":
            created = self.comment(request.json["note"], login="project_42_bot")
            created["note"] = created["body"]
            key = ("gitlab", urllib.parse.unquote(on_commit.group(1)), on_commit.group(2))
            self.commit_comments.setdefault(key, []).append(created)
            return self.reply(handler, 201, created)
        match = re.fullmatch(r"/projects/([^/]+)/merge_requests/(\d+)/notes(?:/(\d+))?", path)
        notes = self.gitlab.get((urllib.parse.unquote(match.group(1)), int(match.group(2)))) if match else None
        if notes is None:
            return self.reply(handler, 404, {"message": "404 Not found"})
        if match.group(3) is None and request.method == "GET":
            chunk, page, next_page = self.page(notes, request.query)
            return self.reply(handler, 200, chunk, {"X-Page": str(page), "X-Next-Page": str(next_page or ""),
                                                    "X-Total": str(len(notes))})
        if match.group(3) is None and request.method == "POST":
            created = self.comment(request.json["body"], login="project_42_bot")
            notes.append(created)
            return self.reply(handler, 201, created)
        if match.group(3) is not None and request.method == "PUT":
            for note in notes:
                if note["id"] == int(match.group(3)):
                    note["body"] = request.json["body"]
                    return self.reply(handler, 200, note)
        self.reply(handler, 404, {"message": "404 Not found"})
