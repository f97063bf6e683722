"""The grading service's pure parts: webhook signatures, events into commits, names, the rate limit, the view."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.models import CheckResult, Verdict
from grader.serve.comment import hidden_checks_for_students
from grader.serve.config import ServiceConfig
from grader.serve.events import Ignored
from grader.serve.fetch import token_goes_to
from grader.serve.github import GitHubWebhooks
from grader.serve.gitlab import GitLabWebhooks
from grader.serve.queue import next_allowed

SECRET = "0123456789abcdef-secret"
SHA = "a" * 40


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def pull_request(action: str = "opened", head_repo: dict | None = None) -> dict:
    repo = {"name": "hw2-alice", "full_name": "course/hw2-alice", "clone_url": "https://github.com/course/hw2-alice.git"}
    return {"action": action, "repository": repo,
            "pull_request": {"number": 4, "head": {"sha": SHA, "ref": "main", "repo": head_repo or repo}}}


def test_github_signature_of_the_exact_body_is_accepted():
    body = json.dumps(pull_request()).encode()
    assert GitHubWebhooks().authentic(signed(body), body, SECRET)


@pytest.mark.parametrize("headers", [{}, {"x-hub-signature-256": ""}, {"x-hub-signature-256": "sha256=00"},
                                     {"x-hub-signature-256": "sha1=" + "0" * 40}])
def test_github_missing_or_wrong_signatures_are_refused(headers):
    body = json.dumps(pull_request()).encode()
    assert not GitHubWebhooks().authentic(headers, body, SECRET)


def test_github_signature_of_another_body_is_refused():
    body = json.dumps(pull_request()).encode()
    assert not GitHubWebhooks().authentic(signed(body), body + b" ", SECRET)
    assert not GitHubWebhooks().authentic(signed(body, "another-secret-value"), body, SECRET)


def test_gitlab_token_must_equal_the_secret():
    assert GitLabWebhooks().authentic({"x-gitlab-token": SECRET}, b"{}", SECRET)
    assert not GitLabWebhooks().authentic({"x-gitlab-token": SECRET[:-1]}, b"{}", SECRET)
    assert not GitLabWebhooks().authentic({}, b"{}", SECRET)


def test_a_pull_request_from_a_classmates_fork_is_not_graded_as_the_base_repositorys_student():
    fork = {"name": "hw2-bob", "full_name": "alice/hw2-bob", "clone_url": "https://github.com/alice/hw2-bob.git"}
    with pytest.raises(Ignored, match="from another repository"):
        GitHubWebhooks().commit({"x-github-event": "pull_request"}, pull_request(head_repo=fork))


def test_a_pull_request_whose_fork_was_deleted_is_not_graded():
    payload = pull_request()
    payload["pull_request"]["head"]["repo"] = None
    with pytest.raises(Ignored, match="from another repository"):
        GitHubWebhooks().commit({"x-github-event": "pull_request"}, payload)


def test_a_gitlab_merge_request_from_another_project_is_not_graded():
    payload = {"object_kind": "merge_request", "project": {"id": 42, "path": "hw2-bob"},
               "object_attributes": {"action": "open", "iid": 1, "target_project_id": 42, "source_project_id": 77,
                                     "source_branch": "main", "last_commit": {"id": SHA},
                                     "source": {"git_http_url": "https://gitlab.com/alice/hw2-bob.git"}}}
    with pytest.raises(Ignored, match="from another project"):
        GitLabWebhooks().commit({"x-gitlab-event": "Merge Request Hook"}, payload)


@pytest.mark.parametrize("event, payload, reason", [
    ("pull_request", pull_request("closed"), "pull_request closed is not graded"),
    ("issues", pull_request(), "event issues is not graded"),
    ("push", {"ref": "refs/heads/main", "after": "0" * 40, "repository": pull_request()["repository"]},
     "the event names no commit"),
    ("push", {"ref": "refs/tags/v1", "after": SHA, "repository": pull_request()["repository"]},
     "a pushed tag is not graded"),
    ("push", {"ref": "refs/heads/main", "after": SHA,
              "repository": {**pull_request()["repository"], "clone_url": "https://x:tok@github.com/a/b.git"}},
     "without credentials"),
    ("push", {"ref": "refs/heads/main", "after": "--upload-pack=touch /tmp/x",
              "repository": pull_request()["repository"]}, "the event names no commit"),
])
def test_events_that_are_not_graded_say_why(event, payload, reason):
    with pytest.raises(Ignored, match=reason):
        GitHubWebhooks().commit({"x-github-event": event}, payload)


def test_a_gitlab_merge_request_update_without_new_commits_is_not_graded():
    payload = {"object_kind": "merge_request", "project": {"path": "hw2-alice"},
               "object_attributes": {"action": "update", "iid": 1, "target_project_id": 9, "source_project_id": 9,
                                     "last_commit": {"id": SHA}, "source": {"git_http_url": "https://g/x.git"}}}
    with pytest.raises(Ignored, match="without new commits"):
        GitLabWebhooks().commit({}, payload)
    payload["object_attributes"]["oldrev"] = "b" * 40
    assert GitLabWebhooks().commit({}, payload).project == "9"


def config(**settings) -> ServiceConfig:
    return ServiceConfig(port=0, checks_dir=Path("."), db_url="sqlite://", webhook_secret=SECRET, **settings)


def test_classroom_repository_names_give_the_assignment_and_the_student():
    assert config().repository_match("course/hw2-alice", "hw2-alice") == ("hw2", "alice")
    assert config().repository_match("course/hw2-mary-jane", "hw2-mary-jane") == ("hw2", "mary-jane")
    assert config().repository_match("course/website", "website") is None
    mapped = config(repositories={"course/final": ("hw5", "bob")})
    assert mapped.repository_match("course/final", "final") == ("hw5", "bob")


def test_the_rate_limit_frees_a_grading_when_the_oldest_in_the_window_expires():
    now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    assert next_allowed([now], 2, hour) is None
    assert next_allowed([now, now - timedelta(minutes=30)], 2, hour) == now - timedelta(minutes=30) + hour
    assert config(max_per_window=1).limit_text == "1 grading per student per hour"


def test_students_see_a_hidden_checks_title_result_and_points_but_not_its_message():
    verdict = Verdict(assignment="hw2", submission="s", student="alice", status="graded", score=1, max_score=2,
                      stdout="printed", checks=[
                          CheckResult(name="a", title="public one", visibility="public", score=1, max_score=1,
                                      passed=True, message="max abs diff 0.5 at index 3"),
                          CheckResult(name="b", title="hidden one", visibility="hidden", score=0, max_score=1,
                                      passed=False, message="expected 0.731 got nan")])
    shown = hidden_checks_for_students(verdict)
    assert [(c.title, c.passed, c.score, c.max_score, c.message) for c in shown.checks] == [
        ("public one", True, 1, 1, "max abs diff 0.5 at index 3"), ("hidden one", False, 0, 1, "the check failed")]
    assert shown.stdout == ""


def test_git_sends_the_token_only_to_its_own_forge_over_https():
    assert token_goes_to("https://api.github.com", "https://github.com/course/hw2-alice.git")
    assert token_goes_to("https://github.example.edu/api/v3", "https://github.example.edu/course/hw2-alice.git")
    assert token_goes_to("https://gitlab.com/api/v4", "https://gitlab.com/course/hw2-alice.git")
    assert not token_goes_to("https://api.github.com", "http://github.com/course/hw2-alice.git")
    assert not token_goes_to("https://api.github.com", "https://evil.example/course/hw2-alice.git")
    assert not token_goes_to("https://api.github.com", "https://github.com.evil.example/x.git")
    assert not token_goes_to("https://api.github.com", "file:///srv/mirror/hw2-alice")
