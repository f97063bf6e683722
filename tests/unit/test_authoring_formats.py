"""nbgrader's and otter's master rules that need no sandbox: otter's solution stripping, ignores, points forms,
and what a test may not do to the student's objects."""

from __future__ import annotations

import pytest

from grader.authoring.otter import _Question, _split, _without_ignored
from grader.authoring.translate import refuse_changes_to_student_objects
from grader.errors import GraderError


def test_otter_no_prompt_region_and_prompt_string_give_the_student_only_the_prompt():
    split = _split('def circumference(r):\n    # BEGIN SOLUTION NO PROMPT\n    return 2 * pi * r\n'
                   '    # END SOLUTION\n    """ # BEGIN PROMPT\n    # Next, define a circumference function.\n'
                   '    pass\n    """; # END PROMPT', "cell 4")
    assert split.template == "def circumference(r):\n    # Next, define a circumference function.\n    pass"
    assert split.reference == "def circumference(r):\n    return 2 * pi * r"
    assert [region.function for region in split.regions] == ["circumference"]


def test_otter_no_prompt_region_alone_keeps_a_stub_so_the_cell_parses():
    split = _split("def f(x):\n    # BEGIN SOLUTION NO PROMPT\n    return x\n    # END SOLUTION", "cell 1")
    assert split.template == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError"


def test_otter_line_endings_solution_no_prompt_and_seed():
    split = _split("def square(x):\n    y = x * x # SOLUTION NO PROMPT\n    return y # SOLUTION\n\n"
                   "np.random.seed(42) # SEED\nnine = square(3) # SOLUTION", "cell 2")
    assert split.template == "def square(x):\n    return ...\n\nnp.random.seed(42)\nnine = ..."
    assert split.reference == "def square(x):\n    y = x * x\n    return y\n\nnp.random.seed(42)\nnine = square(3)"


def test_otter_ignored_lines_and_blocks_are_dropped():
    assert _without_ignored("a = 1\nprint(a)  # IGNORE\n# BEGIN IGNORE\nb = 2\n# END IGNORE\nc = 3", "cell 1") == \
        "a = 1\nc = 3"
    with pytest.raises(GraderError, match="cell 1: # BEGIN IGNORE is not closed"):
        _without_ignored("# BEGIN IGNORE\nb = 2", "cell 1")


def test_otter_points_each_gives_every_case_that_value():
    question = _Question({"name": "q5", "points": {"each": 1.5}}, "cell 9")
    question.cases = [("x", False, None, "cell 10"), ("y", True, None, "cell 11"), ("z", False, None, "cell 12")]
    assert question.case_points() == [1.5, 1.5, 1.5]


def test_otter_a_manual_question_is_worth_its_points():
    assert _Question({"name": "q4", "manual": True, "points": 2}, "cell 3").worth() == 2
    assert _Question({"name": "q4", "manual": True}, "cell 3").worth() == 1


@pytest.mark.parametrize("line", ["net.first.weight.fill_(1.0)", "model.scale = 3", "net.fc.bias[0] = 1.0",
                                  "torch.nn.init.zeros_(net.fc.weight)"])
def test_a_test_changing_the_students_object_in_place_is_refused(line):
    with pytest.raises(GraderError, match="changes the student's object in place"):
        refuse_changes_to_student_objects(f"net = Net()\nmodel = net\n{line}", ["Net", "model"], "cell 7")


@pytest.mark.parametrize("line", ["out = net(x)\nout.add_(1)", "out = net(x)\nout[0] = 2", "x.fill_(0)",
                                  "result = {}\nresult['a'] = 1"])
def test_a_test_changing_its_own_values_is_left_alone(line):
    refuse_changes_to_student_objects(f"net = Net()\nx = torch.ones(2)\n{line}", ["Net"], "cell 7")


def _nbgrader_cell(kind: str, source: str, **meta) -> dict:
    return {"cell_type": kind, "source": source,
            "metadata": {"nbgrader": {"schema_version": 3, "solution": False, "grade": False, "locked": False, **meta}}}


def test_nbgrader_delimiters_with_any_number_of_hashes_and_a_locked_helper_run_as_written():
    from grader.authoring.nbgrader import read

    master = read([
        _nbgrader_cell("code", "def helper(n):\n    return list(range(n))", locked=True, grade_id="h"),
        _nbgrader_cell("code", "def f(n):\n    # BEGIN SOLUTION\n    return len(helper(n))\n    # END SOLUTION",
                       solution=True, grade_id="f"),
        _nbgrader_cell("code", "assert f(3) == len(helper(3))", grade=True, grade_id="t", points=2, locked=True),
        _nbgrader_cell("markdown", "Explain.", solution=True, grade=True, grade_id="essay", points=3),
    ], "hw", "m.ipynb")
    assert master.template[1].source == "def f(n):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert master.template[3].source == "YOUR ANSWER HERE"
    code = master.checks[0].code
    assert "f = student_callable(student.f)" in code and "def helper(n):" in code  # the helper is the master's
    assert "student.helper" not in code and "student.get('helper')" not in code
    assert master.manual == ["essay (manually graded answer, 3 points, cell 4): graded by hand in nbgrader; not "
                             "scored here, grade it yourself (grader override)"]


def test_otter_a_case_sees_what_the_questions_earlier_cases_defined():
    from grader.authoring.otter import read

    def cell(kind, source):
        return {"cell_type": kind, "source": source, "metadata": {}}

    master = read([cell("raw", "# BEGIN QUESTION\nname: q1"), cell("raw", "# BEGIN SOLUTION"),
                   cell("code", "def double(x):\n    return 2 * x # SOLUTION"), cell("raw", "# END SOLUTION"),
                   cell("raw", "# BEGIN TESTS"), cell("code", "z = double(3)\nz"), cell("code", "# HIDDEN\nz + 1"),
                   cell("raw", "# END TESTS"), cell("raw", "# END QUESTION")], "hw", "m.ipynb")
    second = next(check for check in master.checks if check.name == "test_q1_2")
    assert "z = double(3)" in second.helpers and second.visibility == "hidden" and second.points == 0.5
