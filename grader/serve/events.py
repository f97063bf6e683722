"""What a forge's webhook asks the service to do, as plain data: grade this commit of this repository.

Each forge's module (``grader.serve.github``, ``grader.serve.gitlab``) checks the request's signature
and turns its event into a ``CommitToGrade``, or says why the event is ignored.
"""

from __future__ import annotations

import re
import urllib.parse
from abc import ABC, abstractmethod
from typing import Mapping

from pydantic import BaseModel

SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class CommitToGrade(BaseModel):
    forge: str  # "github" or "gitlab"
    project: str  # owner/name on GitHub, the project id on GitLab: where comments go
    repository: str  # the repository's name, matched against the pattern
    clone_url: str
    sha: str
    ref: str = ""
    pull_request: int | None = None  # None: a push, answered with a commit comment


class Ignored(Exception):
    """An event the service does not grade: answered 202 with this reason."""


class WebhookSource(ABC):
    name: str
    path: str  # the endpoint: /webhook/<name>

    @abstractmethod
    def authentic(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        """The request carries the shared secret's proof (constant-time comparison)."""

    @abstractmethod
    def commit(self, headers: Mapping[str, str], payload: dict) -> CommitToGrade:
        """The commit to grade, or ``Ignored``."""

    @abstractmethod
    def delivery(self, headers: Mapping[str, str]) -> str:
        """The forge's id of this delivery, for the log."""

    @abstractmethod
    def commit_comment(self, api_url: str, project: str, sha: str, body: str) -> tuple[str, dict]:
        """The URL and JSON payload that comment on one commit (a push without a pull request)."""

    @abstractmethod
    def git_user(self) -> str:
        """The user name that goes with the API token when git fetches over https."""


def field(payload, *keys, kind=str):
    """payload[k1][k2]...; ``Ignored`` when a part is missing or of another type."""
    value = payload
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise Ignored(f"the event has no {'.'.join(keys)}")
    return value


def checked_sha(sha: str) -> str:
    if not SHA.fullmatch(sha) or set(sha) == {"0"}:
        raise Ignored("the event names no commit (a deleted branch?)")
    return sha


def checked_clone_url(url: str) -> str:
    """A URL git may fetch from: no credentials in it, no option-like or local path forms."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http", "file") or parts.username or parts.password or url.startswith("-"):
        raise Ignored("the event's clone URL is not an http(s) or file URL without credentials")
    return url
