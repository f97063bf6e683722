"""`grader serve` as the course runs it: a real service process on 127.0.0.1, real git repositories on disk,
and the loopback fake of GitHub's and GitLab's APIs (tests/forge_server.py) receiving its comments."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook
from forge_server import FakeForge
from grader.serve.config import FetchLimits
from grader.serve.fetch import FetchError, read_notebook

TOKEN = "ghp_serviceT0kenValue_9876543210"
GITLAB_TOKEN = "glpat-serviceT0kenValue_1234"
SECRET = "webhook-secret-0123456789abcdef"
TOY_RIGHT = ("import torch\n\ndef double(x):\n    return x * 2\n\ndef answer():\n    return 42\n")
TOY_WRONG = ("import torch\n\ndef double(x):\n    return x * 3\n\ndef answer():\n    return 42\n")


# -- the student's repository ------------------------------------------------------------------

class StudentRepository:
    """A git repository on disk, as the forge holds it; the service fetches it over file://."""

    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=Student", "-c", "user.email=s@example.org", *args],
                              cwd=self.path, check=True, capture_output=True, text=True).stdout.strip()

    def commit_notebook(self, name: str, *cells: str, source: Path | None = None) -> str:
        target = self.path / name
        if source is not None:
            target.write_bytes(source.read_bytes())
        else:
            write_notebook(target, *cells)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"work on {name}")
        return self.git("rev-parse", "HEAD")

    @property
    def url(self) -> str:
        return self.path.as_uri()


# -- the service ------------------------------------------------------------------------------

class Service:
    def __init__(self, tmp_path: Path, forge: FakeForge, checks_dir: Path, *options: str,
                 gitlab_token: str = GITLAB_TOKEN):
        self.db_path = tmp_path / "grades.db"
        self.log_path = tmp_path / "serve.log"
        self.forge, self.checks_dir, self.options = forge, checks_dir, options
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.gitlab_token = gitlab_token

    def start(self) -> "Service":
        environment = {name: value for name, value in os.environ.items()
                       if not re.match(r"^(GITHUB_|GITLAB_|CI_|GRADER_)", name)}
        environment.update(GRADER_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN=TOKEN, GITHUB_API_URL=f"{self.forge.url}/github",
                           GITLAB_TOKEN=self.gitlab_token, GITLAB_API_URL=f"{self.forge.url}/api/v4")
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "serve", "--port", "0", "--checks-dir", str(self.checks_dir),
             "--db", f"sqlite:///{self.db_path}", *self.options],
            cwd=REPO, env=environment, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for line in self.log_path.read_text()[start:].splitlines():
                if '"service.started"' in line:
                    self.port = json.loads(line)["port"]
                    return self
            assert self.process.poll() is None, self.log_path.read_text()
            time.sleep(0.1)
        raise AssertionError("the service did not start: " + self.log_path.read_text())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def post(self, path: str, payload: dict, headers: dict[str, str]) -> tuple[int, dict]:
        body = json.dumps(payload).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method="POST",
                                         headers={"Content-Type": "application/json", **headers})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def github(self, event: str, payload: dict, secret: str = SECRET, signature: str | None = None):
        body = json.dumps(payload).encode()
        signed = signature if signature is not None else \
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": f"delivery-{time.monotonic_ns()}"}
        if signed:
            headers["X-Hub-Signature-256"] = signed
        return self.post("/webhook/github", payload, headers)

    def gitlab(self, event: str, payload: dict, token: str = SECRET):
        return self.post("/webhook/gitlab", payload, {"X-Gitlab-Event": event, "X-Gitlab-Token": token})

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as response:
            return json.loads(response.read())

    def rows(self, table: str) -> list[dict]:
        with sqlite3.connect(self.db_path) as connection:
            connection.row_factory = sqlite3.Row
            return [dict(row) for row in connection.execute(f"select * from {table} order by id")]

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.startswith("{")]


@pytest.fixture
def forge():
    with FakeForge(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def services(tmp_path, forge):
    started: list[Service] = []

    def start(checks_dir: Path = TEST_ASSIGNMENTS, *options: str, **settings) -> Service:
        service = Service(tmp_path, forge, checks_dir, *options, **settings).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


def wait_for(condition, timeout: float = 180, what: str = "the service"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


# -- the events as the forges send them --------------------------------------------------------

def pull_request_event(owner: str, repository: StudentRepository, name: str, number: int, sha: str,
                       action: str = "opened") -> dict:
    full = f"{owner}/{name}"
    repo = {"name": name, "full_name": full, "clone_url": repository.url, "default_branch": "main"}
    return {"action": action, "number": number, "repository": repo,
            "pull_request": {"number": number, "head": {"sha": sha, "ref": "feedback", "repo": repo},
                             "user": {"login": "student"}}}


def push_event(owner: str, repository: StudentRepository, name: str, sha: str) -> dict:
    return {"ref": "refs/heads/main", "after": sha, "deleted": False,
            "repository": {"name": name, "full_name": f"{owner}/{name}", "clone_url": repository.url,
                           "default_branch": "main"}}


def merge_request_event(project_id: int, repository: StudentRepository, name: str, iid: int, sha: str) -> dict:
    return {"object_kind": "merge_request", "project": {"id": project_id, "path": name},
            "object_attributes": {"action": "open", "iid": iid, "target_project_id": project_id,
                                  "source_project_id": project_id,
                                  "source_branch": "feedback", "last_commit": {"id": sha},
                                  "source": {"git_http_url": repository.url}}}


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith(("| ✅ |", "| ❌ |"))]


def graded(service: Service, count: int) -> list[dict]:
    try:
        def done() -> list[dict] | None:
            assert service.process.poll() is None, "the service stopped"
            rows = [row for row in service.rows("serve_jobs") if row["state"] == "done"]
            return rows if len(rows) >= count else None

        return wait_for(done, what=f"{count} graded jobs")
    except AssertionError as error:
        raise AssertionError(f"{error}; the service's log:\n{service.log_path.read_text()[-3000:]}") from None


# -- the cases --------------------------------------------------------------------------------

def test_a_signed_pull_request_for_hw2_alice_gets_one_comment_with_public_and_hidden_results(tmp_path, forge,
                                                                                             services):
    repository = StudentRepository(tmp_path / "hw2-alice")
    sha = repository.commit_notebook("hw2.ipynb", source=REPO / "submissions" / "hw2" / "partial.ipynb")
    forge.github[("course/hw2-alice", 3)] = []
    service = services(REPO / "assignments")

    status, answer = service.github("pull_request", pull_request_event("course", repository, "hw2-alice", 3, sha))
    assert status == 202 and isinstance(answer["queued"], int)
    graded(service, 1)

    comments = forge.github[("course/hw2-alice", 3)]
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith("<!-- grader-serve:hw2 -->")
    assert "hw2: 7 / 10" in body and sha[:12] in body
    rows = table_rows(body)
    hidden = [row for row in rows if "*(hidden)*" in row]
    public = [row for row in rows if "*(hidden)*" not in row]
    assert hidden and public
    assert any(row.startswith("| ❌ |") for row in hidden)  # sigmoid's nan at |x| ~ 1000 is a hidden check
    # a hidden check shows its title, pass/fail and points, and only facts about the student's own result
    assert all("difference" not in row and "expected" not in row and "yours is" not in row for row in hidden)
    failing_public = [row for row in public if row.startswith("| ❌ |")]
    assert failing_public and all(not row.rstrip().endswith("|  |") for row in failing_public)
    assert "Rate limit: 10 gradings per student per hour (1 used" in body

    runs = service.rows("runs")
    assert [(run["score"], run["include_hidden"]) for run in runs] == [(7.0, 1)]
    assert [row["student"] for row in service.rows("submissions")] == ["alice"]


def test_a_second_push_to_the_pull_request_updates_that_comment(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-bob")
    first = repository.commit_notebook("toy.ipynb", TOY_WRONG)
    forge.github[("course/toy-bob", 5)] = []
    service = services()
    assert service.github("pull_request", pull_request_event("course", repository, "toy-bob", 5, first))[0] == 202
    graded(service, 1)
    comments = forge.github[("course/toy-bob", 5)]
    assert len(comments) == 1 and "toy: 1 / 4" in comments[0]["body"]
    comment_id = comments[0]["id"]

    second = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    assert service.github("pull_request", pull_request_event("course", repository, "toy-bob", 5, second,
                                                             action="synchronize"))[0] == 202
    graded(service, 2)
    comments = forge.github[("course/toy-bob", 5)]
    assert [comment["id"] for comment in comments] == [comment_id]
    assert "toy: 4 / 4" in comments[0]["body"] and second[:12] in comments[0]["body"]
    assert [method for method in (r.method for r in forge.requests) if method != "GET"] == ["POST", "PATCH"]


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-carol")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    forge.github[("course/toy-carol", 1)] = []
    service = services()
    event = pull_request_event("course", repository, "toy-carol", 1, sha)

    assert service.github("pull_request", event, secret="not-the-secret-at-all")[0] == 401
    assert service.github("pull_request", event, signature="")[0] == 401
    assert service.github("pull_request", event, signature="sha256=" + "0" * 64)[0] == 401
    assert service.gitlab("Merge Request Hook", merge_request_event(42, repository, "toy-carol", 1, sha),
                          token="wrong")[0] == 401
    assert service.gitlab("Merge Request Hook", merge_request_event(42, repository, "toy-carol", 1, sha),
                          token="")[0] == 401
    time.sleep(1.0)
    assert service.rows("serve_jobs") == [] and service.rows("runs") == []
    assert forge.requests == []
    refused = [line for line in service.log_lines() if line["event"] == "webhook.refused"]
    assert len(refused) == 5 and all(line["reason"] == "bad signature" for line in refused)


def test_events_it_does_not_grade_get_202_and_are_ignored(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-dan")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    service = services()
    closed = pull_request_event("course", repository, "toy-dan", 2, sha, action="closed")
    unknown_repository = pull_request_event("course", repository, "website", 2, sha)
    unknown_assignment = pull_request_event("course", repository, "hw9-dan", 2, sha)
    for event, payload in [("pull_request", closed), ("issue_comment", closed), ("pull_request", unknown_repository),
                           ("pull_request", unknown_assignment)]:
        status, answer = service.github(event, payload)
        assert status == 202 and "ignored" in answer, (event, answer)
    assert service.rows("serve_jobs") == []
    assert service.get("/healthz") == {"ok": True}
    reasons = [line["reason"] for line in service.log_lines() if line["event"] == "webhook.ignored"]
    assert reasons == ["pull_request closed is not graded", "event issue_comment is not graded",
                       "repository website is not in --repos and does not match the pattern",
                       "no assignment hw9 in the checks folder"]


def test_a_flood_of_pushes_is_rate_limited_and_the_comment_says_so(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-erin")
    forge.github[("course/toy-erin", 8)] = []
    service = services(TEST_ASSIGNMENTS, "--rate-limit", "1")
    sha = repository.commit_notebook("toy.ipynb", TOY_WRONG)
    service.github("pull_request", pull_request_event("course", repository, "toy-erin", 8, sha))
    graded(service, 1)
    flood = []
    for attempt in range(5):
        flood.append(repository.commit_notebook("toy.ipynb", TOY_WRONG + f"\n# attempt {attempt}\n"))
        status, _ = service.github("pull_request", pull_request_event("course", repository, "toy-erin", 8,
                                                                      flood[-1], action="synchronize"))
        assert status == 202
    wait_for(lambda: service.rows("serve_jobs")[-1]["message"] == "over the rate limit", what="the last push to wait")
    states = [row["state"] for row in service.rows("serve_jobs")]
    assert states == ["done", "superseded", "superseded", "superseded", "superseded", "queued"]
    body = forge.github[("course/toy-erin", 8)][0]["body"]
    assert f"commit `{flood[-1][:12]}` waits: it is over the rate limit" in body
    assert "Rate limit: 1 grading per student per hour (1 used; the next push is graded after" in body
    # the last graded results stay under the notice, once
    assert body.count("**Last graded:**") == 1 and body.count("toy: 1 / 4") == 1 and sha[:12] in body
    assert len(service.rows("runs")) == 1
    assert len(forge.github[("course/toy-erin", 8)]) == 1
    assert service.get("/status")["queued"] == 1


def test_killing_the_service_mid_queue_and_starting_it_again_grades_what_was_queued(tmp_path, forge, services):
    students = {"fay": TOY_RIGHT, "gus": TOY_WRONG, "hal": TOY_RIGHT}
    service = services()
    for number, (student, code) in enumerate(students.items(), start=1):
        repository = StudentRepository(tmp_path / f"toy-{student}")
        sha = repository.commit_notebook("toy.ipynb", code)
        forge.github[(f"course/toy-{student}", number)] = []
        assert service.github("pull_request", pull_request_event("course", repository, f"toy-{student}", number,
                                                                 sha))[0] == 202
    service.kill()
    waiting = [row for row in service.rows("serve_jobs") if row["state"] in ("queued", "running")]
    assert len(waiting) >= 2  # the first may have been taken; nothing was graded yet on three
    assert len(service.rows("runs")) < 3

    again = services()
    graded(again, 3)
    for number, (student, code) in enumerate(students.items(), start=1):
        comments = forge.github[(f"course/toy-{student}", number)]
        assert len(comments) == 1, student
        assert ("toy: 4 / 4" if code == TOY_RIGHT else "toy: 1 / 4") in comments[0]["body"]
    assert any(line["event"] == "service.started" and line["requeued"] in (0, 1) for line in again.log_lines())
    assert sorted(run["score"] for run in again.rows("runs"))[-3:] == [1.0, 4.0, 4.0]


def test_the_token_appears_in_no_comment_log_or_row(tmp_path, forge, services):
    snoop = ("import os, sys\n"
             "print(dict(os.environ)); print(open('/proc/1/environ', 'rb').read() if os.path.exists('/proc/1/environ') "
             "else '', file=sys.stderr)\n"
             "def double(x):\n    raise ValueError(str(dict(os.environ)))\n"
             "def answer():\n    return str(dict(os.environ))\n")
    pushed = StudentRepository(tmp_path / "toy-ivy")
    push_sha = pushed.commit_notebook("toy.ipynb", snoop)
    merge = StudentRepository(tmp_path / "toy-jon")
    merge_sha = merge.commit_notebook("toy.ipynb", TOY_WRONG)
    forge.token = TOKEN
    forge.gitlab[("42", 4)] = []
    service = services()
    assert service.github("push", push_event("course", pushed, "toy-ivy", push_sha))[0] == 202
    # GitLab comments with its own token; the fake accepts only the GitHub one, so the note is refused and logged
    assert service.gitlab("Merge Request Hook", merge_request_event(42, merge, "toy-jon", 4, merge_sha))[0] == 202
    graded(service, 2)

    comments = forge.commit_comments[("github", "course/toy-ivy", push_sha)]
    assert len(comments) == 1 and "toy: 0 / 4" in comments[0]["body"]
    assert any(line["event"] == "comment.failed" for line in service.log_lines())
    everything = [json.dumps(comments), service.log_path.read_text(), json.dumps([r.body for r in forge.requests])]
    with sqlite3.connect(service.db_path) as connection:
        for (table,) in connection.execute("select name from sqlite_master where type = 'table'"):
            everything.append(json.dumps(connection.execute(f"select * from {table}").fetchall(), default=str))
    text = "\n".join(everything)
    for secret in (TOKEN, GITLAB_TOKEN, SECRET):
        assert secret not in text
    assert "ghp_" not in text and "glpat-" not in text


def test_a_notebook_committed_as_a_symbolic_link_is_not_followed(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-kim")
    (repository.path / "toy.ipynb").symlink_to("/etc/passwd")
    repository.git("add", "-A")
    repository.git("commit", "-q", "-m", "link")
    sha = repository.git("rev-parse", "HEAD")
    forge.github[("course/toy-kim", 9)] = []
    service = services()
    service.github("pull_request", pull_request_event("course", repository, "toy-kim", 9, sha))
    graded(service, 1)
    body = forge.github[("course/toy-kim", 9)][0]["body"]
    assert "toy.ipynb is a symbolic link; commit the notebook itself" in body
    assert "root:" not in body


def test_a_gitlab_merge_request_gets_one_note_and_a_push_gets_a_commit_comment(tmp_path, forge, services):
    merge = StudentRepository(tmp_path / "toy-lea")
    merge_sha = merge.commit_notebook("toy.ipynb", TOY_WRONG)
    pushed = StudentRepository(tmp_path / "toy-max")
    push_sha = pushed.commit_notebook("toy.ipynb", TOY_RIGHT)
    forge.gitlab[("42", 6)] = []
    service = services(gitlab_token=TOKEN)  # the fake forge knows one token
    assert service.gitlab("Merge Request Hook", merge_request_event(42, merge, "toy-lea", 6, merge_sha))[0] == 202
    push = {"object_kind": "push", "ref": "refs/heads/main", "after": push_sha, "checkout_sha": push_sha,
            "project_id": 43, "project": {"id": 43, "path": "toy-max", "git_http_url": pushed.url}}
    assert service.gitlab("Push Hook", push)[0] == 202
    graded(service, 2)
    notes = forge.gitlab[("42", 6)]
    assert len(notes) == 1 and "toy: 1 / 4" in notes[0]["body"] and "*(hidden)*" in notes[0]["body"]
    comments = forge.commit_comments[("gitlab", "43", push_sha)]
    assert len(comments) == 1 and "toy: 4 / 4" in comments[0]["note"]
    assert sorted(row["student"] for row in service.rows("submissions")) == ["lea", "max"]


def test_a_commit_pushed_to_a_pull_requests_branch_is_graded_once_on_the_pull_request(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-ned")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    forge.github[("course/toy-ned", 2)] = []
    service = services()
    assert service.github("push", push_event("course", repository, "toy-ned", sha))[0] == 202
    assert service.github("pull_request", pull_request_event("course", repository, "toy-ned", 2, sha,
                                                             action="synchronize"))[0] == 202
    status, answer = service.github("push", push_event("course", repository, "toy-ned", sha))
    assert status == 202 and answer == {"ignored": "this commit is graded on its pull request"}
    graded(service, 1)
    assert [row["state"] for row in service.rows("serve_jobs")] == ["superseded", "done"]
    assert len(forge.github[("course/toy-ned", 2)]) == 1 and forge.commit_comments == {}
    assert len(service.rows("runs")) == 1


def test_status_reports_the_queue_and_the_last_verdicts(tmp_path, forge, services):
    repository = StudentRepository(tmp_path / "toy-olga")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    forge.github[("course/toy-olga", 1)] = []
    service = services()
    service.github("pull_request", pull_request_event("course", repository, "toy-olga", 1, sha))
    graded(service, 1)
    status = service.get("/status")
    assert status["queued"] == 0 and status["done"] == 1 and status["workers"]["batch"] == 1
    assert [(v["assignment"], v["sha"]) for v in status["last_verdicts"]] == [("toy", sha)]
    assert not {"student", "score", "max_score", "message"} & set(status["last_verdicts"][0])  # anyone may ask
    assert "olga" not in json.dumps(status)
    events = [line["event"] for line in service.log_lines()]
    assert events[:2] == ["service.sandbox", "service.started"] and "webhook.queued" in events
    assert "job.started" in events and "job.graded" in events


def test_fetching_a_commit_larger_than_the_cap_stops_with_one_line(tmp_path):
    repository = StudentRepository(tmp_path / "toy-pia")
    (repository.path / "weights.bin").write_bytes(os.urandom(3 << 20))
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    with pytest.raises(FetchError, match=r"^the repository is larger than 1 MiB; keep only the notebook"):
        read_notebook(repository.url, sha, "toy.ipynb", FetchLimits(max_bytes=1 << 20), tmp_path / "scratch")
    path, data = read_notebook(repository.url, sha, "toy.ipynb", FetchLimits(), tmp_path / "again")
    assert path == "toy.ipynb" and b"def double" in data


def test_fetching_refuses_protocols_it_was_not_allowed(tmp_path):
    repository = StudentRepository(tmp_path / "toy-quinn")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    with pytest.raises(FetchError, match=r"^file:// is not an allowed protocol for fetching"):
        read_notebook(repository.url, sha, "toy.ipynb", FetchLimits(protocols=("https",)), tmp_path / "scratch")


def test_fetching_reads_no_git_configuration_but_its_own(tmp_path, monkeypatch):
    repository = StudentRepository(tmp_path / "toy-rae")
    sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    decoy = StudentRepository(tmp_path / "decoy")
    decoy.commit_notebook("toy.ipynb", TOY_WRONG)
    witness = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("reference-transaction", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {witness}\n")
        (hooks / hook).chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "{decoy.url}"]\n\tinsteadOf = {repository.url}\n[core]\n\thooksPath = {hooks}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))  # an operator's (or anyone's) configuration
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(config))
    path, data = read_notebook(repository.url, sha, "toy.ipynb", FetchLimits(), tmp_path / "scratch")
    assert b"return x * 2" in data and not witness.exists()


HOSTILE = ["kill_parent_in_call", "killpg", "tensor_subclass", "os_exit", "patch_comparisons", "read_environ"]


def test_hostile_notebooks_among_honest_ones_leave_every_honest_student_one_right_comment(tmp_path, forge,
                                                                                            services):
    service = services()
    students: dict[str, tuple[int, str]] = {}
    for number, case in enumerate([*HOSTILE[:3], "honest1", *HOSTILE[3:], "honest2"], start=1):
        student = case.replace("_", "")
        repository = StudentRepository(tmp_path / f"toy-{student}")
        if case.startswith("honest"):
            sha = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
        else:
            text = (REPO / "tests" / "hostile" / f"{case}.ipynb").read_text()
            text = re.sub(r"@@[A-Z_]+@@", str(tmp_path / "placeholder"), text)
            (repository.path / "toy.ipynb").write_text(text)
            repository.git("add", "-A")
            repository.git("commit", "-q", "-m", case)
            sha = repository.git("rev-parse", "HEAD")
        forge.github[(f"course/toy-{student}", number)] = []
        students[case] = (number, student)
        assert service.github("pull_request", pull_request_event("course", repository, f"toy-{student}", number,
                                                                 sha))[0] == 202
    graded(service, len(students))
    for case, (number, student) in students.items():
        comments = forge.github[(f"course/toy-{student}", number)]
        assert len(comments) == 1, case
        expected = "toy: 4 / 4" if case.startswith("honest") else "toy: 0 / 4"
        assert expected in comments[0]["body"], (case, comments[0]["body"][:600])
        assert "HOSTILE-EVIDENCE" not in comments[0]["body"]


def test_the_queue_supersedes_takes_once_and_requeues_on_both_backends(gradebook_url):
    from grader.models import utcnow
    from grader.serve.events import CommitToGrade
    from grader.serve.queue import JobQueue
    from grader.store import Gradebook

    def commit(sha: str, pull_request: int | None = 1) -> CommitToGrade:
        return CommitToGrade(forge="github", project="course/toy-ann", repository="toy-ann",
                             clone_url="https://github.example/course/toy-ann.git", sha=sha, ref="refs/heads/main",
                             pull_request=pull_request)

    with Gradebook(gradebook_url) as gradebook:
        queue = JobQueue(gradebook.engine)
        first, _ = queue.add(commit("a" * 40), "toy", "ann")
        second, superseded = queue.add(commit("b" * 40), "toy", "ann")
        assert superseded == [first]
        assert queue.add(commit("b" * 40, pull_request=None), "toy", "ann") == (None, [])
        taken = queue.take()
        assert taken.id == second and taken.commit.sha == "b" * 40 and taken.attempts == 1
        assert queue.take() is None  # the one queued job is taken; the superseded one never is
        assert queue.requeue_interrupted() == 1  # the service died while grading it
        again = JobQueue(gradebook.engine).take()
        assert again.id == second and again.attempts == 2
        queue.defer(second, utcnow())
        deferred = queue.take()
        assert deferred.id == second and deferred.attempts == 2  # a deferral is not an attempt at grading
        queue.finish(second, 4.0, 4.0, "graded")
        assert queue.summary()["queued"] == 0 and queue.summary()["last_verdicts"][0]["score"] == 4.0
        assert list(queue.graded_in_window("toy", "ann", timedelta(hours=1))) == ["b" * 40]


def test_a_comment_someone_else_starts_with_the_marker_is_left_alone(tmp_path, forge, services):
    forge.answers_user = True
    repository = StudentRepository(tmp_path / "toy-sam")
    first = repository.commit_notebook("toy.ipynb", TOY_WRONG)
    planted = forge.comment("<!-- grader-serve:toy -->\n### ✅ toy: 4 / 4", login="sam")
    forge.github[("course/toy-sam", 3)] = [planted]
    service = services()
    service.github("pull_request", pull_request_event("course", repository, "toy-sam", 3, first))
    graded(service, 1)
    second = repository.commit_notebook("toy.ipynb", TOY_RIGHT)
    service.github("pull_request", pull_request_event("course", repository, "toy-sam", 3, second,
                                                      action="synchronize"))
    graded(service, 2)
    comments = forge.github[("course/toy-sam", 3)]
    assert len(comments) == 2 and comments[0] == planted and comments[0]["body"].endswith("toy: 4 / 4")
    assert comments[1]["user"]["login"] == "github-actions[bot]" and "toy: 4 / 4" in comments[1]["body"]
    assert second[:12] in comments[1]["body"]
    assert sum(1 for request in forge.requests if request.path == "/github/user") == 1  # asked once
