"""The trusted side of the sandbox: it launches the warm worker and talks to submissions.

- ``warm_worker.WarmWorkerHost``: starts the warm worker (under bubblewrap where the machine
  has it) and asks it for one confined process per submission; it does not import torch.
- ``connection.SubmissionConnection``: one submission's process, seen from here: framed
  messages over its socket, its output drained and capped (imports torch, for the wire).
- ``errors``: ``SandboxError``, ``ChildGone``, ``CallTimeout``.
- ``gpu``: the NVIDIA device nodes and driver files a CUDA run shows the sandbox.

Nothing under ``grader.sandbox.inside`` imports this package.
"""
