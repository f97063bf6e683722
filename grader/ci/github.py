"""GitHub (and GitHub Enterprise): Actions' environment, issue comments on a pull request."""

from __future__ import annotations

import json
import re
from typing import Mapping

from pydantic import SecretStr

from grader.ci.forge import CommentError, Forge, PullRequest

DEFAULT_API_URL = "https://api.github.com"


class GitHub(Forge):
    name = "github"
    title = "GitHub"
    ci_title = "GitHub Actions"
    token_variables = ("GITHUB_TOKEN", "GH_TOKEN")
    workspace_variable = "GITHUB_WORKSPACE"
    summary_variable = "GITHUB_STEP_SUMMARY"
    api_url_variable = "GITHUB_API_URL"
    hint_variable = "GITHUB_REPOSITORY"
    request_noun = "pull request"
    update_method = "PATCH"
    accept = "application/vnd.github+json"
    writes_workflow_commands = True

    def runs_here(self, environ: Mapping[str, str]) -> bool:
        return environ.get("GITHUB_ACTIONS") == "true"

    def hinted_by(self, environ: Mapping[str, str]) -> bool:
        return bool(environ.get("GITHUB_REPOSITORY") or environ.get("GITHUB_EVENT_PATH"))

    def pull_request(self, environ: Mapping[str, str], token_variable: str | None) -> PullRequest:
        name, token = self.token(environ, token_variable)
        if not token:
            raise CommentError(f"no token in ${token_variable or self.token_variables[0]}; pass it to the step: "
                               "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}")
        repository = environ.get("GITHUB_REPOSITORY", "")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise CommentError(f"GITHUB_REPOSITORY={repository!r} is not owner/name; run inside GitHub Actions "
                               "or set it")
        number, author = event_pull_request(environ)
        if number is None:
            raise CommentError("this job is not running for a pull request (no pull_request.number in "
                               "$GITHUB_EVENT_PATH); trigger the workflow on: pull_request")
        return PullRequest(provider=self.name, api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
                           project=repository, number=number, token=SecretStr(token), token_variable=name,
                           author=author or environ.get("GITHUB_ACTOR", ""))

    def comments_url(self, pull_request: PullRequest) -> str:
        return f"{pull_request.api_url}/repos/{pull_request.project}/issues/{pull_request.number}/comments"

    def comment_url(self, pull_request: PullRequest, comment_id: int) -> str:
        return f"{pull_request.api_url}/repos/{pull_request.project}/issues/comments/{comment_id}"

    def first_page_url(self, pull_request: PullRequest, per_page: int) -> str:
        return f"{self.comments_url(pull_request)}?per_page={per_page}"

    def auth_header(self, pull_request: PullRequest) -> tuple[str, str]:
        return "Authorization", f"Bearer {pull_request.token.get_secret_value()}"

    def extra_headers(self) -> dict[str, str]:
        return {"X-GitHub-Api-Version": "2022-11-28"}

    def label(self, pull_request: PullRequest) -> str:
        return f"{pull_request.project}#{pull_request.number}"

    def forbidden_hint(self, pull_request: PullRequest) -> str:
        return ("the token may not write comments: give the job permissions: pull-requests: write "
                "(pull requests from forks get a read-only token)")


def event_pull_request(environ: Mapping[str, str]) -> tuple[int | None, str]:
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
