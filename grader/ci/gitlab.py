"""GitLab (gitlab.com or self-hosted): GitLab CI's environment, notes on a merge request."""

from __future__ import annotations

import urllib.parse
from typing import Mapping

from pydantic import SecretStr

from grader.ci.forge import CommentError, Forge, PullRequest


class GitLab(Forge):
    name = "gitlab"
    title = "GitLab"
    ci_title = "GitLab CI"
    token_variables = ("GITLAB_TOKEN", "GRADER_GITLAB_TOKEN", "CI_JOB_TOKEN")
    workspace_variable = "CI_PROJECT_DIR"
    api_url_variable = "CI_API_V4_URL"
    hint_variable = "CI_API_V4_URL"
    request_noun = "merge request"
    update_method = "PUT"

    def runs_here(self, environ: Mapping[str, str]) -> bool:
        return environ.get("GITLAB_CI") == "true"

    def hinted_by(self, environ: Mapping[str, str]) -> bool:
        return bool(environ.get("CI_API_V4_URL") or environ.get("CI_MERGE_REQUEST_IID"))

    def pull_request(self, environ: Mapping[str, str], token_variable: str | None) -> PullRequest:
        name, token = self.token(environ, token_variable)
        if not token:
            raise CommentError(f"no token in ${token_variable or self.token_variables[0]}; add a project access "
                               "token with the api scope as a masked CI/CD variable GITLAB_TOKEN")
        api_url = environ.get("CI_API_V4_URL", "").rstrip("/")
        # A merge request from a fork runs in the fork's project; its notes live in the target project.
        project = environ.get("CI_MERGE_REQUEST_PROJECT_ID") or environ.get("CI_PROJECT_ID", "")
        iid = environ.get("CI_MERGE_REQUEST_IID", "")
        if not api_url or not project:
            raise CommentError("CI_API_V4_URL and CI_PROJECT_ID are not set; run inside GitLab CI")
        if not iid.isdigit():
            raise CommentError("CI_MERGE_REQUEST_IID is not set: this job is not a merge request pipeline; "
                               "add rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"")
        return PullRequest(provider=self.name, api_url=api_url, project=project, number=int(iid),
                           token=SecretStr(token), token_variable=name, author=environ.get("GITLAB_USER_LOGIN", ""))

    def comments_url(self, pull_request: PullRequest) -> str:
        project = urllib.parse.quote(pull_request.project, safe="")
        return f"{pull_request.api_url}/projects/{project}/merge_requests/{pull_request.number}/notes"

    def comment_url(self, pull_request: PullRequest, comment_id: int) -> str:
        return f"{self.comments_url(pull_request)}/{comment_id}"

    def first_page_url(self, pull_request: PullRequest, per_page: int) -> str:
        return f"{self.comments_url(pull_request)}?per_page={per_page}&sort=asc&order_by=created_at&page=1"

    def next_page_url(self, url: str, headers: Mapping[str, str]) -> str | None:
        linked = super().next_page_url(url, headers)
        next_page = headers.get("X-Next-Page") or ""
        if linked is not None or not next_page.isdigit():
            return linked
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        query["page"] = next_page
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def auth_header(self, pull_request: PullRequest) -> tuple[str, str]:
        token = pull_request.token.get_secret_value()
        return ("JOB-TOKEN", token) if pull_request.token_variable == "CI_JOB_TOKEN" else ("PRIVATE-TOKEN", token)

    def label(self, pull_request: PullRequest) -> str:
        return f"{pull_request.project}!{pull_request.number}"

    def forbidden_hint(self, pull_request: PullRequest) -> str:
        return (f"the token in ${pull_request.token_variable} may not write notes: use a project access token "
                "with the api scope")
