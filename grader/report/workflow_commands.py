"""GitHub workflow commands for `grader ci`: an error annotation per failed check, a warning per cell.

Student text goes through ``command_data``/``command_property``, so it never leaves its
own command's line: nothing a student prints or raises becomes a `::error` command.
"""

from __future__ import annotations

from grader.models import Verdict
from grader.report.format import fraction
from grader.report.untrusted import command_data, command_property

MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step


def annotations(verdict: Verdict, notebook: str) -> list[str]:
    """GitHub workflow commands: an error per failed check, a warning per cell that raised."""
    file = command_property(notebook)
    commands: list[str] = []
    if verdict.status == "error":
        commands.append(f"::error file={file},title={command_property(verdict.assignment + ': not graded')}::"
                        f"{command_data(verdict.message)}")
    failed = [check for check in verdict.checks if not check.passed]
    for check in failed[:MAX_ANNOTATIONS]:
        title = f"{verdict.assignment}: {check.title or check.name} ({fraction(check.score, check.max_score)})"
        commands.append(f"::error file={file},title={command_property(title)}::"
                        f"{command_data(check.message or 'the check failed')}")
    for cell in [cell for cell in verdict.cells if cell.status != "ok"][:MAX_ANNOTATIONS]:
        detail = f"{cell.error.type}: {cell.error.message}" if cell.error else cell.status
        commands.append(f"::warning file={file},title={command_property(f'code cell {cell.index}')}::"
                        f"{command_data(detail)}")
    return commands
