"""GitHub's webhooks: push and pull_request (opened, synchronize, reopened), signed with X-Hub-Signature-256."""

from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

from grader.serve.events import CommitToGrade, Ignored, WebhookSource, checked_clone_url, checked_sha, field

PULL_REQUEST_ACTIONS = {"opened", "synchronize", "reopened"}


class GitHubWebhooks(WebhookSource):
    name = "github"
    path = "/webhook/github"

    def authentic(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        given = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(given.encode(), expected.encode())

    def delivery(self, headers: Mapping[str, str]) -> str:
        return headers.get("x-github-delivery", "")[:100]

    def commit_comment(self, api_url: str, project: str, sha: str, body: str) -> tuple[str, dict]:
        return f"{api_url}/repos/{project}/commits/{sha}/comments", {"body": body}

    def git_user(self) -> str:
        return "x-access-token"

    def commit(self, headers: Mapping[str, str], payload: dict) -> CommitToGrade:
        event = headers.get("x-github-event", "")
        repository = field(payload, "repository", "name")
        project = field(payload, "repository", "full_name")
        if event == "pull_request":
            action = payload.get("action")
            if action not in PULL_REQUEST_ACTIONS:
                raise Ignored(f"pull_request {str(action)[:40]} is not graded")
            head = payload.get("pull_request", {}).get("head", {}) if isinstance(payload.get("pull_request"),
                                                                                    dict) else {}
            head_repo = head.get("repo") if isinstance(head, dict) else None
            # The student is named by the base repository: code from anywhere else (a classmate's fork of
            # it, a deleted fork) would be graded and stored as that student's.
            if not isinstance(head_repo, dict) or head_repo.get("full_name") != project:
                raise Ignored("a pull request from another repository (a fork) is not graded; push to the "
                              "repository itself")
            clone_url = field(payload, "repository", "clone_url")
            return CommitToGrade(forge=self.name, project=project, repository=repository,
                                 clone_url=checked_clone_url(clone_url),
                                 sha=checked_sha(field(payload, "pull_request", "head", "sha")),
                                 ref=str(head.get("ref") or "")[:200],
                                 pull_request=field(payload, "pull_request", "number", kind=int))
        if event == "push":
            ref = field(payload, "ref")
            if payload.get("deleted") is True:
                raise Ignored("a deleted branch is not graded")
            if not ref.startswith("refs/heads/"):
                raise Ignored("a pushed tag is not graded")
            return CommitToGrade(forge=self.name, project=project, repository=repository,
                                 clone_url=checked_clone_url(field(payload, "repository", "clone_url")),
                                 sha=checked_sha(field(payload, "after")), ref=ref[:200])
        raise Ignored(f"event {event[:40] or '(none)'} is not graded")
