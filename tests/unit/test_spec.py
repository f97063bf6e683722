"""grader/spec.py: assignment.toml read into a validated model, the late policy, the checks' fingerprint.

Every error a user can make in an assignment.toml is one line that names the file and the field.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.spec import (AssignmentSpec, LatePolicy, Limits, assignments_root, available_assignments,
                         check_functions, load_assignment)

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "assignments"
TEST_DATA = REPO / "tests" / "data"
DEADLINE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=3)))

TITLES = {"hw1": "Tensors", "hw2": "Softmax and a network by hand", "hw3": "Autograd",
          "hw4": "A multilayer perceptron with nn.Module", "hw5": "The training loop"}
MINIMAL = 'title = "Mini"\nnotebook = "mini.ipynb"\npoints = 3\n'


def write_spec(root: Path, text: str, name: str = "mini") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text(text)
    return folder / "assignment.toml"


def load_error(root: Path, text: str) -> str:
    spec_file = write_spec(root, text)
    with pytest.raises(GraderError) as raised:
        load_assignment("mini", root)
    message = str(raised.value)
    assert "\n" not in message, message
    assert message.startswith(f"{spec_file}: "), message
    return message


# the bundled assignments ------------------------------------------------------------------------

@pytest.mark.parametrize("homework", sorted(TITLES))
def test_each_bundled_assignment_loads_with_its_fixed_names(homework):
    spec = load_assignment(homework, BUNDLED)
    assert (spec.id, spec.title, spec.notebook, spec.points) == (homework, TITLES[homework], f"{homework}.ipynb", 10)
    assert spec.root == (BUNDLED / homework).resolve()
    assert spec.template.is_file() and spec.reference_solution().is_file()
    assert spec.public_checks.is_dir() and spec.hidden_checks.is_dir()


@pytest.mark.parametrize("homework", sorted(TITLES))
def test_each_bundled_assignment_declares_its_points_in_its_checks(homework):
    spec = load_assignment(homework, BUNDLED)
    assert spec.declared_points(include_hidden=True) == spec.points
    assert 0 < spec.declared_points(include_hidden=False) < spec.points
    assert spec.hidden_check_count() > 0


def test_available_assignments_lists_the_folders_with_a_spec(tmp_path):
    assert available_assignments(BUNDLED) == ["hw1", "hw2", "hw3", "hw4", "hw5"]
    (tmp_path / "no_spec").mkdir()
    write_spec(tmp_path, MINIMAL)
    assert available_assignments(tmp_path) == ["mini"]
    assert available_assignments(tmp_path / "missing") == []


def test_hw5_sets_its_own_limits_and_device_policy():
    spec = load_assignment("hw5", BUNDLED)
    assert (spec.limits.wall_seconds, spec.limits.call_seconds, spec.device.deterministic) == (240, 60, True)


# defaults ---------------------------------------------------------------------------------------

def test_a_minimal_spec_gets_every_default(tmp_path):
    write_spec(tmp_path, MINIMAL)
    spec = load_assignment("mini", tmp_path)
    assert spec.id == "mini"  # from the folder's name
    assert spec.limits == Limits()
    assert (spec.limits.wall_seconds, spec.limits.cell_seconds, spec.limits.call_seconds) == (120, 60, 10)
    assert (spec.limits.memory_mb, spec.limits.output_kb, spec.limits.processes) == (2048, 64, 64)
    assert (spec.extraction.mode, spec.extraction.max_notebook_mb) == ("cells", 100)
    assert (spec.device.deterministic, spec.device.children_per_gpu) == (False, 1)
    assert spec.sandbox.warm_optimizer is None
    assert spec.late is None and spec.student_pattern is None and spec.released_hidden_checks is None


def test_an_id_in_the_file_wins_over_the_folder_name(tmp_path):
    write_spec(tmp_path, 'id = "other"\n' + MINIMAL)
    assert load_assignment("mini", tmp_path).id == "other"


def test_limits_for_the_child_are_in_bytes():
    child = Limits(memory_mb=3, output_kb=2, file_mb=1, transfer_mb=4, gpu_memory_mb=5).for_child()
    assert child == {"cpu_seconds": 300, "memory_bytes": 3 << 20, "output_bytes": 2 << 10, "file_bytes": 1 << 20,
                     "processes": 64, "open_files": 256, "max_transfer_bytes": 4 << 20,
                     "gpu_memory_bytes": 5 << 20}


def test_paths_follow_the_assignment_folder(tmp_path):
    write_spec(tmp_path / "assignments", MINIMAL)
    spec = load_assignment("mini", tmp_path / "assignments")
    folder = (tmp_path / "assignments" / "mini").resolve()
    assert spec.public_checks == folder / "checks" / "public"
    assert spec.hidden_checks == folder / "checks" / "hidden"
    assert spec.template == folder / "mini.ipynb"
    assert spec.reference_solution() == tmp_path.resolve() / "reference_solutions" / "mini.py"
    assert spec.check_files(include_hidden=True) == [] and spec.hidden_check_count() == 0


# where the assignments are ----------------------------------------------------------------------

def test_assignments_root_prefers_the_option_then_the_environment_then_the_folder_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GRADER_ASSIGNMENTS", raising=False)
    assert assignments_root() == REPO / "assignments"  # nothing here: the repository's
    (tmp_path / "assignments").mkdir()
    assert assignments_root() == tmp_path / "assignments"
    monkeypatch.setenv("GRADER_ASSIGNMENTS", str(tmp_path / "env"))
    assert assignments_root() == tmp_path / "env"
    assert assignments_root(tmp_path / "given") == tmp_path / "given"


# errors: one line naming the file ---------------------------------------------------------------

def test_unknown_assignment_names_the_missing_file_and_the_known_ones(tmp_path):
    write_spec(tmp_path, MINIMAL)
    with pytest.raises(GraderError) as raised:
        load_assignment("hw99", tmp_path)
    assert str(raised.value) == (f"unknown assignment 'hw99': no {tmp_path / 'hw99' / 'assignment.toml'} "
                                 "(known: mini; pass --assignments DIR to look elsewhere)")


def test_unknown_assignment_in_an_empty_folder_knows_none(tmp_path):
    with pytest.raises(GraderError, match=r"\(known: none; pass --assignments DIR"):
        load_assignment("hw1", tmp_path)


def test_bad_toml_is_one_line_naming_the_file(tmp_path):
    message = load_error(tmp_path, 'title = "Mini\nnotebook = "mini.ipynb"\n')
    assert "not valid TOML (" in message and message.endswith("; fix the file")


def test_a_spec_that_is_not_utf8_is_bad_toml(tmp_path):
    spec_file = write_spec(tmp_path, "")
    spec_file.write_bytes(b'title = "\xff"\n')
    with pytest.raises(GraderError, match=r"assignment.toml: not valid TOML"):
        load_assignment("mini", tmp_path)


def test_missing_field_names_it(tmp_path):
    message = load_error(tmp_path, 'notebook = "mini.ipynb"\npoints = 3\n')
    assert message.endswith("assignment.toml: title: Field required; fix the file")


def test_unknown_field_is_refused(tmp_path):
    message = load_error(tmp_path, MINIMAL + "pionts = 4\n")
    assert message.endswith("assignment.toml: pionts: Extra inputs are not permitted; fix the file")


def test_points_must_be_positive(tmp_path):
    message = load_error(tmp_path, 'title = "Mini"\nnotebook = "mini.ipynb"\npoints = 0\n')
    assert message.endswith("assignment.toml: points: Input should be greater than 0; fix the file")


def test_a_bad_id_is_refused(tmp_path):
    message = load_error(tmp_path, 'id = "../up"\n' + MINIMAL)
    assert ": id: String should match pattern" in message


@pytest.mark.parametrize("line, field, reason", [
    ("wall_seconds = 0", "limits.wall_seconds", "Input should be greater than 0"),
    ("memory_mb = -1", "limits.memory_mb", "Input should be greater than 0"),
    ('cell_seconds = "long"', "limits.cell_seconds", "Input should be a valid number, unable to parse string as a number"),
    ("memory_gb = 2", "limits.memory_gb", "Extra inputs are not permitted"),
])
def test_bad_limits_name_the_limit(tmp_path, line, field, reason):
    message = load_error(tmp_path, MINIMAL + f"\n[limits]\n{line}\n")
    assert message.endswith(f"assignment.toml: {field}: {reason}; fix the file")


def test_children_per_gpu_must_be_positive(tmp_path):
    message = load_error(tmp_path, MINIMAL + "\n[device]\nchildren_per_gpu = 0\n")
    assert ": device.children_per_gpu: Input should be greater than 0" in message


def test_student_pattern_that_is_not_a_regex(tmp_path):
    message = load_error(tmp_path, MINIMAL + 'student_pattern = "(unclosed"\n')
    assert ": student_pattern: Value error, not a regular expression (" in message


def test_student_pattern_without_a_student_group(tmp_path):
    message = load_error(tmp_path, MINIMAL + 'student_pattern = "^([a-z]+)_hw1"\n')
    assert message.endswith(": student_pattern: Value error, needs a group named student, e.g. "
                            "^(?P<student>[a-z]+)_hw1; fix the file")


def test_late_deadline_needs_its_utc_offset(tmp_path):
    message = load_error(tmp_path, MINIMAL + "\n[late]\ndeadline = 2026-12-01T23:59:00\n")
    assert message.endswith(": late.deadline: Value error, give the deadline with its UTC offset, e.g. "
                            "2026-12-01T23:59:00+03:00; fix the file")


def test_late_penalty_per_day_above_one_is_refused(tmp_path):
    message = load_error(tmp_path, MINIMAL + "\n[late]\ndeadline = 2026-12-01T23:59:00Z\npenalty_per_day = 1.5\n")
    assert ": late.penalty_per_day: Input should be less than or equal to 1" in message


def test_late_negative_grace_is_refused(tmp_path):
    message = load_error(tmp_path, MINIMAL + "\n[late]\ndeadline = 2026-12-01T23:59:00Z\ngrace_minutes = -5\n")
    assert ": late.grace_minutes: Input should be greater than or equal to 0" in message


def test_late_policy_is_read_from_the_file(tmp_path):
    write_spec(tmp_path, MINIMAL + "\n[late]\ndeadline = 2026-12-01T23:59:00+03:00\ngrace_minutes = 15\n")
    late = load_assignment("mini", tmp_path).late
    assert late == LatePolicy(deadline=DEADLINE, grace_minutes=15, penalty_per_day=0.1, max_penalty=1.0)


# the late policy's assess() ---------------------------------------------------------------------

def policy(**fields) -> LatePolicy:
    return LatePolicy(deadline=DEADLINE, **fields)


def test_before_the_deadline_is_not_late():
    assert policy().assess(DEADLINE - timedelta(hours=5)) == (0.0, 0.0)


def test_exactly_at_the_deadline_is_not_late():
    assert policy().assess(DEADLINE) == (0.0, 0.0)


def test_one_second_late_costs_a_started_day():
    assert policy(penalty_per_day=0.25).assess(DEADLINE + timedelta(seconds=1)) == (1.0, 0.25)


def test_a_deadline_in_another_time_zone_is_the_same_instant():
    same_instant = DEADLINE.astimezone(timezone.utc)
    assert policy().assess(same_instant) == (0.0, 0.0)
    assert policy().assess(same_instant + timedelta(minutes=1)) == (60.0, 0.1)


def test_within_grace_is_late_but_costs_nothing():
    assert policy(grace_minutes=30).assess(DEADLINE + timedelta(minutes=30)) == (1800.0, 0.0)


def test_just_after_grace_costs_the_first_day():
    assert policy(grace_minutes=30).assess(DEADLINE + timedelta(minutes=30, seconds=1)) == (1801.0, 0.1)


def test_days_are_counted_from_the_deadline_not_from_the_end_of_grace():
    assert policy(grace_minutes=60).assess(DEADLINE + timedelta(days=1, minutes=30)) == (88200.0, 0.2)


def test_exactly_one_day_late_is_one_day_and_a_second_more_is_two():
    assert policy().assess(DEADLINE + timedelta(days=1)) == (86400.0, 0.1)
    assert policy().assess(DEADLINE + timedelta(days=1, seconds=1)) == (86401.0, 0.2)


def test_penalty_per_day_adds_up_without_float_noise():
    assert policy(penalty_per_day=0.1).assess(DEADLINE + timedelta(days=2, hours=1))[1] == 0.3


def test_penalty_stops_at_its_cap():
    assert policy(penalty_per_day=0.2, max_penalty=0.5).assess(DEADLINE + timedelta(days=10)) == (864000.0, 0.5)


def test_penalty_without_a_cap_takes_at_most_everything():
    assert policy(penalty_per_day=0.5).assess(DEADLINE + timedelta(days=3))[1] == 1.0


def test_no_penalty_per_day_never_costs_anything():
    assert policy(penalty_per_day=0).assess(DEADLINE + timedelta(days=30))[1] == 0.0


# the checks' fingerprint ------------------------------------------------------------------------

@pytest.fixture
def toy_copy(tmp_path) -> AssignmentSpec:
    """The toy assignment laid out like the repository: assignments/toy and reference_solutions/toy.py."""
    shutil.copytree(TEST_DATA / "assignments" / "toy", tmp_path / "assignments" / "toy")
    (tmp_path / "reference_solutions").mkdir()
    shutil.copy(TEST_DATA / "reference_solutions" / "toy.py", tmp_path / "reference_solutions" / "toy.py")
    return load_assignment("toy", tmp_path / "assignments")


def test_fingerprint_is_stable_while_nothing_changes(toy_copy):
    first = toy_copy.checks_fingerprint(include_hidden=True)
    assert len(first) == 16
    assert load_assignment("toy", toy_copy.root.parent).checks_fingerprint(include_hidden=True) == first


def test_fingerprint_changes_when_a_public_check_changes(toy_copy):
    before = [toy_copy.checks_fingerprint(include_hidden=flag) for flag in (False, True)]
    with open(toy_copy.public_checks / "test_public.py", "a") as handle:
        handle.write("\n# a comment changes the file\n")
    after = [toy_copy.checks_fingerprint(include_hidden=flag) for flag in (False, True)]
    assert after[0] != before[0] and after[1] != before[1]


def test_fingerprint_with_hidden_checks_changes_when_a_hidden_check_changes(toy_copy):
    public, every = toy_copy.checks_fingerprint(False), toy_copy.checks_fingerprint(True)
    with open(toy_copy.hidden_checks / "test_hidden.py", "a") as handle:
        handle.write("\n# changed\n")
    assert toy_copy.checks_fingerprint(True) != every
    assert toy_copy.checks_fingerprint(False) == public  # public-only runs do not depend on hidden checks


def test_fingerprint_changes_when_a_check_file_is_added(toy_copy):
    before = toy_copy.checks_fingerprint(True)
    (toy_copy.public_checks / "test_more.py").write_text("def test_more():\n    pass\n")
    assert toy_copy.checks_fingerprint(True) != before


def test_fingerprint_changes_when_the_reference_solution_changes(toy_copy):
    before = toy_copy.checks_fingerprint(True)
    with open(toy_copy.reference_solution(), "a") as handle:
        handle.write("\n# changed\n")
    assert toy_copy.checks_fingerprint(True) != before


def test_fingerprint_changes_when_the_spec_changes(toy_copy):
    before = toy_copy.checks_fingerprint(True)
    spec_file = toy_copy.root / "assignment.toml"
    spec_file.write_text(spec_file.read_text().replace("call_seconds = 3", "call_seconds = 4"))
    assert toy_copy.checks_fingerprint(True) != before


def test_fingerprint_changes_when_a_support_module_changes(toy_copy):
    before = toy_copy.checks_fingerprint(True)
    (toy_copy.checks_root / "toy_support.py").write_text("TOLERANCE = 1e-6\n")
    assert toy_copy.checks_fingerprint(True) != before


def test_fingerprint_ignores_files_that_are_not_checks(toy_copy):
    before = toy_copy.checks_fingerprint(True)
    (toy_copy.public_checks / "notes.txt").write_text("not a check")
    (toy_copy.root / "README.md").write_text("# Toy")
    assert toy_copy.checks_fingerprint(True) == before


# reading checks without importing them ----------------------------------------------------------

def test_check_functions_and_points_are_read_without_importing(tmp_path):
    write_spec(tmp_path, MINIMAL)
    checks = tmp_path / "mini" / "checks"
    (checks / "public").mkdir(parents=True)
    (checks / "hidden").mkdir()
    (checks / "public" / "test_a.py").write_text(
        "import pytest\nraise SystemExit('never imported')\n\n@pytest.mark.points(1.5)\ndef test_one(student):\n"
        "    pass\n\n@pytest.mark.points(2)\ndef test_two(student):\n    pass\n\ndef helper():\n    pass\n")
    (checks / "hidden" / "test_b.py").write_text("import pytest\n\n@pytest.mark.points(3)\ndef test_three():\n"
                                                 "    pass\n")
    spec = load_assignment("mini", tmp_path)
    assert [check.name for check in check_functions(checks / "public" / "test_a.py")] == ["test_one", "test_two"]
    assert spec.declared_points(include_hidden=False) == 3.5
    assert spec.declared_points(include_hidden=True) == 6.5
    assert spec.hidden_check_count() == 1


def test_a_released_bundle_counts_its_hidden_checks_from_the_spec(tmp_path):
    write_spec(tmp_path, MINIMAL + "released_hidden_checks = 4\n")
    assert load_assignment("mini", tmp_path).hidden_check_count() == 4
