"""hw2 hidden checks: extreme values, float64, odd batch sizes, flat inputs. They run only at grading time."""

import pytest
import torch

from grader.assertions import expect_close, expect_finite, expect_on_device, expect_rows_sum_to_one, expect_tensor
from grader.i18n import tr
from grader.seeding import manual_seed

DEVICE_HINT = ("keep the result on the input's device: no .cpu() or .numpy(), and make new tensors with "
               "device=x.device")


def make_network(device, dtype=torch.float32, output_scale=0.3):
    # Drawn in float32, then cast: torch's CPU randn is 5x slower in float64 (2.8 ms for W1, the
    # largest cost of a whole hw2 verdict), and the checks need float64 weights, not float64 draws.
    W1 = torch.randn(784, 256, device=device).to(dtype) * 0.05
    b1 = torch.randn(256, device=device).to(dtype) * 0.1
    W2 = torch.randn(256, 10, device=device).to(dtype) * output_scale
    b2 = torch.randn(10, device=device).to(dtype) * 0.5
    return W1, b1, W2, b2


@pytest.mark.points(1)
def test_sigmoid_large_magnitudes(student, reference, device):
    """sigmoid stays finite and correct for inputs of magnitude up to 1000, in float32 and float64"""
    manual_seed(20)
    cases = {
        "a float32 vector with values from -1000 to 1000":
            torch.tensor([-1000.0, -500.0, -100.0, -20.0, 0.0, 20.0, 100.0, 500.0, 1000.0], device=device),
        "a (2, 3, 4) float64 tensor of magnitude up to 1000":
            (torch.rand(2, 3, 4, dtype=torch.float64, device=device) * 2 - 1) * 1000,
    }
    for name, x in cases.items():
        got = student.sigmoid(x)
        hint = ("for large |x|, e^x overflows to inf and inf / inf is nan: write sigmoid as 1 / (1 + exp(-x)) "
                "(or use torch.sigmoid) and keep the input's shape and dtype.")
        expect_tensor(got, what=tr("sigmoid on {name}", name=tr(name)), shape=x.shape, dtype=x.dtype, hint=hint)
        expect_finite(got, what=tr("sigmoid on {name}", name=tr(name)), hint=hint)
        expect_close(got, reference.sigmoid(x), what=tr("sigmoid on {name}", name=tr(name)), hint=hint)


@pytest.mark.points(0.5)
def test_softmax_large_logits(student, reference, device):
    """softmax is numerically stable: finite, rows sum to 1, for logits of magnitude 1000"""
    manual_seed(21)
    cases = {
        "logits of magnitude 1000":
            torch.tensor([[1000.0, 999.0, 0.0], [-1000.0, -999.0, -1000.0], [1000.0, 1000.0, 1000.0]],
                         device=device),
        "a (6, 10) batch of logits scaled by 1000": torch.randn(6, 10, device=device) * 1000,
    }
    hint = ("exp(1000) overflows to inf and inf / inf is nan: subtract each row's max first, "
            "x - x.max(dim=1, keepdim=True).values; the result does not change mathematically.")
    for name, logits in cases.items():
        got = student.softmax(logits)
        expect_on_device(got, device, what=tr("softmax on {name}", name=tr(name)), hint=DEVICE_HINT)
        expect_finite(got, what=tr("softmax on {name}", name=tr(name)), hint=hint)
        expect_rows_sum_to_one(got, what=tr("softmax on {name}", name=tr(name)), hint=hint)
        # float32 carries about 1e-4 absolute precision at magnitude 1000; equally stable forms
        # (log-sum-exp, torch.softmax) differ from the reference by that much.
        expect_close(got, reference.softmax(logits), what=tr("softmax on {name}", name=tr(name)), rtol=1e-3,
                     atol=1e-4, hint=hint)


@pytest.mark.points(0.5)
def test_softmax_odd_shapes_float64(student, reference, device):
    """softmax on one row, a (7, 3) float64 batch, and a (2, 2) batch"""
    manual_seed(22)
    cases = {
        "a single row of 5 logits, shape (1, 5)": torch.randn(1, 5, device=device),
        "a (7, 3) float64 batch": torch.randn(7, 3, dtype=torch.float64, device=device) * 4,
        "a (2, 2) batch": torch.tensor([[0.0, 3.0], [1.0, -2.0]], device=device),
    }
    for name, logits in cases.items():
        got = student.softmax(logits)
        expect_on_device(got, device, what=tr("softmax on {name}", name=tr(name)), hint=DEVICE_HINT)
        expect_close(got, reference.softmax(logits), what=tr("softmax on {name}", name=tr(name)),
                     rtol=1e-5, atol=1e-6 if logits.dtype == torch.float32 else 1e-12,
                     hint="normalise each row (dim=1, keepdim=True) for any batch size and number of classes, "
                          "and keep the input's dtype (do not call .float()).")


@pytest.mark.points(0.5)
def test_forward_by_hand_flat_inputs(student, reference, device):
    """forward_by_hand accepts already-flat (B, 784) images, with an odd batch size"""
    manual_seed(23)
    images = torch.rand(5, 784, device=device)
    W1, b1, W2, b2 = make_network(device)
    got = student.forward_by_hand(images, W1, b1, W2, b2)
    expect_on_device(got, device, what=tr("forward_by_hand on (5, 784) images"), hint=DEVICE_HINT)
    expect_close(got, reference.forward_by_hand(images, W1, b1, W2, b2),
                 what=tr("forward_by_hand on (5, 784) images"), rtol=1e-4, atol=1e-4,
                 hint="accept both (B, 1, 28, 28) and (B, 784): images.reshape(images.shape[0], -1) works for "
                      "both, unpacking B, C, H, W = images.shape does not. Then h = sigmoid(x @ W1 + b1) and "
                      "h @ W2 + b2, with no activation on the output.")


@pytest.mark.points(0.5)
def test_forward_by_hand_float64_single_image(student, reference, device):
    """forward_by_hand in float64: a (3, 1, 28, 28) batch and a batch of one image"""
    manual_seed(24)
    W1, b1, W2, b2 = make_network(device, dtype=torch.float64)
    for batch in (3, 1):
        images = torch.rand(batch, 1, 28, 28, dtype=torch.float64, device=device)
        got = student.forward_by_hand(images, W1, b1, W2, b2)
        expect_close(got, reference.forward_by_hand(images, W1, b1, W2, b2),
                     what=tr("forward_by_hand on a ({batch}, 1, 28, 28) float64 batch", batch=batch),
                     rtol=1e-9, atol=1e-10,
                     hint="compute sigmoid(x @ W1 + b1) @ W2 + b2 in the inputs' dtype (no .float()), and do "
                          "not squeeze the batch dimension away when B is 1: the result is (B, 10).")


@pytest.mark.points(0.5)
def test_predict_proba_flat_float64(student, reference, device):
    """predict_proba on (7, 784) float64 images: rows of probabilities"""
    manual_seed(25)
    images = torch.rand(7, 784, dtype=torch.float64, device=device)
    W1, b1, W2, b2 = make_network(device, dtype=torch.float64)
    got = student.predict_proba(images, W1, b1, W2, b2)
    expect_on_device(got, device, what=tr("predict_proba on (7, 784) float64 images"), hint=DEVICE_HINT)
    expect_rows_sum_to_one(got, what=tr("predict_proba on (7, 784) float64 images"),
                           hint="predict_proba is softmax over each row of forward_by_hand's logits.")
    expect_close(got, reference.predict_proba(images, W1, b1, W2, b2),
                 what=tr("predict_proba on (7, 784) float64 images"), rtol=1e-9, atol=1e-12,
                 hint="accept (B, 784) inputs, keep float64, and apply softmax over dim 1 to the logits.")


@pytest.mark.points(0.5)
def test_predict_proba_large_logits(student, reference, device):
    """predict_proba stays finite when the network's logits are in the hundreds"""
    manual_seed(26)
    images = torch.rand(6, 1, 28, 28, device=device)
    W1, b1, W2, b2 = make_network(device, output_scale=60.0)
    got = student.predict_proba(images, W1, b1, W2, b2)
    hint = ("predict_proba is softmax(forward_by_hand(...)) over each row; with logits in the hundreds exp "
            "overflows unless your softmax subtracts each row's max first.")
    expect_finite(got, what=tr("predict_proba with large logits"), hint=hint)
    expect_rows_sum_to_one(got, what=tr("predict_proba with large logits"), hint=hint)
    expect_close(got, reference.predict_proba(images, W1, b1, W2, b2),
                 what=tr("predict_proba with large logits"), rtol=1e-3, atol=1e-4, hint=hint)
