"""Fetching the one commit to grade with git, and reading the notebook out of it, without running anything.

git runs with no system or global configuration, hooks pointed at /dev/null, only the allowed
protocols, a fresh bare repository of ours (so no configuration from the student's repository is
ever read), a time limit, and a cap on what it may write. Nothing is checked out: the notebook's
blob is read from the commit's tree by name, so no filter, attribute, symlink or submodule of the
repository does anything on this machine.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from grader.serve.config import FetchLimits


class FetchError(Exception):
    """The commit could not be fetched or holds no notebook: one line, shown to the student."""


@dataclass
class TreeEntry:
    mode: str
    kind: str
    oid: str
    size: int
    path: str


def _size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class GitFetcher:
    def __init__(self, limits: FetchLimits, scratch: Path):
        self.limits = limits
        self.scratch = scratch
        self.repository = scratch / "repo.git"
        self.home = scratch / "home"

    def environment(self, auth: str | None) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.home), "LC_ALL": "C",
               "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_TERMINAL_PROMPT": "0",
               "GIT_ASKPASS": "/bin/false", "SSH_ASKPASS": "/bin/false", "GIT_LFS_SKIP_SMUDGE": "1",
               "GIT_ALLOW_PROTOCOL": ":".join(self.limits.protocols), "GIT_PROTOCOL_FROM_USER": "0"}
        settings = [("core.hooksPath", os.devnull), ("core.fsmonitor", "false"), ("transfer.fsckObjects", "true"),
                    ("fetch.recurseSubmodules", "false"), ("protocol.version", "2")]
        if auth:  # in the environment, not the command line: no other user sees it in ps
            settings.append(("http.extraHeader", f"Authorization: Basic {auth}"))
        env["GIT_CONFIG_COUNT"] = str(len(settings))
        for index, (key, value) in enumerate(settings):
            env[f"GIT_CONFIG_KEY_{index}"], env[f"GIT_CONFIG_VALUE_{index}"] = key, value
        return env

    def git(self, *args: str, auth: str | None = None, capture: bool = True, timeout: float | None = None,
            watch_size: bool = False) -> bytes:
        command = ["git", "--git-dir", str(self.repository), *args]
        deadline = time.monotonic() + (timeout or self.limits.seconds)
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=self.environment(auth), cwd=self.scratch,
                                   start_new_session=True)
        try:
            if not watch_size:
                out, err = process.communicate(timeout=max(0.1, deadline - time.monotonic()))
            else:
                while True:  # checked while git writes, and once more when it is done
                    running = process.poll() is None
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(command, self.limits.seconds)
                    if _size(self.repository) > self.limits.max_bytes:
                        raise FetchError(f"the repository is larger than {self.limits.max_bytes >> 20} MiB; "
                                         "keep only the notebook and small files in it")
                    if not running:
                        break
                    time.sleep(0.1)
                out, err = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            raise FetchError(f"fetching the commit took longer than {self.limits.seconds:g} s; "
                             "keep the repository small") from None
        finally:
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
        if process.returncode != 0:
            last = (err or b"").decode(errors="replace").strip().splitlines()
            raise FetchError(f"git {args[0]} failed: {last[-1][:200] if last else f'exit {process.returncode}'}")
        return out

    def fetch(self, clone_url: str, sha: str, auth: str | None) -> None:
        scheme = urllib.parse.urlsplit(clone_url).scheme
        if scheme not in self.limits.protocols:
            raise FetchError(f"{scheme}:// is not an allowed protocol for fetching")
        self.home.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", str(self.repository)], check=True, env=self.environment(None),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.git("fetch", "--quiet", "--depth", "1", "--no-tags", "--no-recurse-submodules", "--no-auto-gc",
                 "--", clone_url, sha, auth=auth if scheme == "https" else None, watch_size=True)

    def tree(self, sha: str) -> list[TreeEntry]:
        raw = self.git("ls-tree", "-r", "-l", "-z", "--full-tree", sha)
        entries = []
        for record in raw.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, kind, oid, size = meta.decode().split()
            entries.append(TreeEntry(mode=mode, kind=kind, oid=oid, size=int(size) if size.isdigit() else 0,
                                     path=path.decode("utf-8", "replace")))
        return entries

    def blob(self, oid: str) -> bytes:
        return self.git("cat-file", "blob", oid)


SKIPPED = {"node_modules", "__pycache__", "site-packages"}


def find_notebook(entries: list[TreeEntry], name: str) -> TreeEntry:
    """The notebook at the top of the tree, else the only one of that name below (as `grader ci` finds it)."""
    top = [entry for entry in entries if entry.path == name]
    below = [entry for entry in entries if entry.path.rsplit("/", 1)[-1] == name and "/" in entry.path
             and not any(part.startswith(".") or part in SKIPPED for part in entry.path.split("/")[:-1])]
    found = top or below
    if not found:
        raise FetchError(f"no {name} in this commit; commit your notebook under that name")
    if len(found) > 1:
        raise FetchError(f"several files named {name} in this commit; keep exactly one")
    entry = found[0]
    if entry.mode == "120000":
        raise FetchError(f"{entry.path} is a symbolic link; commit the notebook itself")
    if entry.kind != "blob":
        raise FetchError(f"{entry.path} is not a file; commit the notebook itself")
    return entry


def read_notebook(clone_url: str, sha: str, name: str, limits: FetchLimits, scratch: Path,
                  auth: str | None = None) -> tuple[str, bytes]:
    """(its path in the commit, its bytes): the named notebook of one commit."""
    fetcher = GitFetcher(limits, scratch)
    fetcher.fetch(clone_url, sha, auth)
    entry = find_notebook(fetcher.tree(sha), name)
    if entry.size > limits.max_bytes:
        raise FetchError(f"{entry.path} is larger than {limits.max_bytes >> 20} MiB")
    return entry.path, fetcher.blob(entry.oid)


def token_goes_to(api_url: str, clone_url: str) -> bool:
    """The token goes only to the forge it belongs to: the API's host (api.github.com serves github.com)."""
    api = (urllib.parse.urlsplit(api_url).hostname or "").lower()
    clone = urllib.parse.urlsplit(clone_url)
    host = (clone.hostname or "").lower()
    return clone.scheme == "https" and bool(host) and api in (host, f"api.{host}")


def basic_auth(user: str, token: str) -> str:
    """The Authorization value git sends over https (GitHub: x-access-token, GitLab: oauth2)."""
    return base64.b64encode(f"{user}:{token}".encode()).decode()
