"""How many workers `grader grade` starts without --workers (``grader.executors.auto_workers``)."""

from grader.executors import auto_workers


def test_two_cores_grade_a_small_batch_with_one_worker_and_a_large_one_with_two():
    assert [auto_workers(n, cores=2) for n in (1, 10, 30, 49, 50, 200)] == [1, 1, 1, 1, 2, 2]


def test_spare_cores_start_workers_for_a_small_batch_but_never_more_than_submissions():
    assert auto_workers(30, cores=16) == 14
    assert auto_workers(3, cores=16) == 3
    assert auto_workers(1, cores=16) == 1


def test_one_core_always_gets_one_worker():
    assert [auto_workers(n, cores=1) for n in (1, 30, 500)] == [1, 1, 1]
