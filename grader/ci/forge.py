"""What `grader ci` needs from a forge (GitHub, GitLab, ...): the interface each forge module implements.

A forge knows how its CI announces itself in the environment, which pull request a job
runs for, where its token is, the URLs of a pull request's comments and how to page
through them, how the token is sent, and what to tell the user when the API refuses.
The HTTP itself (``grader.ci.client``) and the choice of forge (``grader.ci.forges``)
are shared by every forge.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Mapping

from pydantic import BaseModel, SecretStr, field_validator


class CommentError(Exception):
    """The comment could not be posted: missing settings or an API failure. One line, no token."""


class PullRequest(BaseModel):
    """Where the comment goes, read from the CI job's environment."""

    provider: str  # a forge's name in grader.ci.forges.FORGES
    api_url: str
    project: str = ""  # owner/name on GitHub, the project id on GitLab
    number: int
    token: SecretStr
    token_variable: str
    author: str = ""

    @field_validator("provider")
    @classmethod
    def _known_forge(cls, provider: str) -> str:
        from grader.ci.forges import forge_named

        forge_named(provider)
        return provider

    @property
    def forge(self) -> "Forge":
        from grader.ci.forges import forge_named

        return forge_named(self.provider)

    @property
    def label(self) -> str:
        return self.forge.label(self)


class CommentResult(BaseModel):
    action: str  # "created" or "updated"
    comment_id: int
    url: str = ""


def next_link(link_header: str) -> str | None:
    """The rel="next" URL of an RFC 8288 Link header (GitHub's and GitLab's pagination)."""
    for part in link_header.split(","):
        match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', part)
        if match:
            return match.group(1)
    return None


def redact(text: str, secrets: list[str]) -> str:
    """Defence in depth: the sandbox never sees a token, but no output may ever hold one."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Forge(ABC):
    """One forge's API and CI environment. Subclasses are registered in grader.ci.forges."""

    name: str  # the --provider value
    title: str  # in messages: "GitHub API: ..."
    ci_title: str  # the CI service, in messages
    token_variables: tuple[str, ...]  # looked up in this order
    workspace_variable: str  # the checkout's root in a job
    summary_variable: str | None = None  # a file the CI shows as the job's summary, where it has one
    api_url_variable: str  # named when the API cannot be reached
    hint_variable: str  # named when no forge can be told from the environment
    request_noun: str  # "pull request", "merge request"
    update_method: str  # the HTTP method that edits a comment
    accept: str = "application/json"
    writes_workflow_commands = False  # whether `::error` lines in the log become annotations

    # -- the CI environment --------------------------------------------------------------

    @abstractmethod
    def runs_here(self, environ: Mapping[str, str]) -> bool:
        """The CI's own flag says this job runs on it (GITHUB_ACTIONS=true, GITLAB_CI=true)."""

    @abstractmethod
    def hinted_by(self, environ: Mapping[str, str]) -> bool:
        """No flag, but variables only this forge's CI sets."""

    @abstractmethod
    def pull_request(self, environ: Mapping[str, str], token_variable: str | None) -> PullRequest:
        """The pull request this job runs for; a CommentError naming what to set otherwise."""

    def token(self, environ: Mapping[str, str], token_variable: str | None) -> tuple[str, str]:
        """(variable, token): the first of the forge's variables that is set, or the one the user named."""
        for name in (token_variable,) if token_variable else self.token_variables:
            if environ.get(name):
                return name, environ[name]
        return "", ""

    def workspace(self, environ: Mapping[str, str]) -> str | None:
        return environ.get(self.workspace_variable) or None

    def summary_file(self, environ: Mapping[str, str]) -> str | None:
        return environ.get(self.summary_variable) or None if self.summary_variable else None

    # -- the API ---------------------------------------------------------------------------

    @abstractmethod
    def comments_url(self, pull_request: PullRequest) -> str:
        """Where a pull request's comments are listed and created."""

    @abstractmethod
    def comment_url(self, pull_request: PullRequest, comment_id: int) -> str:
        """Where one comment is edited."""

    @abstractmethod
    def first_page_url(self, pull_request: PullRequest, per_page: int) -> str:
        """The first page of the comments, oldest first."""

    def next_page_url(self, url: str, headers: Mapping[str, str]) -> str | None:
        """The next page after ``url`` (maybe relative), from the answer's headers; None on the last page."""
        return next_link(headers.get("Link", "") or "")

    @abstractmethod
    def auth_header(self, pull_request: PullRequest) -> tuple[str, str]:
        """(header, value) carrying the token; sent unredirected, so never to another host."""

    def extra_headers(self) -> dict[str, str]:
        return {}

    @abstractmethod
    def label(self, pull_request: PullRequest) -> str:
        """How people write the pull request: owner/name#7, 42!3."""

    @abstractmethod
    def forbidden_hint(self, pull_request: PullRequest) -> str:
        """What to change when the API answers 403."""

    def error_hint(self, pull_request: PullRequest, status: int) -> str:
        """The fix for an HTTP error status, in a few words."""
        if status == 401:
            return f"the token in ${pull_request.token_variable} was refused (expired or wrong)"
        if status == 403:
            return self.forbidden_hint(pull_request)
        if status == 404:
            return f"no such {self.request_noun} {pull_request.label}, or the token cannot see it"
        if status >= 500:
            return f"{self.title} had a server error; run the job again"
        return "the API refused the request"
