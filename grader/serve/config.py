"""What `grader serve` runs with: the command line's options and the environment's secrets, checked once."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

from pydantic import BaseModel, SecretStr

from grader.errors import GraderError

# Classroom names a student's repository "<assignment>-<github login>": hw2-alice.
DEFAULT_REPO_PATTERN = r"(?P<assignment>[A-Za-z0-9_]+)-(?P<student>[A-Za-z0-9_.-]+)"


class FetchLimits(BaseModel):
    max_bytes: int = 50 << 20  # what one fetch may write to disk
    seconds: float = 60.0
    protocols: tuple[str, ...] = ("https", "http", "file")


class ForgeAccount(BaseModel):
    """One forge's API: where it is and the token the service comments with (never shown)."""

    api_url: str
    token: SecretStr
    token_variable: str


class ServiceConfig(BaseModel):
    host: str = "127.0.0.1"
    port: int
    checks_dir: Path  # a private copy of the course's assignments/, reference_solutions/ beside it
    db_url: str
    webhook_secret: SecretStr
    github: ForgeAccount | None = None
    gitlab: ForgeAccount | None = None
    repo_pattern: str = DEFAULT_REPO_PATTERN
    # from --repos FILE: a repository (owner/name, GitLab project id, or bare name) -> (assignment, student)
    repositories: dict[str, tuple[str, str]] = {}
    max_per_window: int = 10  # gradings per student and assignment ...
    window_seconds: float = 3600.0  # ... in this many seconds
    fetch: FetchLimits = FetchLimits()
    device: str = "cpu"
    allow_unisolated: bool = False
    cluster: str | None = None
    batch_size: int = 1  # jobs judged together (with --cluster: sent to the cluster at once)
    poll_seconds: float = 0.5
    settle_seconds: float = 2.0  # a push and its pull_request event come a moment apart: grade once

    def secrets(self) -> list[str]:
        """Every secret value the service holds: redacted from any comment and log line (not ones so short
        that redacting them would cut ordinary words)."""
        values = [self.webhook_secret.get_secret_value()]
        values += [account.token.get_secret_value() for account in (self.github, self.gitlab) if account]
        return [value for value in values if len(value) >= 6]

    @property
    def weak_secret(self) -> bool:
        return len(self.webhook_secret.get_secret_value()) < 16

    def account(self, forge: str) -> ForgeAccount | None:
        return self.github if forge == "github" else self.gitlab if forge == "gitlab" else None

    def repository_match(self, project: str, name: str) -> tuple[str, str] | None:
        """(assignment, student): from the mapping file, else from the repository's name; None: unknown."""
        for key in (project, name):
            if key in self.repositories:
                return self.repositories[key]
        match = re.fullmatch(self.repo_pattern, name)
        if match is None:
            return None
        return match.group("assignment"), match.group("student")

    @property
    def limit_text(self) -> str:
        window = self.window_seconds
        unit = "hour" if window == 3600 else "day" if window == 86400 else f"{window:g} s"
        plural = "grading" if self.max_per_window == 1 else "gradings"
        return f"{self.max_per_window} {plural} per student per {unit}"


def _account(environ: Mapping[str, str], token_names: tuple[str, ...], url_name: str,
             default_url: str) -> ForgeAccount | None:
    for name in token_names:
        if environ.get(name):
            return ForgeAccount(api_url=(environ.get(url_name) or default_url).rstrip("/"),
                                token=SecretStr(environ[name]), token_variable=name)
    return None


def service_config(port: int, checks_dir: str | Path, db_url: str, environ: Mapping[str, str] | None = None,
                   **options) -> ServiceConfig:
    """The service's settings; a GraderError naming what is missing and how to set it."""
    environ = os.environ if environ is None else environ
    secret = environ.get("GRADER_WEBHOOK_SECRET", "")
    if not secret:
        raise GraderError("GRADER_WEBHOOK_SECRET is not set; set it to the secret the webhook was registered with "
                          "(make one: python -c 'import secrets; print(secrets.token_hex(32))')")
    checks = Path(checks_dir)
    if not checks.is_dir():
        raise GraderError(f"--checks-dir {checks_dir}: no such folder; point it at the private copy of the course's "
                          "assignments/ folder (reference_solutions/ beside it)")
    pattern = options.get("repo_pattern") or DEFAULT_REPO_PATTERN
    try:
        groups = re.compile(pattern).groupindex
    except re.error as error:
        raise GraderError(f"--repo-pattern {pattern!r}: not a regular expression ({error})") from None
    if not {"assignment", "student"} <= set(groups):
        raise GraderError(f"--repo-pattern {pattern!r}: name the groups (?P<assignment>...) and (?P<student>...)")
    options["repo_pattern"] = pattern
    if options.get("repositories_file"):
        options["repositories"] = read_repositories(Path(options["repositories_file"]))
    options.pop("repositories_file", None)
    if options.get("fetch_limits"):
        limits = options.pop("fetch_limits")
        unknown = set(limits.get("protocols", ())) - {"https", "http", "file"}
        if unknown:
            raise GraderError(f"--git-protocols: {', '.join(sorted(unknown))} not supported; choose from "
                              "https, http, file")
        options["fetch"] = FetchLimits(**limits)
    options.pop("fetch_limits", None)
    github = _account(environ, ("GITHUB_TOKEN", "GRADER_GITHUB_TOKEN"), "GITHUB_API_URL", "https://api.github.com")
    gitlab = _account(environ, ("GITLAB_TOKEN", "GRADER_GITLAB_TOKEN"), "GITLAB_API_URL",
                      "https://gitlab.com/api/v4")
    if github is None and gitlab is None:
        raise GraderError("neither GITHUB_TOKEN nor GITLAB_TOKEN is set; the service needs a token to comment with")
    return ServiceConfig(port=port, checks_dir=checks.resolve(), db_url=db_url, webhook_secret=SecretStr(secret),
                         github=github, gitlab=gitlab, **{k: v for k, v in options.items() if v is not None})


def read_repositories(path: Path) -> dict[str, tuple[str, str]]:
    """--repos FILE: a TOML table per repository, e.g. ["course/hw2-alice"] assignment = "hw2" student = "alice"."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GraderError(f"--repos {path}: {error.strerror}; name a TOML file of repositories") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GraderError(f"--repos {path}: not TOML ({error}); fix the file") from None
    found = {}
    for repository, entry in data.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("assignment"), str)
                and isinstance(entry.get("student"), str)):
            raise GraderError(f'--repos {path}: [{repository!r}] needs assignment = "..." and student = "..."')
        found[repository] = (entry["assignment"], entry["student"])
    return found
