"""Where the grader is installed: this checkout, or a full copy of it under /tmp.

A copy under /tmp is the project's files (without .git and .venv) copied, and the virtual
environment hard-linked (``cp -al``: /tmp and the checkout share a filesystem here, so it costs
seconds and no space). Hard links share their inode with the original, so the two files the copy
must change (the editable install's path finder and the ``grader`` script's ``#!`` line) are
unlinked and written anew, never edited in place. ``Install.verify`` asserts that the copy's
python imports the grader from the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchlib import REPO, BenchError

SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "out", "build", "dist"}


@dataclass
class Install:
    """One place the grader is installed: its project folder and its virtual environment's python."""

    name: str
    root: Path
    python: Path

    @property
    def grader(self) -> list[str]:
        script = self.python.parent / "grader"
        return [str(script)] if script.is_file() else [str(self.python), "-m", "grader.cli"]

    def grader_package(self) -> Path:
        done = subprocess.run([str(self.python), "-c", "import grader, os; print(os.path.dirname(grader.__file__))"],
                              capture_output=True, text=True, cwd="/", timeout=120)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise BenchError(f"{self.python} cannot import grader: {lines[-1] if lines else done.returncode}")
        return Path(done.stdout.strip())

    def verify(self) -> Path:
        """The grader package this install imports; BenchError unless it lies inside ``root``."""
        package = self.grader_package()
        if not package.resolve().is_relative_to(self.root.resolve()):
            raise BenchError(f"the {self.name} install at {self.root} imports grader from {package}")
        return package


def this_checkout() -> Install:
    return Install("checkout", REPO, Path(sys.executable))


def venv_of_this_checkout() -> Path:
    venv = Path(sys.prefix)
    if venv == Path(sys.base_prefix):
        raise BenchError("run the benchmark with the project's virtual environment active (. .venv/bin/activate)")
    return venv


def copy_to(parent: Path, name: str = "tmp") -> Install:
    """A full copy of this checkout and its virtual environment under ``parent`` (e.g. a /tmp folder)."""
    venv = venv_of_this_checkout()
    root = parent / "grader-project"
    shutil.copytree(REPO, root, symlinks=True, ignore=lambda folder, names: [n for n in names if n in SKIP])
    copied_venv = root / ".venv"
    done = subprocess.run(["cp", "-al", str(venv), str(copied_venv)], capture_output=True, text=True)
    if done.returncode != 0:  # another filesystem: hard links cannot cross it
        raise BenchError(f"cp -al {venv} {copied_venv} failed ({done.stderr.strip()}); "
                         f"{parent} must be on the same filesystem as {venv}")
    old, new = str(REPO), str(root)
    site_packages = list(copied_venv.glob("lib/python*/site-packages"))
    rewritten = 0
    for folder in site_packages:
        for finder in list(folder.glob("__editable__*finder.py")) + list(folder.glob("__editable__*.pth")):
            text = finder.read_text()
            if old in text:
                _replace(finder, text.replace(old, new))
                rewritten += 1
        for cached in folder.glob("__pycache__/__editable__*"):
            cached.unlink()
    for script in (copied_venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            head = script.read_bytes()[:200]
            if head.startswith(b"#!") and str(venv).encode() in head.split(b"\n", 1)[0]:
                _replace(script, script.read_text().replace(str(venv), str(copied_venv), 1), executable=True)
    if not rewritten:
        raise BenchError(f"no editable install of the grader found in {venv} (pip install -e . first)")
    install = Install(name, root, copied_venv / "bin" / "python")
    install.verify()
    return install


def _replace(path: Path, text: str, executable: bool = False) -> None:
    """Write ``path`` as a new inode: it is a hard link to the original environment's file."""
    mode = path.stat().st_mode
    path.unlink()
    path.write_text(text)
    if executable:
        path.chmod(mode)


def temporary_copy(prefix: str = "grader-bench-install-") -> tuple[Install, Path]:
    """A copy under a fresh /tmp folder; returns it and the folder (the caller removes it)."""
    parent = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        return copy_to(parent), parent
    except BaseException:
        shutil.rmtree(parent, ignore_errors=True)
        raise
