"""One comment per assignment on a pull request, kept up to date, on any forge in grader.ci.forges.

The first run creates the comment; later runs find it again by its hidden marker and
edit it. Only the standard library talks HTTP (``urllib.request``), with a timeout on
every request. The token goes in one header, never in a URL, a message or a redirect
to another host; pagination links that leave the API's host are not followed.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request

from grader import __version__
from grader.ci.forge import CommentError, CommentResult, PullRequest, redact

PER_PAGE = 100
MAX_PAGES = 100


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class ForgeClient:
    """The small part of a forge's REST API the bot uses: list, create and edit comments."""

    def __init__(self, pull_request: PullRequest, timeout: float = 10.0):
        self.pr = pull_request
        self.forge = pull_request.forge
        self.timeout = timeout
        self.origin = _origin(pull_request.api_url)
        # A redirect is followed without the token (it is an "unredirected" header), so a
        # redirect to another host never carries it; the API then answers 401, which we report.
        self.opener = urllib.request.build_opener()

    def list_comments(self) -> list[dict]:
        url = self.forge.first_page_url(self.pr, PER_PAGE)
        comments: list[dict] = []
        for _ in range(MAX_PAGES):
            page, headers = self.request("GET", url)
            if not isinstance(page, list):
                raise CommentError(f"{self.forge.title} API: GET {self._path(url)}: expected a list of comments")
            comments += [item for item in page if isinstance(item, dict)]
            url = self._next_page(url, headers)
            if url is None:
                break
        return comments

    def _next_page(self, url: str, headers) -> str | None:
        next_url = self.forge.next_page_url(url, headers)
        if next_url is None:
            return None
        next_url = urllib.parse.urljoin(url, next_url)
        if _origin(next_url) != self.origin:
            raise CommentError(f"{self.forge.title} API: the next page of comments is on another host "
                               f"({_origin(next_url)[1]}); not sending the token there")
        return next_url

    def create(self, body: str) -> CommentResult:
        created, _ = self.request("POST", self.forge.comments_url(self.pr), {"body": body})
        return self._result("created", created)

    def update(self, comment_id: int, body: str) -> CommentResult:
        updated, _ = self.request(self.forge.update_method, self.forge.comment_url(self.pr, comment_id),
                                  {"body": body})
        return self._result("updated", updated, comment_id)

    def _result(self, action: str, data, fallback_id: int | None = None) -> CommentResult:
        comment_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(comment_id, int):
            if fallback_id is None:
                raise CommentError(f"{self.forge.title} API: the created comment came back without an id")
            comment_id = fallback_id
        url = data.get("html_url", "") if isinstance(data, dict) else ""
        return CommentResult(action=action, comment_id=comment_id, url=url if isinstance(url, str) else "")

    # -- HTTP ----------------------------------------------------------------------

    def _path(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def request(self, method: str, url: str, payload: dict | None = None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("User-Agent", f"grader-ci/{__version__}")
        request.add_header("Accept", self.forge.accept)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in self.forge.extra_headers().items():
            request.add_header(name, value)
        request.add_unredirected_header(*self.forge.auth_header(self.pr))
        where = f"{self.forge.title} API: {method} {self._path(url)}"
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                headers = response.headers
        except urllib.error.HTTPError as error:
            raise CommentError(self.redact(f"{where}: HTTP {error.code} {error.reason}"
                                           f"{self._server_message(error)}; "
                                           f"{self.forge.error_hint(self.pr, error.code)}")) from None
        except (TimeoutError, socket.timeout):
            raise CommentError(f"{where}: no answer within {self.timeout:g} s; the API is down or unreachable") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise CommentError(f"{where}: no answer within {self.timeout:g} s; the API is down or "
                                   "unreachable") from None
            raise CommentError(self.redact(f"{where}: cannot connect ({reason}); check "
                                           f"{self.forge.api_url_variable}")) from None
        except (OSError, http.client.HTTPException) as error:  # connection reset, bad status line, ...
            raise CommentError(self.redact(f"{where}: the connection failed ({type(error).__name__})")) from None
        try:
            return (json.loads(raw) if raw.strip() else {}), headers
        except ValueError:
            raise CommentError(f"{where}: the answer is not JSON") from None

    def _server_message(self, error: urllib.error.HTTPError) -> str:
        try:
            data = json.loads(error.read(4096) or b"{}")
        except (ValueError, OSError):
            return ""
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, str) or not message.strip():
            return ""
        return " (" + re.sub(r"[\x00-\x1f\x7f]+", " ", message).strip()[:200] + ")"

    def redact(self, text: str) -> str:
        return redact(text, [self.pr.token.get_secret_value()])


def find_marked_comment(comments: list[dict], marker: str) -> dict | None:
    """The comment an earlier run made: its body starts with the marker.

    Among several (someone copied the marker), one by a bot account (GitHub's
    github-actions[bot], which GITHUB_TOKEN posts as) comes first, then the oldest: ids
    grow with time on both forges.
    """
    marked = [comment for comment in comments
              if isinstance(comment.get("id"), int) and isinstance(comment.get("body"), str)
              and comment["body"].lstrip().startswith(marker) and not comment.get("system")]

    def by_bot(comment: dict) -> bool:
        user = comment.get("user")
        return isinstance(user, dict) and user.get("type") == "Bot"

    return min(marked, key=lambda comment: (not by_bot(comment), comment["id"])) if marked else None


def publish_comment(pull_request: PullRequest, marker: str, body: str, timeout: float = 10.0) -> CommentResult:
    """Create the comment carrying ``marker``, or edit the one an earlier run created."""
    client = ForgeClient(pull_request, timeout=timeout)
    existing = find_marked_comment(client.list_comments(), marker)
    if existing is None:
        return client.create(body)
    return client.update(existing["id"], body)
