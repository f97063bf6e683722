import os
import signal

import pytest


@pytest.mark.points(1)
def test_answer(student, reference):
    """answer returns the answer"""
    answer = student.answer()
    if answer == 666:  # the judge process dies, as on a crash in the trusted side's own code
        os.kill(os.getpid(), signal.SIGKILL)
    if answer == 667:  # the Dask worker that runs the judge dies with it
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
    assert answer == reference.answer()
