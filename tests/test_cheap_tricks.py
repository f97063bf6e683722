"""Checks that could once be satisfied without doing the work, graded through the real sandbox.

Each notebook in ``tests/hostile/cheap_tricks/`` does the honest work for everything except one
function, where it plays a trick that used to earn points (issue 23, part 7):

* hw4 ``Network`` with fc3 zeroed and a ``forward`` returning 0.1 everywhere: the forward checks
  compared it with the reference holding the student's own (zeroed) weights, which also gives 0.1.
  The checks now load weights they draw themselves into the student's model (in the sandbox).
* the same on ``build_sequential`` (a subclass named ``Sequential``).
* hw5 ``fit`` that pastes in the public digits and looks images up (accuracy 1.000 on any split of
  them): ``fit`` is now judged on the digits under a secret transformation (pixels shuffled, some
  inverted).
* hw5 ``fit`` returning a 1-nearest-neighbour module that never trains (still about 98% under that
  transformation): ``fit(..., epochs=0)`` must give an untrained model near chance, and training
  must change the trainable weights.

Each test grades one notebook with every check (public and hidden) and asserts the checks, and so
the points, it must not earn; the honest parts still pass, so the notebook itself is sound.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.api import grade_submissions

REPO = Path(__file__).resolve().parent.parent
TRICKS = Path(__file__).resolve().parent / "hostile" / "cheap_tricks"



def grade(tmp_path: Path, assignment: str, notebook: str) -> dict[str, tuple[bool, float]]:
    verdicts = grade_submissions(assignment, [TRICKS / notebook], db_url=f"sqlite:///{tmp_path / 'grades.db'}",
                                 include_hidden=True, assignments_dir=REPO / "assignments")
    assert len(verdicts) == 1 and verdicts[0].status == "graded", verdicts
    return {check.name: (check.passed, check.score) for check in verdicts[0].checks}


def test_hw4_zeroed_output_and_constant_forward_earns_no_forward_point(tmp_path):
    checks = grade(tmp_path, "hw4", "hw4_constant_forward.ipynb")
    for name in ("test_network_forward_flat", "test_network_forward_images", "test_network_other_batches"):
        assert checks[name] == (False, 0), name
    # the honest parts still earn theirs, so the failures above are the forward trick's
    assert checks["test_network_layers"][0] and checks["test_sequential_forward"][0]
    assert checks["test_count_parameters"][0] and checks["test_init_weights"][0]


def test_hw4_constant_forward_on_build_sequential_earns_no_forward_point(tmp_path):
    checks = grade(tmp_path, "hw4", "hw4_constant_sequential.ipynb")
    for name in ("test_sequential_forward", "test_network_forward_flat", "test_network_forward_images",
                 "test_network_other_batches"):
        assert checks[name] == (False, 0), name
    assert checks["test_sequential_structure"][0] and checks["test_count_parameters"][0]


def test_hw5_lookup_of_the_public_digits_earns_no_fit_point(tmp_path):
    checks = grade(tmp_path, "hw5", "hw5_lookup_public_digits.ipynb")
    for name in ("test_fit_reaches_90_percent_on_held_out_digits", "test_fit_on_another_split_and_seed"):
        assert checks[name] == (False, 0), name
    assert checks["test_train_epoch_updates_weights_like_the_reference"][0]
    assert checks["test_evaluate_accuracy_in_eval_mode"][0]


def test_hw5_nearest_neighbour_that_never_trains_earns_no_fit_point(tmp_path):
    checks = grade(tmp_path, "hw5", "hw5_nearest_neighbour.ipynb")
    for name in ("test_fit_reaches_90_percent_on_held_out_digits", "test_fit_on_another_split_and_seed"):
        assert checks[name] == (False, 0), name
    assert checks["test_train_epoch_updates_weights_like_the_reference"][0]
