"""Hidden checks say nothing a student can use to learn them (`grader ci`'s summary, annotations, JUnit).

Every hidden check of every homework runs against the assignment's mutants and against a mutant
that raises (and prints) ``repr`` of everything it was given. What a student reads of a hidden check
(`student_view`) may hold a number only where the check's author wrote it (a string or an integer
literal in the check's source: its labels, hints, sizes) or where it states the shape, dtype or
device of the student's own result. A value, a difference, an index or the student's own exception
text fails the rule: the instructor's full messages, which hold exactly those, are checked to fail it.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from grader.ci import run_ci
from grader.report import markdown_text
from grader.extract import extract_submission
from grader.judge import start_judge
from grader.mutants import apply, load_mistakes, planted_submissions
from grader.models import Verdict
from grader.spec import load_assignment
from grader.student_view import student_view

HOMEWORKS = ["hw1", "hw2", "hw3", "hw4", "hw5"]
MARK = "LEAKMARK"
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
# Facts about the student's own result that may carry digits: its shape, its dtype and device, how many items.
OWN_FACTS = re.compile(r"shape \([\d, ]*\)|\b(?:torch\.)?(?:u?int|float|bfloat|complex)\d+\b|\bcuda:\d+\b"
                       r"|\bof \d+ items\b")

LEAKY_HELPERS = f'''
import torch
from torch import nn


def _leak(*args, **kwargs):
    parts = []
    for value in list(args) + list(kwargs.values()):
        try:  # a loader: the data it yields
            parts.append(repr(next(iter(value))) if hasattr(value, "__iter__") and not torch.is_tensor(value)
                         else repr(value))
        except Exception:
            parts.append(repr(value))
    text = "{MARK}" + " ".join(parts)
    print(text)
    raise ValueError(text)
'''
LEAKY_FUNCTIONS = {
    "hw1": ["arange_matrix", "first_column_last_row", "flatten_batch", "standardize_columns", "stack_channels",
            "count_greater", "to_device"],
    "hw2": ["sigmoid", "softmax", "forward_by_hand", "predict_proba"],
    "hw3": ["quadratic_grad", "quadratic_grad_by_hand", "sigmoid_mse_grads", "graph_grads", "predict_no_grad"],
    "hw4": ["build_sequential", "init_weights", "count_parameters"],
    "hw5": ["train_epoch", "evaluate", "fit"],
}
LEAKY_NETWORK = '''

class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 128), nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, x):
        _leak(x)
'''


def leaky_mutant(homework: str, folder: Path) -> Path:
    """A submission whose every function raises, and prints, repr of what the check sent it."""
    source = LEAKY_HELPERS + "".join(f"\n\ndef {name}(*args, **kwargs):\n    _leak(*args, **kwargs)\n"
                                     for name in LEAKY_FUNCTIONS[homework])
    if homework == "hw4":
        source += LEAKY_NETWORK
    path = folder / f"leaky_{homework}.py"
    path.write_text(source)
    return path


def authored_numbers(spec) -> set[str]:
    """Numbers the check's author wrote: in the string and integer literals of the hidden checks, the
    support modules and the grader's assertion messages ("rows do not sum to 1")."""
    files = [path for path in spec.check_files(include_hidden=True) if spec.hidden_checks in path.parents]
    files += spec.support_files() + [REPO / "grader" / "assertions.py"]
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.update(NUMBER.findall(node.value))
            elif isinstance(node, ast.Constant) and type(node.value) is int:
                found.add(str(abs(node.value)))
    return found


def leaks(text: str, allowed: set[str]) -> list[str]:
    """What in a student-facing text is a number the author did not write and no fact about the result."""
    found = [number for number in NUMBER.findall(OWN_FACTS.sub(" ", text)) if number not in allowed]
    return found + ([MARK] if MARK in text else []) + (["tensor("] if "tensor(" in text else [])


def grade_mutants(homework: str, folder: Path) -> list[Verdict]:
    """Every mutant of the homework, then the leaky one, through the real sandbox and judge."""
    spec = load_assignment(homework, REPO / "assignments")
    _, planted = planted_submissions(spec)
    submissions = planted + [extract_submission(leaky_mutant(homework, folder), spec)]
    with start_judge(spec, include_hidden=True, device="cpu", allow_unisolated=True) as judge:
        return judge.grade(submissions)


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_hidden_checks_tell_students_nothing_about_their_inputs(homework, tmp_path):
    spec = load_assignment(homework, REPO / "assignments")
    allowed = authored_numbers(spec)
    verdicts = grade_mutants(homework, tmp_path)
    failed, full_leaks = 0, 0
    for verdict in verdicts:
        assert verdict.status == "graded", (verdict.submission, verdict.message)
        seen = student_view(verdict, "safe")
        assert seen.stdout == "" and MARK not in seen.stderr
        for full, shown in zip(verdict.checks, seen.checks):
            assert (shown.name, shown.title, shown.passed, shown.score) == (full.name, full.title, full.passed,
                                                                            full.score)
            if full.visibility != "hidden":
                assert shown.message == full.message  # public checks stay as they are
                continue
            assert not leaks(shown.message, allowed), (verdict.submission, full.name, shown.message)
            if not full.passed:
                failed += 1
                assert shown.message
                full_leaks += bool(leaks(full.message, allowed))
    leaky = verdicts[-1]
    assert [check for check in leaky.checks if check.visibility == "hidden" and not check.passed]
    assert MARK in leaky.stdout  # it did print what it was given
    # The rule can fail: the instructor's messages for the same failures break it.
    assert failed and full_leaks, (failed, full_leaks)


def hw2_private_copy(tmp_path: Path, feedback: str | None) -> Path:
    """The course's hw2 with its reference solution, outside the working directory, with a [feedback] table."""
    assignments = tmp_path / "private" / "assignments"
    shutil.copytree(REPO / "assignments" / "hw2", assignments / "hw2", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "private" / "reference_solutions").mkdir()
    shutil.copy(REPO / "reference_solutions" / "hw2.py", tmp_path / "private" / "reference_solutions")
    if feedback is not None:
        spec_file = assignments / "hw2" / "assignment.toml"
        spec_file.write_text(spec_file.read_text() + f'\n[feedback]\nhidden = "{feedback}"\n')
    return assignments


def ci_outputs(tmp_path: Path, monkeypatch, feedback: str | None):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    notebook = checkout / "hw2.py"
    # Right on the public checks' inputs, wrong on the hidden ones: softmax overflows on large logits.
    spec = load_assignment("hw2", REPO / "assignments")
    unstable = next(mistake for mistake in load_mistakes(spec) if mistake.name == "softmax_unstable")
    notebook.write_text(apply(unstable, spec.reference_solution().read_text()))
    outcome = run_ci("hw2", notebook, checks_dir=hw2_private_copy(tmp_path, feedback), device="cpu",
                     allow_unisolated=True, junit_path=checkout / "junit.xml", environ={})
    hidden_failed = [check for check in outcome.verdict.checks if check.visibility == "hidden" and not check.passed]
    assert hidden_failed and all(check.passed for check in outcome.verdict.checks if check.visibility == "public")
    texts = [outcome.markdown, "\n".join(outcome.annotations), (checkout / "junit.xml").read_text()]
    return outcome, hidden_failed, texts


def test_ci_shows_hidden_checks_safe_messages_by_default(tmp_path, monkeypatch):
    outcome, hidden_failed, (markdown, annotations, junit) = ci_outputs(tmp_path, monkeypatch, None)
    for check in hidden_failed:
        assert check.student_message and check.message != check.student_message  # the gradebook keeps it all
        assert markdown_text(check.message) not in markdown
        assert check.message.splitlines()[0] not in annotations + junit
        assert markdown_text(check.student_message) in markdown and markdown_text(check.title, 300) in markdown
        assert "at index" not in markdown + annotations + junit


def test_ci_shows_full_messages_when_the_assignment_opts_in(tmp_path, monkeypatch):
    outcome, hidden_failed, (markdown, annotations, junit) = ci_outputs(tmp_path, monkeypatch, "full")
    for check in hidden_failed:
        assert markdown_text(check.message) in markdown
    assert "at index" in markdown


def test_ci_hides_even_titles_when_the_assignment_says_none(tmp_path, monkeypatch):
    outcome, hidden_failed, (markdown, annotations, junit) = ci_outputs(tmp_path, monkeypatch, "none")
    hidden = [check for check in outcome.verdict.checks if check.visibility == "hidden"]
    for check in hidden:
        assert markdown_text(check.title, 300) not in markdown and check.title not in annotations + junit
    assert f"hidden checks ({len(hidden)})" in markdown
    earned = sum(check.score for check in hidden)
    assert f"{earned:g} / {sum(check.max_score for check in hidden):g}" in markdown
    assert f"### ❌ hw2: {outcome.verdict.score:g} / 10" in markdown


def test_an_unknown_feedback_policy_is_one_line(tmp_path):
    assignments = hw2_private_copy(tmp_path, "everything")
    with pytest.raises(Exception) as error:
        load_assignment("hw2", assignments)
    assert "feedback.hidden" in str(error.value) and "fix the file" in str(error.value)
