import pytest

from grader.assertions import expect_equal


@pytest.fixture
def broken_input():
    raise RuntimeError("the input could not be made")


@pytest.fixture
def leaves_a_mess():
    yield 3
    raise RuntimeError("cleaning up failed")


@pytest.mark.points(1)
def test_passes(student, reference):
    """square(4)"""
    expect_equal(student.square(4), reference.square(4), what="square(4)")


@pytest.mark.points(1)
def test_setup_fails(student, broken_input):
    """a fixture that raises"""
    student.square(broken_input)


@pytest.mark.points(1)
def test_skips(student):
    """a check that skips"""
    pytest.skip("not today")


@pytest.mark.points(1)
def test_teardown_fails(student, leaves_a_mess):
    """a fixture whose teardown raises"""
    expect_equal(student.square(leaves_a_mess), 9, what="square(3)")


@pytest.mark.points(1)
def test_fails(student):
    """a plain wrong answer"""
    expect_equal(student.square(2), 5, what="square(2)")

