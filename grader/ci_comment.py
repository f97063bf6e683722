"""One comment per assignment on a pull request (GitHub) or merge request (GitLab), kept up to date.

The first run creates the comment; later runs find it again by its hidden marker and
edit it. Only the standard library talks HTTP (``urllib.request``), with a timeout on
every request. The token goes in one header, never in a URL, a message or a redirect
to another host; pagination links that leave the API's host are not followed.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Literal, Mapping

from pydantic import BaseModel, SecretStr

from grader import __version__

DEFAULT_GITHUB_API = "https://api.github.com"
GITHUB_TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
GITLAB_TOKEN_VARIABLES = ("GITLAB_TOKEN", "GRADER_GITLAB_TOKEN", "CI_JOB_TOKEN")
PER_PAGE = 100
MAX_PAGES = 100


class CommentError(Exception):
    """The comment could not be posted: missing settings or an API failure. One line, no token."""


class PullRequest(BaseModel):
    """Where the comment goes, read from the CI job's environment."""

    provider: Literal["github", "gitlab"]
    api_url: str
    project: str = ""  # owner/name on GitHub, the project id on GitLab
    number: int
    token: SecretStr
    token_variable: str
    author: str = ""

    @property
    def label(self) -> str:
        return f"{self.project}#{self.number}" if self.provider == "github" else f"{self.project}!{self.number}"


class CommentResult(BaseModel):
    action: Literal["created", "updated"]
    comment_id: int
    url: str = ""


def detect_provider(environ: Mapping[str, str]) -> Literal["github", "gitlab"] | None:
    """GitHub Actions or GitLab CI, from the variables each sets."""
    if environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    if environ.get("GITLAB_CI") == "true":
        return "gitlab"
    if environ.get("GITHUB_REPOSITORY") or environ.get("GITHUB_EVENT_PATH"):
        return "github"
    if environ.get("CI_API_V4_URL") or environ.get("CI_MERGE_REQUEST_IID"):
        return "gitlab"
    return None


def _token(environ: Mapping[str, str], variables: tuple[str, ...]) -> tuple[str, str]:
    for name in variables:
        if environ.get(name):
            return name, environ[name]
    return "", ""


def github_pull_request(environ: Mapping[str, str]) -> tuple[int | None, str]:
    """The PR number and author from the event payload ($GITHUB_EVENT_PATH), else refs/pull/N/merge."""
    event: dict = {}
    event_path = environ.get("GITHUB_EVENT_PATH")
    if event_path:
        try:
            with open(event_path, encoding="utf-8") as handle:
                loaded = json.load(handle)
        except (OSError, ValueError) as error:
            raise CommentError(f"cannot read the event payload GITHUB_EVENT_PATH={event_path}: "
                               f"{type(error).__name__}") from None
        event = loaded if isinstance(loaded, dict) else {}
    issue = event.get("issue") if isinstance(event.get("issue"), dict) else {}
    for candidate in (event.get("pull_request"), issue if issue.get("pull_request") else None, event):
        if isinstance(candidate, dict) and isinstance(candidate.get("number"), int):
            user = candidate.get("user") if isinstance(candidate.get("user"), dict) else {}
            login = user.get("login") if isinstance(user.get("login"), str) else ""
            return candidate["number"], login
    match = re.fullmatch(r"refs/pull/(\d+)/(merge|head)", environ.get("GITHUB_REF", ""))
    return (int(match.group(1)) if match else None), ""


def pull_request_from_environment(environ: Mapping[str, str] | None = None, provider: str = "auto",
                                  token_variable: str | None = None) -> PullRequest:
    """The pull request this CI job runs for; a CommentError naming what is missing otherwise."""
    environ = os.environ if environ is None else environ
    if provider not in ("auto", "github", "gitlab"):
        raise CommentError(f"--provider {provider}: expected auto, github or gitlab")
    chosen = detect_provider(environ) if provider == "auto" else provider
    if chosen == "github":
        name, token = _token(environ, (token_variable,) if token_variable else GITHUB_TOKEN_VARIABLES)
        if not token:
            raise CommentError(f"no token in ${token_variable or 'GITHUB_TOKEN'}; pass it to the step: "
                               "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}")
        repository = environ.get("GITHUB_REPOSITORY", "")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise CommentError(f"GITHUB_REPOSITORY={repository!r} is not owner/name; run inside GitHub Actions "
                               "or set it")
        number, author = github_pull_request(environ)
        if number is None:
            raise CommentError("this job is not running for a pull request (no pull_request.number in "
                               "$GITHUB_EVENT_PATH); trigger the workflow on: pull_request")
        return PullRequest(provider="github", api_url=(environ.get("GITHUB_API_URL") or DEFAULT_GITHUB_API).rstrip("/"),
                           project=repository, number=number, token=SecretStr(token), token_variable=name,
                           author=author or environ.get("GITHUB_ACTOR", ""))
    if chosen == "gitlab":
        name, token = _token(environ, (token_variable,) if token_variable else GITLAB_TOKEN_VARIABLES)
        if not token:
            raise CommentError(f"no token in ${token_variable or 'GITLAB_TOKEN'}; add a project access token "
                               "with the api scope as a masked CI/CD variable GITLAB_TOKEN")
        api_url = environ.get("CI_API_V4_URL", "").rstrip("/")
        project = environ.get("CI_PROJECT_ID", "")
        iid = environ.get("CI_MERGE_REQUEST_IID", "")
        if not api_url or not project:
            raise CommentError("CI_API_V4_URL and CI_PROJECT_ID are not set; run inside GitLab CI")
        if not iid.isdigit():
            raise CommentError("CI_MERGE_REQUEST_IID is not set: this job is not a merge request pipeline; "
                               "add rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"")
        return PullRequest(provider="gitlab", api_url=api_url, project=project, number=int(iid),
                           token=SecretStr(token), token_variable=name, author=environ.get("GITLAB_USER_LOGIN", ""))
    raise CommentError("cannot tell GitHub Actions from GitLab CI: neither GITHUB_REPOSITORY nor CI_API_V4_URL "
                       "is set; run inside one of them or pass --provider")


def _next_link(link_header: str) -> str | None:
    for part in link_header.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class ForgeClient:
    """The small part of a forge's REST API the bot uses: list, create and edit comments."""

    def __init__(self, pull_request: PullRequest, timeout: float = 10.0):
        self.pr = pull_request
        self.timeout = timeout
        self.origin = _origin(pull_request.api_url)
        self.name = "GitHub" if pull_request.provider == "github" else "GitLab"
        # A redirect is followed without the token (it is an "unredirected" header), so a
        # redirect to another host never carries it; the API then answers 401, which we report.
        self.opener = urllib.request.build_opener()

    # -- the two APIs --------------------------------------------------------------

    def comments_url(self) -> str:
        if self.pr.provider == "github":
            return f"{self.pr.api_url}/repos/{self.pr.project}/issues/{self.pr.number}/comments"
        project = urllib.parse.quote(self.pr.project, safe="")
        return f"{self.pr.api_url}/projects/{project}/merge_requests/{self.pr.number}/notes"

    def comment_url(self, comment_id: int) -> str:
        if self.pr.provider == "github":
            return f"{self.pr.api_url}/repos/{self.pr.project}/issues/comments/{comment_id}"
        return f"{self.comments_url()}/{comment_id}"

    def list_comments(self) -> list[dict]:
        if self.pr.provider == "github":
            url = f"{self.comments_url()}?per_page={PER_PAGE}"
        else:
            url = f"{self.comments_url()}?per_page={PER_PAGE}&sort=asc&order_by=created_at&page=1"
        comments: list[dict] = []
        for _ in range(MAX_PAGES):
            page, headers = self.request("GET", url)
            if not isinstance(page, list):
                raise CommentError(f"{self.name} API: GET {self._path(url)}: expected a list of comments")
            comments += [item for item in page if isinstance(item, dict)]
            url = self._next_page(url, headers)
            if url is None:
                break
        return comments

    def _next_page(self, url: str, headers) -> str | None:
        next_url = _next_link(headers.get("Link", "") or "")
        if next_url is None and self.pr.provider == "gitlab" and (headers.get("X-Next-Page") or "").isdigit():
            parts = urllib.parse.urlsplit(url)
            query = dict(urllib.parse.parse_qsl(parts.query))
            query["page"] = headers["X-Next-Page"]
            next_url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
        if next_url is None:
            return None
        next_url = urllib.parse.urljoin(url, next_url)
        if _origin(next_url) != self.origin:
            raise CommentError(f"{self.name} API: the next page of comments is on another host "
                               f"({_origin(next_url)[1]}); not sending the token there")
        return next_url

    def create(self, body: str) -> CommentResult:
        created, _ = self.request("POST", self.comments_url(), {"body": body})
        return self._result("created", created)

    def update(self, comment_id: int, body: str) -> CommentResult:
        method = "PATCH" if self.pr.provider == "github" else "PUT"
        updated, _ = self.request(method, self.comment_url(comment_id), {"body": body})
        return self._result("updated", updated, comment_id)

    def _result(self, action: str, data, fallback_id: int | None = None) -> CommentResult:
        comment_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(comment_id, int):
            if fallback_id is None:
                raise CommentError(f"{self.name} API: the created comment came back without an id")
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
        request.add_header("Accept", "application/vnd.github+json" if self.pr.provider == "github"
                           else "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        token = self.pr.token.get_secret_value()
        if self.pr.provider == "github":
            request.add_header("X-GitHub-Api-Version", "2022-11-28")
            request.add_unredirected_header("Authorization", f"Bearer {token}")
        elif self.pr.token_variable == "CI_JOB_TOKEN":
            request.add_unredirected_header("JOB-TOKEN", token)
        else:
            request.add_unredirected_header("PRIVATE-TOKEN", token)
        where = f"{self.name} API: {method} {self._path(url)}"
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
                headers = response.headers
        except urllib.error.HTTPError as error:
            raise CommentError(self.redact(f"{where}: HTTP {error.code} {error.reason}"
                                           f"{self._server_message(error)}; {self._hint(error.code)}")) from None
        except (TimeoutError, socket.timeout):
            raise CommentError(f"{where}: no answer within {self.timeout:g} s; the API is down or unreachable") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise CommentError(f"{where}: no answer within {self.timeout:g} s; the API is down or "
                                   "unreachable") from None
            raise CommentError(self.redact(f"{where}: cannot connect ({reason}); check "
                                           f"{'GITHUB_API_URL' if self.pr.provider == 'github' else 'CI_API_V4_URL'}"
                                           )) from None
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

    def _hint(self, status: int) -> str:
        variable = self.pr.token_variable
        if status == 401:
            return f"the token in ${variable} was refused (expired or wrong)"
        if status == 403:
            if self.pr.provider == "github":
                return ("the token may not write comments: give the job permissions: pull-requests: write "
                        "(pull requests from forks get a read-only token)")
            return f"the token in ${variable} may not write notes: use a project access token with the api scope"
        if status == 404:
            return (f"no such {'pull request' if self.pr.provider == 'github' else 'merge request'} "
                    f"{self.pr.label}, or the token cannot see it")
        if status >= 500:
            return f"{self.name} had a server error; run the job again"
        return "the API refused the request"

    def redact(self, text: str) -> str:
        token = self.pr.token.get_secret_value()
        return text.replace(token, "***") if token else text


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
