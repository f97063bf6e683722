"""The forges whose webhooks the service takes: one WebhookSource each, by name."""

from __future__ import annotations

from grader.serve.events import WebhookSource
from grader.serve.github import GitHubWebhooks
from grader.serve.gitlab import GitLabWebhooks

SOURCES: dict[str, WebhookSource] = {source.name: source for source in (GitHubWebhooks(), GitLabWebhooks())}
