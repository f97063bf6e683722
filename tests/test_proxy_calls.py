"""Calls through the real sandbox: what the student's code keeps of its arguments stays as it was sent.

The call server lets go of each message before it reads the next (so the next one's buffers reuse
that memory): arguments the student's code kept from earlier calls must not be overwritten by later ones.
"""

import torch

from conftest import TEST_ASSIGNMENTS
from grader.extract import python_submission
from grader.judge.proxy import StudentProxy, StudentSession
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.spec import load_assignment

KEEPS_ITS_ARGUMENTS = '''
kept = []

def keep(x):
    kept.append(x)
    return x.sum()

def kept_sums():
    return [t.sum() for t in kept]

def scale_in_place(x):
    x *= 2
    return x.sum()
'''


def test_tensors_the_student_kept_from_earlier_calls_keep_their_values():
    spec = load_assignment("toy", TEST_ASSIGNMENTS)
    submission = python_submission("keeps.py", "keeps", KEEPS_ITS_ARGUMENTS, spec)
    sent = [torch.full((784, 256), float(index + 1), dtype=torch.float64) for index in range(4)]
    with WarmWorkerHost.for_limits(spec.limits, "cpu", warm_optimizer=False) as server:
        server.start()
        session = StudentSession(server, submission, spec.limits, "cpu")
        try:
            session.start()
            student = StudentProxy(session)
            for tensor in sent:
                assert student.keep(tensor).item() == tensor.sum().item()
            assert student.scale_in_place(sent[0]).item() == 2 * sent[0].sum().item()
            assert [value.item() for value in student.kept_sums()] == [tensor.sum().item() for tensor in sent]
        finally:
            session.close()
    assert torch.equal(sent[0], torch.full((784, 256), 1.0, dtype=torch.float64))  # the judge's own is untouched
