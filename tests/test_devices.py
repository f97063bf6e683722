"""Grading on a device, the parts that run without a GPU: planning, the sandbox's GPU mounts,
the CUDA set-up's failure path, device checks skipped (and said so) on the CPU, and
out-of-memory errors reported as a check's failure. The GPU runs are in test_gpu.py."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook
from grader import notes, wire
from grader.assertions import CheckFailed, expect_on_device
from grader.devices import child_device_settings, memory_fraction, plan_worker_devices
from grader.errors import GraderError
from grader.extract import extract_submission
from grader.api import grade_submissions
from grader.judge.proxy import StudentCodeFailed, StudentSession, _place_tensor
from grader.sandbox.gpu import GpuMounts
from grader.sandbox.host.gpu import nvidia_device_files
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.inside import confinement
from grader.sandbox.layers import SandboxLayers, detect_layers
from grader.spec import load_assignment

DEVICE_MIXING = Path(__file__).resolve().parent / "data" / "device_mixing"
SKIPPED = "device check skipped: graded on cpu"
CORRECT = ("import torch\n\ndef scale(x, factor):\n    return x * factor\n\n"
           "def halves(x):\n    middle = x.shape[0] // 2\n    return x[:middle], x[middle:]\n\n"
           "def answer():\n    return 42\n")


# planning -----------------------------------------------------------------------------------

@pytest.mark.parametrize("device, workers, gpus, per_gpu, planned", [
    ("cpu", 3, 0, 1, ["cpu", "cpu", "cpu"]),
    ("cuda", 8, 2, 1, ["cuda:0", "cuda:1"]),                       # one child per GPU by default
    ("cuda", 8, 2, 2, ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]),   # round robin when an assignment allows 2
    ("cuda", 3, 4, 1, ["cuda:0", "cuda:1", "cuda:2"]),             # fewer workers than GPUs
    ("cuda", 1, 4, 1, ["cuda:0"]),
    ("cuda:1", 8, 2, 1, ["cuda:1"]),                               # a named GPU only
    ("cuda:1", 8, 2, 3, ["cuda:1", "cuda:1", "cuda:1"]),
])
def test_plan_gives_each_worker_one_device(device, workers, gpus, per_gpu, planned):
    assert plan_worker_devices(device, workers, gpus, per_gpu) == planned


@pytest.mark.parametrize("device, gpus, message", [
    ("cuda", 0, "this machine has no CUDA GPU"),
    ("cuda:2", 2, "has 2 GPU(s), cuda:0 to cuda:1"),
    ("gpu", 1, "expected auto, cpu, cuda or cuda:N"),
    ("cuda:x", 1, "expected auto, cpu, cuda or cuda:N"),
])
def test_plan_refuses_devices_this_machine_lacks(device, gpus, message):
    with pytest.raises(GraderError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_worker_devices(device, 2, gpus)


def test_child_settings_carry_the_gpu_cap_and_determinism_only_on_cuda():
    assert child_device_settings("cpu", 1 << 30, True) == {"type": "cpu"}
    assert child_device_settings("cuda:1", 256 << 20, True) == {
        "type": "cuda", "index": 1, "gpu_memory_bytes": 256 << 20, "deterministic": True}
    assert child_device_settings("cuda", 1, False)["index"] == 0
    assert memory_fraction(4 << 30, 80 << 30) == pytest.approx(0.05)
    assert memory_fraction(100 << 30, 80 << 30) == 1.0


def test_assignment_toml_device_policy_and_gpu_memory(tmp_path):
    spec = load_assignment("devices", TEST_ASSIGNMENTS)
    assert spec.limits.gpu_memory_mb == 256 and spec.limits.for_child()["gpu_memory_bytes"] == 256 << 20
    assert spec.device.deterministic is True and spec.device.children_per_gpu == 1
    defaults = load_assignment("toy", TEST_ASSIGNMENTS)
    assert defaults.device.deterministic is False and defaults.limits.gpu_memory_mb == 4096

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "assignment.toml").write_text('title = "x"\nnotebook = "x.ipynb"\npoints = 1\n'
                                         '[device]\nchildren_per_gpu = 0\n')
    with pytest.raises(GraderError, match=r"device.children_per_gpu: .*fix the file"):
        load_assignment("bad", tmp_path)


# the sandbox's GPU mounts -----------------------------------------------------------------------

def _bwrap_layers() -> SandboxLayers:
    return SandboxLayers(bwrap=True, bwrap_path="/usr/bin/bwrap", is_root=True)


def test_bwrap_command_binds_gpu_devices_only_for_cuda():
    layers, package = _bwrap_layers(), REPO / "grader"
    environment = {"PATH": "/usr/bin:/bin"}
    cpu = layers.bwrap_command(package, "/opt/grader-runtime", environment)
    assert cpu == layers.bwrap_command(package, "/opt/grader-runtime", environment, gpu=None)
    assert "--dev-bind" not in cpu and not any("nvidia" in arg for arg in cpu) and "/sys" not in cpu

    fake = GpuMounts(devices=["/fake/dev/nvidia0", "/fake/dev/nvidiactl", "/fake/dev/nvidia-uvm"],
                     read_only=["/sys", "/opt/nvidia/lib"])
    cuda = layers.bwrap_command(package, "/opt/grader-runtime", environment, gpu=fake)
    triples = [cuda[i:i + 3] for i in range(len(cuda) - 2)]
    for device in fake.devices:
        assert ["--dev-bind", device, device] in triples
    for path in fake.read_only:
        assert ["--ro-bind", path, path] in triples
    # Mounted before the root turns read-only, and nothing else changed.
    remount = cuda.index("--remount-ro")
    assert all(cuda.index(device) < remount for device in fake.devices)
    # One block of binds, and otherwise exactly the CPU command.
    block = [arg for path in fake.read_only for arg in ("--ro-bind", path, path)] + \
        [arg for path in fake.devices for arg in ("--dev-bind", path, path)]
    start = next(i for i in range(len(cuda)) if cuda[i:i + 2] == ["--ro-bind", fake.read_only[0]])
    assert cuda[start:start + len(block)] == block
    assert cuda[:start] + cuda[start + len(block):] == cpu


def test_nvidia_device_nodes_are_found_by_name(tmp_path):
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "null", "sda", "nvme0"):
        (tmp_path / name).write_text("")
    (tmp_path / "nvidia-caps").mkdir()
    found = [Path(path).name for path in nvidia_device_files(str(tmp_path))]
    assert found == ["nvidia-caps", "nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidiactl"]


def test_only_cuda_runs_get_gpu_mounts_and_only_gpu_children_may_open_them(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,0")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    limits = load_assignment("toy", TEST_ASSIGNMENTS).limits
    assert WarmWorkerHost.for_limits(limits, "cpu").gpu is None
    cuda = WarmWorkerHost.for_limits(limits, "cuda:0").gpu
    assert isinstance(cuda, GpuMounts) and sorted(cuda.devices) == sorted(nvidia_device_files())
    # The child's environment is cleared; it must still number the GPUs as the trusted side does.
    assert cuda.environment == {"CUDA_VISIBLE_DEVICES": "1,0"}
    assert confinement.writable_paths("/w", []) == ["/w"] + confinement.DEVICE_FILES
    assert confinement.writable_paths("/w", ["/dev/nvidia0"])[-1] == "/dev/nvidia0"


def test_the_warm_worker_never_touches_cuda_before_forking():
    """preload() imports torch and warms it up; nothing in it may ask CUDA anything (that would
    start the driver in the parent, and no forked child could use the GPU)."""
    probe = """
import json, torch
import torch.cuda
calls = []
def spy(name, real):
    def wrapper(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)
    return wrapper
for name in ("is_available", "device_count", "init", "_lazy_init", "set_device", "current_device",
             "get_device_properties", "mem_get_info"):
    setattr(torch.cuda, name, spy(name, getattr(torch.cuda, name)))
if hasattr(torch._C, "_cuda_getDeviceCount"):  # a CUDA build: its lowest-level device query too
    torch._C._cuda_getDeviceCount = spy("_cuda_getDeviceCount", torch._C._cuda_getDeviceCount)
from grader.sandbox.inside import warmup
warmup.preload()
print(json.dumps({"calls": calls, "initialized": warmup.cuda_initialized()}))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"calls": [], "initialized": False}


@pytest.mark.skipif(shutil.which("bwrap") is None or not detect_layers().bwrap,
                    reason="needs a working bubblewrap")
def test_bubblewrap_shows_the_gpu_files_to_a_gpu_worker_and_a_cpu_child_still_cannot_open_them(tmp_path):
    """A real sandbox with a fake device node bound in: visible under bubblewrap only when the
    worker is a GPU worker; a CPU child's Landlock rules still keep it closed."""
    fake_dev = Path(tempfile.mkdtemp(prefix="grader-fake-dev-", dir="/var/tmp"))
    try:
        device = fake_dev / "nvidia0"
        device.write_text("fake gpu")
        device.chmod(0o666)
        fake_dev.chmod(0o755)
        spec = load_assignment("devices", TEST_ASSIGNMENTS)
        probe = write_notebook(tmp_path / "probe.ipynb", CORRECT, f"""
import os
print("EXISTS", os.path.exists({str(device)!r}))
try:
    print("READ", open({str(device)!r}).read())
except OSError as error:
    print("DENIED", type(error).__name__)
""")
        extracted = extract_submission(probe, spec)
        seen = {}
        for label, mounts in (("cpu worker", None), ("gpu worker", GpuMounts(devices=[str(device)]))):
            server = WarmWorkerHost(gpu=mounts)
            server.start()
            try:
                session = StudentSession(server, extracted, spec.limits, "cpu")
                session.start()
                assert session.request({"op": "call", "name": "answer"}, ([], {}), what="answer()") == 42
                session.close()
                seen[label] = [line for line in "".join(session.stdout).splitlines()
                               if line.startswith(("EXISTS", "READ", "DENIED"))]
            finally:
                server.close()
        assert seen["cpu worker"] == ["EXISTS False", "DENIED FileNotFoundError"]
        landlock_held = server.reported_layers.get("landlock")
        assert seen["gpu worker"][0] == "EXISTS True"
        assert seen["gpu worker"][1] == ("DENIED PermissionError" if landlock_held else "READ fake gpu")
    finally:
        shutil.rmtree(fake_dev, ignore_errors=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="here CUDA starts; this is the path where it cannot")
def test_a_gpu_child_where_cuda_cannot_start_says_why_and_the_worker_goes_on(tmp_path):
    """Everything of a GPU child up to CUDA itself runs here: the spawn with GPU settings, no
    address-space limit, Landlock with the device nodes, the uid drop, then the set-up, which
    fails on a machine without CUDA. The checks say why; the next (CPU) child is fine."""
    spec = load_assignment("devices", TEST_ASSIGNMENTS)
    extracted = extract_submission(write_notebook(tmp_path / "ok.ipynb", CORRECT), spec)
    server = WarmWorkerHost(gpu=GpuMounts())
    server.start()
    try:
        session = StudentSession(server, extracted, spec.limits, "cuda:0", deterministic=True)
        session.start()
        assert session.fatal and session.fatal.startswith("could not set up cuda:0 in the sandbox:"), session.fatal
        with pytest.raises(StudentCodeFailed, match="answer\\(\\) was not run: could not set up cuda:0"):
            session.request({"op": "call", "name": "answer"}, ([], {}), what="answer()")
        session.close()
        assert not session.cells  # no cell of the student's ran

        after = StudentSession(server, extracted, spec.limits, "cpu")
        after.start()
        assert after.request({"op": "call", "name": "answer"}, ([], {}), what="answer()") == 42
        after.close()
    finally:
        server.close()


# device checks on the CPU ------------------------------------------------------------------------

def test_expect_on_device_messages_and_the_note_on_cpu():
    notes.clear()
    expect_on_device(torch.ones(2), torch.device("cpu"), what="f(x)")
    expect_on_device(torch.ones(2), "cpu", what="g(x)")
    assert notes.take() == [SKIPPED]

    with pytest.raises(CheckFailed, match=r"^f\(x\): your result is on cpu, the input was on cuda:0"):
        expect_on_device(torch.ones(2), "cuda:0", what="f(x)")
    with pytest.raises(CheckFailed, match=r"^f\(x\)\[0\]\['w'\]: your result is on cpu, the input was on meta"):
        expect_on_device([{"w": torch.ones(1)}, "not a tensor"], "meta", what="f(x)")
    with pytest.raises(CheckFailed, match=r"your results are on different devices \(cpu, meta\); the input "
                                          r"was on cuda:0\nHint: keep"):
        expect_on_device((torch.ones(1), torch.empty(1, device="meta")), "cuda:0", what="f(x)", hint="keep")
    expect_on_device(("no tensors", 3), "cuda:0", what="f(x)")  # nothing to tell: other checks judge it
    assert notes.take() == []


def test_tensors_from_the_sandbox_keep_only_devices_that_can_be_real():
    tensor = torch.ones(2)
    assert _place_tensor(tensor, "cpu") is tensor
    if not torch.cuda.is_available():
        assert _place_tensor(tensor, "cuda:0").device.type == "cpu"  # nothing else can be real here
    for forged in ("meta", "mps", "cuda:abc", "cpu:0" * 20):
        with pytest.raises(wire.WireError, match="unknown device"):
            _place_tensor(tensor, forged)


def test_device_mixing_scores_like_the_reference_on_cpu_and_out_of_memory_fails_only_its_check(tmp_path):
    """On a CPU run the device checks are skipped and say so: a notebook whose results leave the GPU
    scores what the reference scores. A CUDA out-of-memory error in a call (its type crosses the
    wire by name, so this runs here too) fails that check with a clear message; the other checks
    and the next submission are graded normally."""
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(DEVICE_MIXING / "devices_mixing.ipynb", folder / "a_mixing.ipynb")
    write_notebook(folder / "b_reference.ipynb", (TEST_ASSIGNMENTS.parent / "reference_solutions" /
                                                  "devices.py").read_text())
    write_notebook(folder / "c_out_of_memory.ipynb", CORRECT.replace(
        "    return x * factor", "    raise OutOfMemoryError('CUDA out of memory. Tried to allocate 1.00 GiB. "
                                "GPU 0 has a total capacity of 79.10 GiB')"),
        "class OutOfMemoryError(RuntimeError):\n    pass")
    write_notebook(folder / "d_after.ipynb", CORRECT)
    verdicts = {verdict.student: verdict for verdict in grade_submissions(
        "devices", [folder], db_url=f"sqlite:///{tmp_path / 'g.db'}", assignments_dir=TEST_ASSIGNMENTS,
        device="cpu")}

    reference, mixing = verdicts["b_reference"], verdicts["a_mixing"]
    assert reference.score == mixing.score == 3
    for verdict in (reference, mixing):
        messages = {check.name: check.message for check in verdict.checks}
        assert messages == {"test_scale": SKIPPED, "test_halves": SKIPPED, "test_answer": ""}

    oom = verdicts["c_out_of_memory"]
    assert oom.score == 2
    failed = [check for check in oom.checks if not check.passed]
    assert [check.name for check in failed] == ["test_scale"]
    assert failed[0].message == ("scale(...) ran out of GPU memory: a submission may use 256 MB of GPU memory "
                                 "(cell 2, line 4) (CUDA out of memory)")  # the notebook's 2nd cell, after its markdown
    assert verdicts["d_after"].score == 3 and verdicts["d_after"].status == "graded"


def test_hw2_device_mixing_notebook_gets_full_marks_on_cpu_with_its_device_checks_skipped(tmp_path):
    verdict = grade_submissions("hw2", [DEVICE_MIXING / "hw2_device_mixing.ipynb"],
                                db_url=f"sqlite:///{tmp_path / 'g.db'}", device="cpu")[0]
    assert verdict.score == verdict.max_score == 10, [(c.name, c.message) for c in verdict.checks]
    skipped = {check.name for check in verdict.checks if check.message == SKIPPED}
    assert {"test_softmax_large_logits", "test_softmax_odd_shapes_float64", "test_forward_by_hand_flat_inputs",
            "test_predict_proba_flat_float64"} <= skipped
    assert all(check.visibility == "hidden" for check in verdict.checks if check.name in skipped)
