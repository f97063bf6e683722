"""The peers' environments (nbgrader, otter-grader), built on demand into a cache folder.

Each peer gets its own virtual environment under ``~/.cache/grader-bench/`` (``GRADER_BENCH_CACHE``
overrides it). torch goes in first, pinned as ``torch==2.13.0``: pip takes that CPU build from the
local wheel folder, where a bare ``torch`` would pull a multi-GB CUDA build. Then the peer itself,
from the package registry, with torch pinned again so that no dependency can move it. A finished
environment carries a ``.ready`` file naming what was installed; nothing is downloaded once it is
there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchlib import BenchError

TORCH = "torch==2.13.0"
# otter runs notebooks on a "python3" kernel but does not depend on ipykernel, which provides it.
PEERS = {"nbgrader": ["nbgrader==0.9.6"], "otter": ["otter-grader==7.0.0", "ipykernel==7.4.0"]}


def cache_root() -> Path:
    return Path(os.environ.get("GRADER_BENCH_CACHE") or Path.home() / ".cache" / "grader-bench")


def peer_python(name: str) -> Path:
    return cache_root() / name / "bin" / "python"


def is_ready(name: str) -> bool:
    marker = cache_root() / name / ".ready"
    return marker.is_file() and marker.read_text().split() == [TORCH, *PEERS[name]]


def ensure_env(name: str, log=print) -> Path:
    """The peer's python, building its environment first where it is missing (minutes, once)."""
    if name not in PEERS:
        raise BenchError(f"no peer named {name!r}; known: {', '.join(PEERS)}")
    folder = cache_root() / name
    python = peer_python(name)
    if is_ready(name):
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    log_path = folder.parent / f"{name}-install.log"
    # An environment left half-built (or built for another list) is completed in place: pip skips
    # what is already there, so torch is not installed twice.
    steps = [] if python.is_file() else [[sys.executable, "-m", "venv", str(folder)]]
    steps += [[str(python), "-m", "pip", "install", "--quiet", TORCH],  # first: the local CPU build
             [str(python), "-m", "pip", "install", "--quiet", *PEERS[name], TORCH]]
    with open(log_path, "w") as output:
        for command in steps:
            log(f"building the {name} environment: {' '.join(command[2:]) if command[0] != sys.executable else 'venv'}")
            done = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT)
            if done.returncode != 0:
                raise BenchError(f"building {folder} failed at `{' '.join(command)}`; see {log_path}")
    version = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    if not version.startswith("2.13.0") or "+cu" in version:
        raise BenchError(f"{folder} holds torch {version or '(none)'}, not the CPU build of {TORCH}; "
                         f"remove the folder and run again")
    (folder / ".ready").write_text("\n".join([TORCH, *PEERS[name]]) + "\n")
    return python
