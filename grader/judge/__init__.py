"""The trusted side's judge: pytest over the assignment's checks, with the student proxy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.judge.runner import Judge
    from grader.sandbox.host.warm_worker import WarmWorkerHost
    from grader.spec import AssignmentSpec


def launch_sandbox(spec: AssignmentSpec, device: str = "cpu", single_submission: bool = False) -> WarmWorkerHost:
    """The assignment's warm sandbox worker, launched (it imports torch from now on), not waited for.

    ``single_submission``: skip the warm-ups that only pay off over a batch. Imports no torch.
    """
    from grader.sandbox.host.warm_worker import WarmWorkerHost

    server = WarmWorkerHost.for_limits(spec.limits, device, warm_optimizer=spec.warms_optimizer() and not single_submission,
                                       batch_warmups=not single_submission)
    try:
        server.launch()
    except BaseException:  # a Ctrl-C after its process started: nobody else holds it yet
        server.close()
        raise
    return server


def start_judge(spec: AssignmentSpec, single_submission: bool = False, server: WarmWorkerHost | None = None,
                **options: Any) -> Judge:
    """A Judge whose sandbox is launched first, so both processes import torch at the same time.

    ``single_submission`` (`grader check`): the sandbox skips warm-ups that only pay off over a batch;
    ``server``: a sandbox launched earlier (``launch_sandbox``) for this judge to use;
    ``portable=True`` (`grader check` off Linux): a plain subprocess per submission, no sandbox.
    """
    if options.get("portable"):
        from grader.judge.runner import Judge

        return Judge(spec, **options)
    if server is None:
        server = launch_sandbox(spec, options.get("device", "cpu"), single_submission)
    try:
        from grader.judge.runner import Judge  # imports torch and pytest: seconds, a Ctrl-C likely lands here

        return Judge(spec, server=server, **options)
    except BaseException:  # the Judge never took the sandbox over: it would run on, unclosed, without bubblewrap
        server.close()
        raise
