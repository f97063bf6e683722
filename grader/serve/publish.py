"""Posting the service's comment: one per pull request, kept up to date; one per pushed commit."""

from __future__ import annotations

from grader.ci.client import ForgeClient, publish_comment
from grader.ci.forge import CommentError, PullRequest
from grader.serve.comment import marker
from grader.serve.config import ServiceConfig
from grader.serve.events import CommitToGrade
from grader.serve.sources import SOURCES


def publish(config: ServiceConfig, commit: CommitToGrade, assignment: str, body: str) -> str:
    """Create or update the comment; returns its URL (may be empty). ``CommentError`` on failure."""
    account = config.account(commit.forge)
    if account is None:
        raise CommentError(f"no token for {commit.forge}")
    target = PullRequest(provider=commit.forge, api_url=account.api_url, project=commit.project,
                         number=commit.pull_request or 0, token=account.token, token_variable=account.token_variable)
    if commit.pull_request is not None:
        return publish_comment(target, marker(assignment), body).url
    url, payload = SOURCES[commit.forge].commit_comment(account.api_url, commit.project, commit.sha, body)
    created, _ = ForgeClient(target).request("POST", url, payload)
    link = created.get("html_url") if isinstance(created, dict) else ""
    return link if isinstance(link, str) else ""
