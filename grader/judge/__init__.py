"""The trusted side's judge: pytest over the assignment's checks, with the student proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.judge.runner import Judge
    from grader.spec import AssignmentSpec


def start_judge(spec: AssignmentSpec, single_submission: bool = False, **options: Any) -> Judge:
    """A Judge whose sandbox is launched first, so both processes import torch at the same time.

    ``single_submission`` (`grader check`): the sandbox skips warm-ups that only pay off over a batch;
    ``portable=True`` (`grader check` off Linux): a plain subprocess per submission, no sandbox.
    """
    if options.get("portable"):
        from grader.judge.runner import Judge

        return Judge(spec, **options)
    from grader.sandbox.host.warm_worker import WarmWorkerHost  # does not import torch

    server = WarmWorkerHost.for_limits(spec.limits, options.get("device", "cpu"),
                                   warm_optimizer=spec.warms_optimizer() and not single_submission,
                                   batch_warmups=not single_submission)
    server.launch()
    from grader.judge.runner import Judge  # imports torch and pytest

    return Judge(spec, server=server, **options)
