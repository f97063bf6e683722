"""What runs inside the sandbox. Nothing here imports ``grader.sandbox.host`` (the trusted side).

- ``warm_worker``: the process bubblewrap starts (``python -m grader.sandbox.inside.warm_worker``);
  its serve loop forks one process per submission and ends it with everything it started.
- ``warmup``: importing torch once and warming it up before the first fork.
- ``confinement``: rlimits, Landlock (``landlock``), no new privileges, the uid drop.
- ``scratch``: removing what a submission wrote.
- ``student_runtime``: the submission's process: runs the cells, then serves calls
  (``describe`` and ``factories`` for objects that cannot travel as data; ``cuda_setup`` for a GPU child).
"""
