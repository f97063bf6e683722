"""The forges `grader ci` can comment on, and which one a CI job runs on.

Adding a forge: a module with a ``Forge`` subclass (see ``grader.ci.github``), and one
entry in ``FORGES`` below. Nothing else names a forge.
"""

from __future__ import annotations

import os
from typing import Mapping

from grader.ci.forge import CommentError, Forge, PullRequest
from grader.ci.github import GitHub
from grader.ci.gitlab import GitLab

FORGES: dict[str, Forge] = {forge.name: forge for forge in (GitHub(), GitLab())}


def _either(words: list[str], conjunction: str = "or") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def forge_named(name: str) -> Forge:
    try:
        return FORGES[name]
    except KeyError:
        raise CommentError(f"--provider {name}: expected {_either(['auto', *FORGES])}") from None


def detect_forge(environ: Mapping[str, str]) -> Forge | None:
    """The forge whose CI runs this job: by the CI's own flag first, then by variables only it sets."""
    for test in ("runs_here", "hinted_by"):
        for forge in FORGES.values():
            if getattr(forge, test)(environ):
                return forge
    return None


def pull_request_from_environment(environ: Mapping[str, str] | None = None, provider: str = "auto",
                                  token_variable: str | None = None) -> PullRequest:
    """The pull request this CI job runs for; a CommentError naming what is missing otherwise."""
    environ = os.environ if environ is None else environ
    forge = detect_forge(environ) if provider == "auto" else forge_named(provider)
    if forge is None:
        titles = [forge.ci_title for forge in FORGES.values()]
        hints = [forge.hint_variable for forge in FORGES.values()]
        unset = f"neither {hints[0]} nor {hints[1]}" if len(hints) == 2 else f"none of {', '.join(hints)}"
        raise CommentError(f"cannot tell {' from '.join(titles)}: {unset} is set; run inside one of them or "
                           "pass --provider")
    return forge.pull_request(environ, token_variable)


def token_variables(token_variable: str | None = None) -> list[str]:
    """Every variable any forge reads a token from, and the one the user named."""
    names = [name for forge in FORGES.values() for name in forge.token_variables]
    return list(dict.fromkeys([*names, *([token_variable] if token_variable else [])]))


def workspace_roots(environ: Mapping[str, str]) -> list[str]:
    """The checkout's root as each forge's CI names it (annotations want paths relative to it)."""
    return [root for root in (forge.workspace(environ) for forge in FORGES.values()) if root]


def summary_file(environ: Mapping[str, str]) -> str | None:
    """The file the CI shows as the job's summary ($GITHUB_STEP_SUMMARY), if it has one."""
    return next((path for path in (forge.summary_file(environ) for forge in FORGES.values()) if path), None)


def annotations_wanted(environ: Mapping[str, str]) -> bool:
    """Workflow commands mean something on GitHub Actions; another CI's log would just show them."""
    return not any(forge.runs_here(environ) and not forge.writes_workflow_commands for forge in FORGES.values())
