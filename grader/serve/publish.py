"""Posting the service's comment: one per pull request, kept up to date; one per pushed commit."""

from __future__ import annotations

from grader.ci.client import ForgeClient, find_marked_comment, publish_comment
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
    found = find_marked_comment(ForgeClient(_target(config, commit)).list_comments(), marker(assignment))
    return found["body"] if found else None


def publish(config: ServiceConfig, commit: CommitToGrade, assignment: str, body: str) -> str:
    """Create or update the comment; returns its URL (may be empty). ``CommentError`` on failure."""
    target = _target(config, commit)
    account = config.account(commit.forge)
    if commit.pull_request is not None:
        return publish_comment(target, marker(assignment), body).url
    url, payload = SOURCES[commit.forge].commit_comment(account.api_url, commit.project, commit.sha, body)
    created, _ = ForgeClient(target).request("POST", url, payload)
    link = created.get("html_url") if isinstance(created, dict) else ""
    return link if isinstance(link, str) else ""
