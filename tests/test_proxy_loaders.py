"""Loaders through the proxy: ``remote.collect()`` reads what a student's DataLoader or Dataset yields, as data,
in one call; a check that tries to hand the student's code an object of its own side is told so.

A DataLoader is not data: it stays in the sandbox, and the check gets a ``Remote``. ``collect`` iterates
over it there (the student's ``__getitem__`` and ``collate_fn`` run in the sandbox, under the call's time
limit) and sends back the items. The ``tensor_dataset`` factory gives the student's loader code a dataset
the check chose. A trusted-side object (a TensorDataset the check made) is not sent: the check fails with
``CheckCannotSend`` naming it, the student's process goes on. Real notebook, real sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_notebook
from grader.api import grade_submissions

CHECKS = '''
import pytest
import torch

from grader.assertions import expect_close, expect_equal


@pytest.mark.points(1)
def test_loader_batches(student):
    """a harness dataset through the student's loader: its batches come back as tensors"""
    X = torch.arange(10.0).reshape(5, 2)
    y = torch.arange(5)
    loader = student.make_loader(student.build("tensor_dataset", X, y), 2)
    batches = loader.collect()
    expect_equal(len(batches), 3, what="number of batches")
    expect_close(batches[2], [X[4:], y[4:]], what="the last batch")
    expect_close(torch.cat([inputs for inputs, _ in batches]), X, what="every input")


@pytest.mark.points(1)
def test_dataset_items(student):
    """a Dataset without __iter__ is read through __getitem__ until IndexError"""
    items = student.Squares(4).collect()
    expect_equal(items, [0, 1, 4, 9], what="the dataset's items")


@pytest.mark.points(1)
def test_limit(student):
    """an endless iterable stops at the limit"""
    expect_equal(student.counting().collect(limit=3), [0, 1, 2], what="the first items")


@pytest.mark.points(1)
def test_trusted_object(student):
    """a dataset made on the trusted side is not sent to the student's code"""
    from torch.utils.data import TensorDataset

    student.calls()
    student.make_loader(TensorDataset(torch.zeros(2, 1)), 1)


@pytest.mark.points(1)
def test_after_the_trusted_object(student):
    """the next call reaches the same process: no restart"""
    expect_equal(student.calls(), 2, what="the notebook's own counter")


@pytest.mark.points(1)
def test_raising_item(student):
    """an error in the student's __getitem__ fails the check with its message"""
    student.Broken().collect()
'''

NOTEBOOK = ['''import itertools
import torch
from torch.utils.data import DataLoader, Dataset


def make_loader(dataset, batch_size):
    return DataLoader(dataset, batch_size=batch_size)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if index >= self.n:
            raise IndexError(index)
        return index * index


def counting():
    return itertools.count()


CALLS = 0


def calls():
    global CALLS
    CALLS += 1
    return CALLS


class Broken(Dataset):
    def __getitem__(self, index):
        raise ValueError("pixel table is empty")''']


@pytest.fixture(scope="module")
def verdict(tmp_path_factory):
    course = tmp_path_factory.mktemp("collect")
    home = course / "assignments" / "collect"
    (home / "checks" / "public").mkdir(parents=True)
    (home / "assignment.toml").write_text('title = "Collect"\nnotebook = "collect.ipynb"\npoints = 6\n\n'
                                          '[limits]\nwall_seconds = 60\ncall_seconds = 10\n')
    (home / "checks" / "public" / "test_collect.py").write_text(CHECKS)
    (course / "reference_solutions").mkdir()
    (course / "reference_solutions" / "collect.py").write_text(NOTEBOOK[0] + "\n")
    notebook = write_notebook(course / "student.ipynb", *NOTEBOOK)
    result, = grade_submissions("collect", [notebook], db_url=f"sqlite:///{course / 'g.db'}",
                                assignments_dir=course / "assignments")
    assert result.status == "graded", result
    return {check.name: check for check in result.checks}


def test_a_students_loader_over_a_harness_dataset_yields_its_batches(verdict):
    assert verdict["test_loader_batches"].passed, verdict["test_loader_batches"].message


def test_a_dataset_without_iter_is_read_by_index(verdict):
    assert verdict["test_dataset_items"].passed, verdict["test_dataset_items"].message


def test_an_endless_iterable_stops_at_the_limit(verdict):
    assert verdict["test_limit"].passed, verdict["test_limit"].message


def test_a_trusted_side_object_is_not_sent_and_the_message_says_what_may_be(verdict):
    check = verdict["test_trusted_object"]
    assert not check.passed
    assert "CheckCannotSend: make_loader(...): the check's arguments cannot be sent" in check.message, check.message
    assert "a check cannot send a TensorDataset to the student's code" in check.message, check.message


def test_a_refused_send_leaves_the_students_process_running(verdict):
    check = verdict["test_after_the_trusted_object"]
    assert check.passed, check.message


def test_an_error_while_iterating_names_the_object_and_the_error(verdict):
    check = verdict["test_raising_item"]
    assert not check.passed
    assert "iterating over your Broken raised ValueError: pixel table is empty" in check.message, check.message
