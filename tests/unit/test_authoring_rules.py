"""The pieces of `grader author` that need no sandbox: solution regions, otter's points, proxied names."""

from __future__ import annotations

import re

import pytest

from grader.authoring.otter import INLINE, _Question
from grader.authoring.regions import split_solutions, unsolved_mistakes, without_magics
from grader.authoring.translate import StudentNames, split_last_expression, statements_body
from grader.errors import GraderError

BEGIN = re.compile(r"^\s*#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*#\s*END SOLUTION\s*$")


def test_a_region_becomes_a_stub_at_its_indentation_and_stays_in_the_reference():
    split = split_solutions("def f(x):\n    '''doc'''\n    # BEGIN SOLUTION\n    y = x + 1\n    return y\n"
                            "    # END SOLUTION\n", BEGIN, END, "cell 1")
    assert split.template == "def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n    raise NotImplementedError"
    assert split.reference == "def f(x):\n    '''doc'''\n    y = x + 1\n    return y"
    assert [(region.function, region.text) for region in split.regions] == [("f", "    y = x + 1\n    return y\n")]


def test_an_unclosed_region_is_one_line_naming_the_cell():
    with pytest.raises(GraderError, match="^master.ipynb, cell 3: a solution region is not closed"):
        split_solutions("# BEGIN SOLUTION\nx = 1\n", BEGIN, END, "master.ipynb, cell 3")


def test_otter_solution_lines_keep_their_target():
    split = split_solutions("total = 55 # SOLUTION\n    return x * 2  # SOLUTION\nprint(x) # SOLUTION", BEGIN, END,
                            "cell", inline=INLINE)
    assert split.template == "total = ...\n    return ...\n..."
    assert split.reference == "total = 55\n    return x * 2\nprint(x)"


def test_the_stub_mistake_names_which_copy_when_a_region_repeats():
    reference = "def f(x):\n    return x\n\n\ndef g(x):\n    return x\n"
    split_f = split_solutions("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION", BEGIN, END, "a")
    split_g = split_solutions("def g(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION", BEGIN, END, "b")
    mistakes = unsolved_mistakes(reference, split_f.regions + split_g.regions, {"f", "g"})
    assert [(m["name"], m["edit"][0].get("occurrence")) for m in mistakes] == [("f_unsolved", 1), ("g_unsolved", 2)]
    assert unsolved_mistakes(reference, split_f.regions, set()) == []  # f unchecked: nothing to plant


def test_magics_are_commented_out_in_the_reference():
    assert without_magics("%matplotlib inline\n!pip install x\nx = 5 % 2\n") == \
        "# %matplotlib inline\n# !pip install x\nx = 5 % 2\n"


@pytest.mark.parametrize(("points", "cases", "expected"), [
    (2, [None, None, None], [2 / 3, 2 / 3, 2 / 3]),   # a number: split evenly
    ([1, 3], [None, None], [1.0, 3.0]),               # a list: one per case
    (None, [None, None], [0.5, 0.5]),                 # nothing anywhere: the question is worth 1
    (3, [2, None], [2.0, 1.0]),                        # the cases without points share what is left
    (None, [2, None], [2.0, 0.0]),                     # some cases give points: the others none
    (2, [2, None], [2.0, 0.0]),
])
def test_otter_spreads_a_questions_points_over_its_cases(points, cases, expected):
    question = _Question({"name": "q1", "points": points}, "cell 1")
    question.cases = [("x", False, case, "cell") for case in cases]
    assert question.case_points() == pytest.approx(expected)


def test_otter_cases_giving_more_than_the_question_is_an_error():
    question = _Question({"name": "q1", "points": 1}, "master.ipynb, cell 4")
    question.cases = [("x", False, 2, "cell")]
    with pytest.raises(GraderError, match="cell 4: the test cases give 2 points, more than the question's 1"):
        question.case_points()


def test_a_test_reaches_the_students_names_through_the_proxy_and_keeps_its_own():
    names = StudentNames.of("import torch\n\ndef square(x):\n    return x * x\n\nclass Net: pass\n\ntotal = 55\n", "m")
    body = statements_body("x = torch.ones(2)\nassert square(x).sum() == total\nnet = Net()\nprint(len(x))",
                           names, "cell")
    assert body.splitlines()[:3] == ["    square = student_callable(student.square)",
                                     "    total = student_value(student.get('total'))",
                                     "    Net = student_callable(student.Net)"]
    assert "    x = torch.ones(2)" in body and "torch = " not in body and "len = " not in body


def test_an_expression_at_the_end_is_what_an_otter_case_compares():
    assert split_last_expression("x = 1; square(x)", "c") == ("x = 1", "square(x)")
    assert split_last_expression("print(square(3))", "c") == ("", "square(3)")
    assert split_last_expression("assert square(3) == 9", "c") == ("assert square(3) == 9", None)


def test_author_names_each_public_text_without_russian():
    from pathlib import Path

    from grader.authoring import read_master, untranslated

    master = read_master(Path(__file__).resolve().parents[1] / "data" / "masters" / "activations.ipynb", "activations")
    assert untranslated(master) == []
    master.checks[0].title_ru = None
    master.catalogue_ru.clear()
    assert untranslated(master) == ["relu zeroes the negative entries of a (3, 4) tensor",
                                    "keep the positive entries as they are"]
