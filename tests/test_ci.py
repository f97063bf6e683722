"""`grader ci` as a CI job runs it, against a loopback server speaking GitHub's and GitLab's APIs."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, write_notebook
from forge_server import Failure, FakeForge
from grader.ci import CommentError, PullRequest, find_marked_comment, publish_comment, pull_request_from_environment
from grader.report import comment_marker

TOKEN = "ghp_s3cr3tT0kenValue_0123456789"
MARKER = comment_marker("hw1")
EXAMPLES = REPO / "submissions" / "hw1"
CI_VARIABLE = re.compile(r"^(GITHUB_|GH_|GITLAB_|CI_|GRADER_)")


def ci_environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    """The parent's environment without any CI variables of its own, plus the job's."""
    environment = {name: value for name, value in os.environ.items() if not CI_VARIABLE.match(name)}
    environment.update(variables)
    return environment


def run_ci(checkout: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", "ci", "hw1", *args], cwd=checkout, env=environment,
                          capture_output=True, text=True, timeout=300)


def github_job(tmp_path: Path, forge: FakeForge, number: int = 7) -> tuple[Path, dict[str, str]]:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": number,
                                 "pull_request": {"number": number, "user": {"login": "alice"}}}))
    environment = ci_environment(
        tmp_path, GITHUB_ACTIONS="true", GITHUB_REPOSITORY="course/hw1-alice", GITHUB_EVENT_PATH=str(event),
        GITHUB_API_URL=f"{forge.url}/github", GITHUB_TOKEN=TOKEN, GITHUB_WORKSPACE=str(checkout),
        GITHUB_STEP_SUMMARY=str(tmp_path / "step_summary.md"), GITHUB_REF=f"refs/pull/{number}/merge")
    return checkout, environment


def assert_token_only_in_header(forge: FakeForge, header: str, *outputs: str) -> None:
    for request in forge.requests:
        assert TOKEN not in request.path + json.dumps(request.query) + request.body
        for name, value in request.headers.items():
            assert (TOKEN in value) == (name == header), (name, value)
    for output in outputs:
        assert TOKEN not in output


def table_rows(markdown: str) -> list[str]:
    """The rows of the checks table."""
    return [line for line in markdown.splitlines() if line.startswith(("| ✅ |", "| ❌ |"))]


def cell_rows(markdown: str) -> list[str]:
    """The rows of the table of cells that raised."""
    return [line for line in markdown.splitlines() if re.match(r"\| \d+ \|", line)]


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_github_first_run_creates_the_comment_second_run_updates_it(tmp_path):
    with FakeForge(token=TOKEN) as forge:
        others = [forge.comment(f"looks good {i}", login="ta") for i in range(130)]
        other_assignment = forge.comment(comment_marker("hw2") + "\nhw2: 10 / 10", login="github-actions[bot]")
        mentions_marker = forge.comment(f"what is {MARKER} for?", login="alice")
        forge.github[("course/hw1-alice", 7)] = [*others, other_assignment, mentions_marker]
        checkout, environment = github_job(tmp_path, forge)
        shutil.copy(EXAMPLES / "partial.ipynb", checkout / "hw1.ipynb")

        first = run_ci(checkout, environment, "--comment", "--junit", "junit.xml", "--fail-under", "5")

        assert first.returncode == 1, first.stderr  # 3.5 < 5
        assert "created comment" in first.stderr and "course/hw1-alice#7" in first.stderr
        listing = [r for r in forge.requests if r.method == "GET"]
        assert [r.query.get("page", "1") for r in listing] == ["1", "2"]  # followed the Link header
        assert all(r.path == "/github/repos/course/hw1-alice/issues/7/comments" for r in listing)
        posts = [r for r in forge.requests if r.method == "POST"]
        assert len(posts) == 1 and not any(r.method == "PATCH" for r in forge.requests)
        body = posts[0].json["body"]
        assert body.startswith(MARKER + "\n") and body.count(MARKER) == 1
        assert "### ❌ hw1: 3.5 / 6" in body
        rows = table_rows(body)
        assert "| ❌ | standardize\\_columns on a (5, 3) float tensor | 0 / 1 | standardize\\_columns(x): 15 of 15" \
            in body
        assert sum(row.startswith("| ✅ |") for row in rows) == 4 and sum(row.startswith("| ❌ |") for row in rows) == 3
        assert "7 hidden checks run at grading time" in body
        assert posts[0].headers["content-type"] == "application/json"

        # The step summary, stdout and the annotations carry the same table.
        summary = (tmp_path / "step_summary.md").read_text()
        assert "| ❌ | stack\\_channels" in summary and "3.5 / 6" in summary
        assert "| ❌ | stack\\_channels" in first.stdout
        annotations = [line for line in first.stdout.splitlines() if line.startswith("::")]
        assert len(annotations) == 3
        assert all(line.startswith("::error file=hw1.ipynb,title=hw1%3A ") for line in annotations)
        assert "count_greater(t, 0.5) should return an int" in annotations[2]

        suite = ET.parse(checkout / "junit.xml").getroot().find("testsuite")
        assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("hw1", "7", "3")
        cases = {case.get("name"): case for case in suite.findall("testcase")}
        assert all(case.get("classname") == "hw1" for case in cases.values())
        failed = cases["test_stack_channels_4x4"]
        assert "shape is (4, 4, 3), expected (3, 4, 4)" in failed.find("failure").get("message")
        points = {p.get("name"): p.get("value") for p in failed.find("properties")}
        assert (points["points"], points["max_points"]) == ("0", "0.5")
        assert cases["test_arange_matrix_3x4"].find("failure") is None

        created_id = forge.github[("course/hw1-alice", 7)][-1]["id"]
        # A later comment that imitates the marker must not be taken for the bot's own.
        forge.github[("course/hw1-alice", 7)].append(forge.comment(MARKER + "\nfake: 10 / 10", login="alice"))
        first_requests = len(forge.requests)

        shutil.copy(EXAMPLES / "correct.ipynb", checkout / "hw1.ipynb")
        second = run_ci(checkout, environment, "--comment", "--junit", "junit.xml", "--fail-under", "5")

        assert second.returncode == 0, second.stderr
        assert f"updated comment {created_id}" in second.stderr
        later = forge.requests[first_requests:]
        assert [r.method for r in later] == ["GET", "GET", "PATCH"]
        assert later[-1].path == f"/github/repos/course/hw1-alice/issues/comments/{created_id}"
        comments = forge.github[("course/hw1-alice", 7)]
        assert len(comments) == 134  # 132 seeded + the bot's + the imitation: no second bot comment
        bot = next(c for c in comments if c["id"] == created_id)
        assert bot["body"].startswith(MARKER) and "### ✅ hw1: 6 / 6" in bot["body"]
        assert sum(row.startswith("| ✅ |") for row in table_rows(bot["body"])) == 7
        assert other_assignment["body"].endswith("hw2: 10 / 10") and comments[-1]["body"].endswith("fake: 10 / 10")
        assert ET.parse(checkout / "junit.xml").getroot().find("testsuite").get("failures") == "0"
        assert not [line for line in second.stdout.splitlines() if line.startswith("::")]

        assert_token_only_in_header(forge, "authorization", first.stdout, first.stderr, second.stdout,
                                    second.stderr, summary, (checkout / "junit.xml").read_text())


def test_gitlab_merge_request_with_hidden_checks_and_gradebook(tmp_path):
    with FakeForge(token=TOKEN) as forge:
        notes = [forge.comment(f"note {i}", login="ta", system=(i % 10 == 0)) for i in range(120)]
        forge.gitlab[("42", 3)] = notes
        checkout = tmp_path / "checkout"
        checkout.mkdir()
        (checkout / "hw1").mkdir()
        shutil.copy(EXAMPLES / "template.ipynb", checkout / "hw1" / "hw1.ipynb")  # found below the top
        environment = ci_environment(
            tmp_path, GITLAB_CI="true", CI_API_V4_URL=f"{forge.url}/api/v4", CI_PROJECT_ID="42",
            CI_MERGE_REQUEST_IID="3", GITLAB_TOKEN=TOKEN, GITLAB_USER_LOGIN="bob", CI_PROJECT_DIR=str(checkout))
        database = tmp_path / "grades.db"
        args = ("--checks-dir", str(REPO / "assignments"), "--comment", "--junit", "report.xml",
                "--db", f"sqlite:///{database}", "--fail-under", "10")

        first = run_ci(checkout, environment, *args)

        assert first.returncode == 1, first.stderr
        assert "created comment" in first.stderr and "42!3" in first.stderr
        gets = [r for r in forge.requests if r.method == "GET"]
        assert [r.query["page"] for r in gets] == ["1", "2"]  # followed X-Next-Page
        assert all(r.path == "/api/v4/projects/42/merge_requests/3/notes" for r in gets)
        post = next(r for r in forge.requests if r.method == "POST")
        body = post.json["body"]
        assert body.startswith(MARKER) and "### ❌ hw1: 0 / 10" in body and "public and hidden checks" in body
        assert "*(hidden)*" in body and "raised NotImplementedError" in body
        assert len(table_rows(body)) == 14
        assert not [line for line in first.stdout.splitlines() if line.startswith("::")]  # not on GitLab
        suite = ET.parse(checkout / "report.xml").getroot().find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("14", "14")
        created_id = forge.gitlab[("42", 3)][-1]["id"]

        shutil.copy(EXAMPLES / "correct.ipynb", checkout / "hw1" / "hw1.ipynb")
        count = len(forge.requests)
        second = run_ci(checkout, environment, *args)

        assert second.returncode == 0, second.stderr
        later = forge.requests[count:]
        assert [r.method for r in later] == ["GET", "GET", "PUT"]
        assert later[-1].path == f"/api/v4/projects/42/merge_requests/3/notes/{created_id}"
        assert len(forge.gitlab[("42", 3)]) == 121
        assert "### ✅ hw1: 10 / 10" in forge.gitlab[("42", 3)][-1]["body"]
        assert_token_only_in_header(forge, "private-token", first.stdout, first.stderr, second.stdout, second.stderr)

        rows = sqlite3.connect(database).execute(
            "select s.student, s.path, r.score, r.max_score, r.include_hidden from runs r "
            "join submissions s on s.id = r.submission_id order by r.id").fetchall()
        assert rows == [("bob", "42!3:hw1/hw1.ipynb", 0.0, 10.0, 1), ("bob", "42!3:hw1/hw1.ipynb", 10.0, 10.0, 1)]


HOSTILE_CELL = (
    "import os\n"
    "secret = os.environ.get('GITHUB_TOKEN', 'no token here')\n"
    "raise RuntimeError('a | b `code` <b>bold</b> " + MARKER + " @octocat [x](http://e.example) $x$\\n"
    "::error file=hw1.ipynb::injected\\n| fake | row |\\x00\\x1b[31m' + secret)\n"
)
HOSTILE_FUNCTIONS = (
    "def count_greater(t, value):\n"
    "    return '| ::error file=x::pwned `c` <i>i</i> " + MARKER + "'\n"
)


def test_student_text_cannot_inject_and_an_api_failure_loses_nothing(tmp_path):
    with FakeForge(token=TOKEN, failures=[Failure("POST", 503)]) as forge:
        forge.github[("course/hw1-alice", 7)] = []
        checkout, environment = github_job(tmp_path, forge)
        write_notebook(checkout / "hw1.ipynb", HOSTILE_CELL, HOSTILE_FUNCTIONS)

        result = run_ci(checkout, environment, "--comment", "--junit", "junit.xml")

        assert result.returncode == 0
        errors = result.stderr.strip().splitlines()
        assert len(errors) == 1
        assert errors[0].startswith("error: the pull-request comment was not posted: GitHub API: POST "
                                    "/github/repos/course/hw1-alice/issues/7/comments: HTTP 503")
        # Nothing lost: stdout, the step summary and the JUnit file are all there.
        summary = (tmp_path / "step_summary.md").read_text()
        junit = (checkout / "junit.xml").read_text()
        suite = ET.fromstring(junit).find("testsuite")  # still well-formed XML despite NUL and ESC
        assert (suite.get("tests"), suite.get("failures")) == ("7", "7")
        assert "\x00" not in junit and "\x1b" not in junit
        body = forge.requests[-1].json["body"]  # the POST the server refused
        printed = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("::"))
        assert "| ❌ |" in printed
        for markdown in (body, summary, printed):
            assert markdown.count(MARKER) == (1 if markdown is body else 0)
            assert "<b>" not in markdown and "<i>" not in markdown and "&lt;b&gt;bold&lt;/b&gt;" in markdown
            assert "@octocat" not in markdown and "[x](" not in markdown and "`code`" not in markdown
            for row in [line for line in markdown.splitlines() if line.startswith("|")]:
                assert unescaped_pipes(row) in (5, 4), row  # 4 columns of checks, 3 of cells
            assert len(table_rows(markdown)) == 7 and len(cell_rows(markdown)) == 1
        # Only our own annotations start a line: one per failed check, one for the cell.
        commands = [line for line in result.stdout.splitlines() if line.lstrip().startswith("::")]
        assert len(commands) == 8
        assert all(re.match(r"::(error|warning) file=hw1\.ipynb,title=[^:]*::", line) for line in commands)
        assert sum("injected" in line for line in commands) == 1
        assert_token_only_in_header(forge, "authorization", result.stdout, result.stderr, summary, junit)


def test_missing_notebook_is_reported_as_a_result(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "notes.ipynb").write_text("{}")
    result = run_ci(checkout, ci_environment(tmp_path), "--junit", "junit.xml", "--fail-under", "1")
    assert result.returncode == 1
    assert "no hw1.ipynb in this pull request's checkout" in result.stdout
    assert "::error file=hw1.ipynb,title=hw1%3A not graded::no hw1.ipynb" in result.stdout
    case = ET.parse(checkout / "junit.xml").getroot().find("testsuite/testcase")
    assert case.get("name") == "submission" and case.find("error") is not None

    # A committed link to a file outside the checkout is not followed by the trusted side.
    secret = tmp_path / "private" / "hw1.ipynb"
    secret.parent.mkdir()
    shutil.copy(EXAMPLES / "correct.ipynb", secret)
    (checkout / "hw1.ipynb").symlink_to(secret)
    linked = run_ci(checkout, ci_environment(tmp_path), "--fail-under", "1")
    assert linked.returncode == 1
    assert "hw1.ipynb is a link to a file outside the checkout" in linked.stdout


# -- the API client alone, against the same server: failures and redirects ----------------

def github_pr(forge: FakeForge, token: str = TOKEN, number: int = 7) -> PullRequest:
    return PullRequest(provider="github", api_url=f"{forge.url}/github", project="course/hw1-alice", number=number,
                       token=token, token_variable="GITHUB_TOKEN")


def gitlab_pr(forge: FakeForge, token: str = TOKEN, number: int = 3) -> PullRequest:
    return PullRequest(provider="gitlab", api_url=f"{forge.url}/api/v4", project="42", number=number,
                       token=token, token_variable="GITLAB_TOKEN")


@pytest.mark.parametrize("provider", ["github", "gitlab"])
@pytest.mark.parametrize("failure, expected", [
    ("wrong token", "HTTP 401"),
    ("unknown pull request", "HTTP 404"),
    ("server error", "HTTP 502"),
    ("timeout", "no answer within 0.5 s"),
])
def test_api_failures_are_one_clear_line_without_the_token(provider, failure, expected):
    with FakeForge(token=TOKEN) as forge:
        forge.github[("course/hw1-alice", 7)] = []
        forge.gitlab[("42", 3)] = []
        make = github_pr if provider == "github" else gitlab_pr
        pull_request = make(forge)
        if failure == "wrong token":
            pull_request = make(forge, token="wrong-" + TOKEN)
        elif failure == "unknown pull request":
            pull_request = make(forge, number=99)
        elif failure == "server error":
            forge.failures.append(Failure(None, 502))
        else:
            forge.failures.append(Failure(None, "stall", seconds=2))
        with pytest.raises(CommentError) as caught:
            publish_comment(pull_request, MARKER, MARKER + "\nbody", timeout=0.5)
        message = str(caught.value)
        assert expected in message and "\n" not in message
        assert TOKEN not in message
        assert ("GitHub API: GET" if provider == "github" else "GitLab API: GET") in message
        if failure == "wrong token":
            assert "was refused" in message
        if failure == "unknown pull request":
            assert ("course/hw1-alice#99" if provider == "github" else "42!99") in message
        assert not forge.github[("course/hw1-alice", 7)] and not forge.gitlab[("42", 3)]


def test_a_next_page_on_another_host_never_gets_the_token():
    with FakeForge(token=TOKEN) as elsewhere, FakeForge(token=TOKEN) as forge:
        forge.next_link_base = elsewhere.url
        forge.github[("course/hw1-alice", 7)] = [forge.comment(str(i)) for i in range(150)]
        with pytest.raises(CommentError, match="another host"):
            publish_comment(github_pr(forge), MARKER, MARKER + "\nbody", timeout=5)
        assert elsewhere.requests == []
        assert [r.method for r in forge.requests] == ["GET"]


def test_gitlab_job_token_goes_in_its_own_header():
    with FakeForge(token=TOKEN) as forge:
        forge.gitlab[("group/course", 3)] = []
        pull_request = pull_request_from_environment({
            "GITLAB_CI": "true", "CI_API_V4_URL": f"{forge.url}/api/v4", "CI_PROJECT_ID": "group/course",
            "CI_MERGE_REQUEST_IID": "3", "CI_JOB_TOKEN": TOKEN})
        result = publish_comment(pull_request, MARKER, MARKER + "\nbody", timeout=5)
        assert result.action == "created"
        assert forge.requests[0].path == "/api/v4/projects/group%2Fcourse/merge_requests/3/notes"
        assert all(r.headers.get("job-token") == TOKEN and "private-token" not in r.headers for r in forge.requests)


@pytest.mark.parametrize("environment, expected", [
    ({"GITHUB_REPOSITORY": "o/r", "GITHUB_REF": "refs/pull/5/merge"}, "no token in $GITHUB_TOKEN"),
    ({"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "t", "GITHUB_REF": "refs/heads/main"},
     "not running for a pull request"),
    ({"GITLAB_CI": "true", "CI_API_V4_URL": "http://x/api/v4", "CI_PROJECT_ID": "1", "GITLAB_TOKEN": "t"},
     "not a merge request pipeline"),
    ({}, "cannot tell GitHub Actions from GitLab CI"),
])
def test_missing_settings_say_what_to_set(environment, expected):
    with pytest.raises(CommentError, match=re.escape(expected)):
        pull_request_from_environment(environment)


def test_pull_request_number_and_api_url_from_the_environment(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12, "user": {"login": "carol"}}}))
    pull_request = pull_request_from_environment({
        "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": "https://ghe.example/api/v3/"})
    assert (pull_request.number, pull_request.author, pull_request.api_url) == (12, "carol",
                                                                               "https://ghe.example/api/v3")
    assert TOKEN not in repr(pull_request) and TOKEN not in pull_request.model_dump_json()


def test_the_bots_own_marked_comment_wins_over_a_copied_marker():
    student_copy = {"id": 5, "body": MARKER + "\nhw1: 10 / 10", "user": {"login": "alice", "type": "User"}}
    bot = {"id": 9, "body": MARKER + "\nhw1: 3 / 10", "user": {"login": "github-actions[bot]", "type": "Bot"}}
    other = {"id": 3, "body": comment_marker("hw2") + "\n", "user": {"login": "github-actions[bot]", "type": "Bot"}}
    quoted = {"id": 4, "body": f"> {MARKER}", "user": {"login": "alice", "type": "User"}}
    assert find_marked_comment([student_copy, bot, other, quoted], MARKER) is bot
    assert find_marked_comment([bot | {"user": {}}, student_copy], MARKER) is student_copy  # no bot: the oldest
    assert find_marked_comment([other, quoted], MARKER) is None


def test_gitlab_merge_request_from_a_fork_comments_on_the_target_project():
    with FakeForge(token=TOKEN) as forge:
        forge.gitlab[("42", 3)] = []  # the course's project; the fork (77) has no such merge request
        pull_request = pull_request_from_environment({
            "GITLAB_CI": "true", "CI_API_V4_URL": f"{forge.url}/api/v4", "CI_PROJECT_ID": "77",
            "CI_MERGE_REQUEST_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "3", "GITLAB_TOKEN": TOKEN})
        result = publish_comment(pull_request, MARKER, MARKER + "\nbody", timeout=5)
        assert (result.action, pull_request.label) == ("created", "42!3")
        assert [r.path for r in forge.requests] == ["/api/v4/projects/42/merge_requests/3/notes"] * 2
        assert forge.gitlab[("42", 3)][0]["body"] == MARKER + "\nbody"


def test_a_ci_flag_outweighs_another_forges_variables():
    pull_request = pull_request_from_environment({
        "GITLAB_CI": "true", "GITHUB_REPOSITORY": "o/r", "CI_API_V4_URL": "http://x/api/v4", "CI_PROJECT_ID": "1",
        "CI_MERGE_REQUEST_IID": "4", "GITLAB_TOKEN": TOKEN})
    assert (pull_request.provider, pull_request.label) == ("gitlab", "1!4")


def test_an_unknown_provider_names_the_known_ones():
    with pytest.raises(CommentError, match=re.escape("--provider bitbucket: expected auto, github or gitlab")):
        pull_request_from_environment({"GITHUB_TOKEN": TOKEN}, provider="bitbucket")
