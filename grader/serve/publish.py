"""Posting the service's comment: one per pull request, kept up to date; one per pushed commit."""

from __future__ import annotations

from grader.ci.client import ForgeClient, find_marked_comment
from grader.ci.forge import CommentError, PullRequest
from grader.serve.comment import marker
from grader.serve.config import ServiceConfig
from grader.serve.events import CommitToGrade
from grader.serve.sources import SOURCES


def _target(config: ServiceConfig, commit: CommitToGrade) -> PullRequest:
    account = config.account(commit.forge)
    if account is None:
        raise CommentError(f"no token for {commit.forge}")
    return PullRequest(provider=commit.forge, api_url=account.api_url, project=commit.project,
                       number=commit.pull_request or 0, token=account.token, token_variable=account.token_variable)


def current_body(config: ServiceConfig, commit: CommitToGrade, assignment: str) -> str | None:
    """The pull request's comment as it stands (None: none yet, or a push)."""
    if commit.pull_request is None:
        return None
    comments = ForgeClient(_target(config, commit)).list_comments()
    found = find_marked_comment(_ours(config, commit, comments), marker(assignment))
    return found["body"] if found else None


_own_logins: dict[tuple[str, str], str | None] = {}  # (forge, API) -> who the token posts as (None: cannot tell)


def own_login(config: ServiceConfig, commit: CommitToGrade) -> str | None:
    """Who the service's token is (GET /user), asked once: only that account's comment is ever edited, so a
    comment someone else starts with the marker is left alone. An app token cannot tell: the marker decides."""
    target = _target(config, commit)
    key = (commit.forge, target.api_url)
    if key not in _own_logins:
        try:
            data, _ = ForgeClient(target).request("GET", f"{target.api_url}/user")
        except CommentError:
            data = {}
        login = data.get("login") or data.get("username") if isinstance(data, dict) else None
        _own_logins[key] = login if isinstance(login, str) and login else None
    return _own_logins[key]


def _author(comment: dict) -> str | None:
    for key, name in (("user", "login"), ("author", "username")):
        who = comment.get(key)
        if isinstance(who, dict) and isinstance(who.get(name), str):
            return who[name]
    return None


def _ours(config: ServiceConfig, commit: CommitToGrade, comments: list[dict]) -> list[dict]:
    login = own_login(config, commit)
    return comments if login is None else [comment for comment in comments if _author(comment) == login]


def publish(config: ServiceConfig, commit: CommitToGrade, assignment: str, body: str) -> str:
    """Create or update the comment; returns its URL (may be empty). ``CommentError`` on failure."""
    target = _target(config, commit)
    account = config.account(commit.forge)
    if commit.pull_request is not None:
        client = ForgeClient(target)
        existing = find_marked_comment(_ours(config, commit, client.list_comments()), marker(assignment))
        result = client.create(body) if existing is None else client.update(existing["id"], body)
        return result.url
    url, payload = SOURCES[commit.forge].commit_comment(account.api_url, commit.project, commit.sha, body)
    created, _ = ForgeClient(target).request("POST", url, payload)
    link = created.get("html_url") if isinstance(created, dict) else ""
    return link if isinstance(link, str) else ""
