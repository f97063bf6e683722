"""Verdicts and the shapes made from them without a sandbox: public JSON, the raw score, report lines."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from grader import report
from grader.errors import GraderError
from grader.i18n import set_language
from grader.models import CellError, CellResult, CheckResult, Verdict

PUBLIC_KEYS = ["submission", "student", "score", "max_score", "status", "checks", "cell_errors", "device",
               "duration"]


@pytest.fixture(autouse=True)
def english():
    set_language("en")


def check(name: str, passed: bool, points: float = 1.0, visibility: str = "public", message: str = "") -> CheckResult:
    return CheckResult(name=name, title=name.removeprefix("test_"), visibility=visibility,
                       score=points if passed else 0.0, max_score=points, passed=passed, message=message)


def graded_verdict(**fields) -> Verdict:
    values = dict(
        assignment="toy", submission="subs/ann.ipynb", student="ann", sha256="ab" * 32, status="graded",
        score=3.0, max_score=4.0, device="cpu", duration=1.23456, stdout="printed", stderr="warned",
        layers={"bubblewrap": True}, grader_version="1.0", checks_fingerprint="f" * 16,
        checks=[check("test_double", True, 2.0), check("test_answer", False, 1.0, "hidden", "answer() returned 41"),
                check("test_float", True, 1.0)],
        cells=[CellResult(index=1, status="ok"),
               CellResult(index=2, status="error", error=CellError(type="NameError", message="name 'x' is not defined",
                                                                  traceback="Traceback ...")),
               CellResult(index=3, status="timeout", error=None)])
    values.update(fields)
    return Verdict(**values)


# public_json ------------------------------------------------------------------------------------

def test_public_json_of_a_graded_verdict_has_exactly_the_promised_keys():
    assert list(graded_verdict().public_json()) == PUBLIC_KEYS


def test_public_json_of_a_graded_verdict_values():
    data = graded_verdict().public_json()
    assert (data["submission"], data["student"], data["score"], data["max_score"], data["status"]) == (
        "subs/ann.ipynb", "ann", 3.0, 4.0, "graded")
    assert data["device"] == "cpu" and data["duration"] == 1.235


def test_public_json_checks_carry_name_score_passed_message_and_visibility():
    checks = graded_verdict().public_json()["checks"]
    assert checks[1] == {"name": "test_answer", "score": 0.0, "max_score": 1.0, "passed": False,
                         "message": "answer() returned 41", "visibility": "hidden"}
    assert [c["name"] for c in checks] == ["test_double", "test_answer", "test_float"]


def test_public_json_lists_only_the_cells_that_failed_with_type_and_message():
    assert graded_verdict().public_json()["cell_errors"] == [
        {"cell": 2, "status": "error", "error": "NameError: name 'x' is not defined"},
        {"cell": 3, "status": "timeout", "error": ""}]


def test_public_json_leaves_out_output_tracebacks_and_internals():
    text = json.dumps(graded_verdict().public_json())
    for private in ("printed", "warned", "Traceback", "bubblewrap", "ffffffffffffffff", "abab"):
        assert private not in text


def test_public_json_of_an_error_verdict_adds_its_message():
    verdict = Verdict(assignment="toy", submission="notes.ipynb", student="notes", status="error",
                      message="notes.ipynb: not a notebook (invalid JSON)")
    data = verdict.public_json()
    assert list(data) == PUBLIC_KEYS + ["message"]
    assert data["message"] == "notes.ipynb: not a notebook (invalid JSON)"
    assert (data["score"], data["max_score"], data["checks"], data["cell_errors"]) == (0.0, 0.0, [], [])


def test_public_json_of_a_graded_verdict_has_no_message_even_when_one_is_set():
    assert "message" not in graded_verdict(message="internal note").public_json()


def test_public_json_is_json_serialisable():
    assert json.loads(json.dumps(graded_verdict().public_json())) == graded_verdict().public_json()


# the score before the late penalty --------------------------------------------------------------

def test_score_before_penalty_is_the_score_when_no_penalty_was_applied():
    assert graded_verdict(score=3.0).score_before_penalty == 3.0


def test_score_before_penalty_is_the_raw_score_when_late():
    late = graded_verdict(score=1.5, raw_score=3.0, penalty=0.5, late_seconds=90000.0,
                          submitted_at=datetime(2026, 1, 12, tzinfo=timezone.utc))
    assert late.score_before_penalty == 3.0 and late.score == 1.5


def test_score_before_penalty_of_zero_raw_score_is_zero_not_the_score():
    assert graded_verdict(score=0.0, raw_score=0.0).score_before_penalty == 0.0


# the whole verdict as JSON (what the gradebook and the workers pass around) ---------------------

def test_verdict_round_trips_through_json():
    verdict = graded_verdict(raw_score=3.0, penalty=0.0, submitted_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert Verdict.model_validate_json(verdict.model_dump_json()) == verdict


def test_verdict_defaults():
    verdict = Verdict(assignment="toy", submission="a.ipynb", student="a", status="graded")
    assert (verdict.score, verdict.max_score, verdict.device, verdict.include_hidden, verdict.penalty) == (
        0.0, 0.0, "cpu", True, 0.0)
    assert verdict.raw_score is None and verdict.started_at.tzinfo is not None


def test_a_verdict_status_must_be_graded_or_error():
    with pytest.raises(ValueError, match="status"):
        Verdict(assignment="toy", submission="a.ipynb", student="a", status="passed")


# report shaping ---------------------------------------------------------------------------------

def test_write_json_writes_the_public_json_of_each_verdict(tmp_path):
    error = Verdict(assignment="toy", submission="b.ipynb", student="b", status="error", message="no notebook")
    report.write_json([graded_verdict(), error], tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text()) == [graded_verdict().public_json(), error.public_json()]


def test_write_json_into_a_missing_folder_is_one_line_with_the_fix(tmp_path):
    with pytest.raises(GraderError) as raised:
        report.write_json([], tmp_path / "no" / "out.json")
    assert str(raised.value) == (f"cannot write {tmp_path / 'no' / 'out.json'}: folder {tmp_path / 'no'} does not "
                                 "exist; create it or choose another path")


def test_write_json_onto_a_folder_is_refused(tmp_path):
    with pytest.raises(GraderError, match="it is a folder; name a file"):
        report.write_json([], tmp_path)


def test_public_score_line_with_and_without_hidden_checks():
    verdict = graded_verdict(score=1.5, max_score=2.0)
    assert report.public_score_line(verdict, 2) == "Public score: 1.5/2. 2 hidden checks run at grading time."
    assert report.public_score_line(verdict, 0) == "Public score: 1.5/2."


def test_check_pass_rates_count_only_graded_verdicts():
    error = Verdict(assignment="toy", submission="b.ipynb", student="b", status="error",
                    checks=[check("test_double", True, 2.0)])
    other = graded_verdict(checks=[check("test_double", False, 2.0), check("test_extra", True, 1.0)])
    assert report.check_pass_rates([graded_verdict(), other, error]) == [
        ("test_double", 2.0, 1, 2), ("test_answer", 1.0, 0, 1), ("test_float", 1.0, 1, 1), ("test_extra", 1.0, 1, 1)]
