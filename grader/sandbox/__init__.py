"""The sandbox, by side.

- ``host/``: the trusted side (the judge's process): launching the warm worker
  (``WarmWorkerHost``) and the connection to one submission's process (``SubmissionConnection``).
- ``inside/``: what runs inside the sandbox: the warm worker's serve loop
  (``python -m grader.sandbox.inside.warm_worker``), its warm-up, the confinement of each
  submission's process, and the student runtime that runs the cells and serves calls.
  Nothing there imports ``host/``.
- shared, standard library only: ``layers`` (which isolation layers hold, the bubblewrap command),
  ``cgroups``, ``hugepages``, ``proctree`` (the process-tree walker), ``gpu`` (what a CUDA run's
  two sides agree on).
"""
