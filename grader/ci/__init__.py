"""`grader ci`: the job (``job``: find the notebook, grade, report, exit policy) and the forges it comments on.

``forge`` is the interface a forge implements, ``github`` and ``gitlab`` the forges,
``forges`` the one registry of them, ``client`` the HTTP that lists, creates and edits
the comment. The job's names load on first use: they import the judge, which the forge
names (and ``grader --help``) do not need.
"""

from grader.ci.client import ForgeClient, find_marked_comment, publish_comment
from grader.ci.forge import CommentError, CommentResult, Forge, PullRequest, redact
from grader.ci.forges import (FORGES, annotations_wanted, detect_forge, forge_named, pull_request_from_environment,
                              summary_file, token_variables, workspace_roots)

_JOB_NAMES = {"CiOutcome", "escapes_checkout", "find_pull_request_notebook", "grade_checkout", "run_ci",
              "shown_path", "store", "token_values"}

__all__ = ["FORGES", "CommentError", "CommentResult", "Forge", "ForgeClient", "PullRequest", "annotations_wanted",
           "detect_forge", "find_marked_comment", "forge_named", "publish_comment", "pull_request_from_environment",
           "redact", "summary_file", "token_variables", "workspace_roots", *sorted(_JOB_NAMES)]


def __getattr__(name: str):
    if name in _JOB_NAMES:
        from grader.ci import job

        return getattr(job, name)
    raise AttributeError(f"module 'grader.ci' has no attribute {name!r}")
