"""GitLab's webhooks: Push Hook and Merge Request Hook (open, reopen, update with new commits), X-Gitlab-Token."""

from __future__ import annotations

import hmac
import urllib.parse
from typing import Mapping

from grader.serve.events import CommitToGrade, Ignored, WebhookSource, checked_clone_url, checked_sha, field

MERGE_REQUEST_ACTIONS = {"open", "reopen", "update"}


class GitLabWebhooks(WebhookSource):
    name = "gitlab"
    path = "/webhook/gitlab"

    def authentic(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        return hmac.compare_digest(headers.get("x-gitlab-token", "").encode(), secret.encode())

    def delivery(self, headers: Mapping[str, str]) -> str:
        return (headers.get("x-gitlab-event-uuid") or headers.get("x-gitlab-webhook-uuid") or "")[:100]

    def commit_comment(self, api_url: str, project: str, sha: str, body: str) -> tuple[str, dict]:
        return f"{api_url}/projects/{urllib.parse.quote(project, safe='')}/repository/commits/{sha}/comments", \
            {"note": body}

    def git_user(self) -> str:
        return "oauth2"

    def _source_url(self, payload: dict) -> str:
        source = payload["object_attributes"].get("source")
        url = source.get("git_http_url") if isinstance(source, dict) else None
        return url if isinstance(url, str) else field(payload, "project", "git_http_url")

    def commit(self, headers: Mapping[str, str], payload: dict) -> CommitToGrade:
        kind = payload.get("object_kind")
        if kind == "merge_request":
            action = payload.get("object_attributes", {}).get("action") \
                if isinstance(payload.get("object_attributes"), dict) else None
            if action not in MERGE_REQUEST_ACTIONS:
                raise Ignored(f"merge request {str(action)[:40]} is not graded")
            attributes = payload["object_attributes"]
            if action == "update" and not attributes.get("oldrev"):
                raise Ignored("a merge request update without new commits is not graded")
            target = attributes.get("target_project_id")
            if not isinstance(target, int) or isinstance(target, bool):
                target = field(payload, "project", "id", kind=int)
            # The student is named by the target project: a merge request from another project (a classmate's
            # fork of it) would be graded and stored as that student's.
            if attributes.get("source_project_id") != target:
                raise Ignored("a merge request from another project (a fork) is not graded; push to the "
                              "project itself")
            return CommitToGrade(forge=self.name, project=str(target),
                                 repository=field(payload, "project", "path"),
                                 clone_url=checked_clone_url(self._source_url(payload)),
                                 sha=checked_sha(field(payload, "object_attributes", "last_commit", "id")),
                                 ref=str(attributes.get("source_branch") or "")[:200],
                                 pull_request=field(payload, "object_attributes", "iid", kind=int))
        if kind == "push":
            ref = field(payload, "ref")
            project = payload.get("project_id")
            if not isinstance(project, int) or isinstance(project, bool):
                project = field(payload, "project", "id", kind=int)
            return CommitToGrade(forge=self.name, project=str(project),
                                 repository=field(payload, "project", "path"),
                                 clone_url=checked_clone_url(field(payload, "project", "git_http_url")),
                                 sha=checked_sha(payload.get("checkout_sha") or field(payload, "after")),
                                 ref=ref[:200])
        raise Ignored(f"event {str(kind)[:40]} is not graded")
