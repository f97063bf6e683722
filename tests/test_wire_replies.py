"""Hostile replies through the real sandbox: the trusted side's cost is bounded by what crosses the wire.

The notebooks in ``tests/hostile/wire_replies/`` answer the checks' calls with forged data: frames
written straight to the call socket (a dict of integer keys whose hashes all collide), or module
descriptions whose state_dict carries a 64 MB bool "weight" of the wrong shape. Each is graded with
one worker, so the judge runs in this process, and the test measures this process: the CPU it spent,
the wall time until the verdict, and how far its peak RSS rose (``/proc/self/status`` VmHWM, reset
through ``/proc/self/clear_refs`` once the judge is warm).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import TEST_ASSIGNMENTS, peak_rss_growth
from grader.api import grade_submissions

REPO = Path(__file__).resolve().parent.parent
REPLIES = Path(__file__).resolve().parent / "hostile" / "wire_replies"
FORGED_WEIGHT_BYTES = 8192 * 8192  # the bool weight of hw4_huge_bool_weight.ipynb


def test_a_reply_of_colliding_dict_keys_costs_the_judge_no_more_than_reading_it(tmp_path):
    started_wall, started_cpu = time.monotonic(), time.process_time()
    verdict, = grade_submissions("toy", [REPLIES / "toy_colliding_keys.ipynb"], db_url=f"sqlite:///{tmp_path / 'g.db'}",
                                 assignments_dir=TEST_ASSIGNMENTS)
    wall, cpu = time.monotonic() - started_wall, time.process_time() - started_cpu
    assert verdict.status == "graded" and verdict.score == 0
    messages = [check.message for check in verdict.checks]
    assert any("more than 20000 keys" in message for message in messages), messages
    assert any("too large an integer" in message for message in messages), messages
    assert wall < 30  # the toy's wall limit; the old decoder spent 216 s of CPU on the 90,000 keys alone
    assert cpu < 15, cpu


def test_a_module_description_with_a_huge_bool_weight_is_refused_before_it_is_converted(tmp_path):
    db = f"sqlite:///{tmp_path / 'g.db'}"
    # Warm the judge's imports and caches first, so only the hostile reply's own cost is measured.
    reference, = grade_submissions("hw4", [REPO / "reference_solutions" / "hw4.py"], db_url=db)
    assert reference.score == 10
    started = time.monotonic()
    (verdict,), growth = peak_rss_growth(
        lambda: grade_submissions("hw4", [REPLIES / "hw4_huge_bool_weight.ipynb"], db_url=db))
    wall = time.monotonic() - started
    checks = {check.name: check for check in verdict.checks}
    for name in ("test_network_forward_flat", "test_network_forward_images", "test_init_weights",
                 "test_network_other_batches", "test_sequential_forward", "test_init_weights_other_models"):
        assert not checks[name].passed, name
    assert checks["test_count_parameters"].passed  # no description involved: the honest code scores
    assert wall < 120  # hw4's wall limit
    # The frame's bytes themselves (a description or two alive at once) and nothing converted from them:
    # a float32 copy alone would be 4x, the float64 comparisons 8x and more.
    assert growth < 3 * FORGED_WEIGHT_BYTES, f"peak RSS rose by {growth >> 20} MB"
    print(f"peak RSS growth {growth >> 20} MB for {FORGED_WEIGHT_BYTES >> 20} MB forged per description")
