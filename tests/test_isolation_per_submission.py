"""Nothing a submission creates outlives it (project issue 23, part 3; issue 22).

Each test runs two submissions, one after the other, on the SAME warm worker (a real sandbox):
the first leaves something behind (a System V segment or queue, a POSIX shared memory file,
a key, files in the sandbox's tmpfs, a background process, memory charged to its cgroup) and
says that it did; the second looks for it and must find nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, TEST_ASSIGNMENTS, write_notebook
from grader.extract import extract_submission
from grader.judge.proxy import StudentCodeFailed, StudentSession
from grader.sandbox import cgroups
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.layers import detect_layers
from grader.spec import load_assignment

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None or not detect_layers().bwrap,
                                 reason="needs a working bubblewrap")

# The kernel interfaces the submissions use, through ctypes as a student's code could.
KERNEL = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
IPC_CREAT = 0o1000
KEY = 0x6772_6164
SYSCALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}[os.uname().machine]  # add_key, keyctl
KEYCTL_SEARCH = 10
SESSION_KEYRING, USER_KEYRING = -3, -4

def sysv_lines(kind):
    return [line for line in open(f"/proc/sysvipc/{kind}").read().splitlines()[1:] if line.strip()]

def add_key(keyring):
    payload = b"left for the next submission"
    return libc.syscall(SYSCALLS[0], b"user", b"grader-leak", payload, len(payload), keyring)

def search_key(keyring):
    return libc.syscall(SYSCALLS[1], KEYCTL_SEARCH, keyring, b"user", b"grader-leak", 0)

def other_processes():
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                found.append(open(f"/proc/{entry}/cmdline", "rb").read())
            except OSError:
                pass
    return found
"""


@pytest.fixture(scope="module")
def spec():
    return load_assignment("toy", TEST_ASSIGNMENTS)


@pytest.fixture(scope="module")
def worker():
    """One warm worker for every test here. Landlock is off: it would refuse the writes to /dev/shm
    and /tmp themselves, and these tests check what holds below it."""
    previous = os.environ.get("GRADER_NO_LANDLOCK")
    os.environ["GRADER_NO_LANDLOCK"] = "1"
    try:
        host = WarmWorkerHost(warm_optimizer=False, batch_warmups=False)
    finally:
        if previous is None:
            os.environ.pop("GRADER_NO_LANDLOCK")
        else:
            os.environ["GRADER_NO_LANDLOCK"] = previous
    host.start()
    yield host
    host.close()


def run(host: WarmWorkerHost, spec, folder: Path, name: str, body: str, limits=None):
    """Run one submission defining ``probe()`` on ``host``; returns what ``probe()`` returned."""
    source = KERNEL + "\n\ndef probe():\n" + textwrap.indent(textwrap.dedent(body), "    ")
    extracted = extract_submission(write_notebook(folder / f"{name}.ipynb", source), spec)
    session = StudentSession(host, extracted, limits or spec.limits, "cpu")
    try:
        session.start()
        assert not session.fatal, session.fatal
        return session.request({"op": "call", "name": "probe"}, ([], {}), what="probe()")
    finally:
        session.close()


@needs_bwrap
def test_a_system_v_shared_memory_segment_is_gone_for_the_next_submission(worker, spec, tmp_path):
    assert worker.reported_layers["ipc_namespace_per_submission"] is True
    created = run(worker, spec, tmp_path, "first", """
        segment = libc.shmget(KEY, 1 << 20, IPC_CREAT | 0o666)
        address = libc.shmat(segment, None, 0)
        ctypes.memmove(address, b"secret answers", 14)
        return segment, len(sysv_lines("shm"))
    """)
    assert created[0] >= 0 and created[1] == 1
    assert run(worker, spec, tmp_path, "second", """
        return libc.shmget(KEY, 0, 0), sysv_lines("shm")
    """) == (-1, [])


@needs_bwrap
def test_a_system_v_message_queue_is_gone_for_the_next_submission(worker, spec, tmp_path):
    created = run(worker, spec, tmp_path, "first", """
        queue = libc.msgget(KEY, IPC_CREAT | 0o666)
        message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 16)
        ctypes.c_long.from_buffer(message).value = 1
        sent = libc.msgsnd(queue, message, 16, 0)
        return queue, sent, len(sysv_lines("msg"))
    """)
    assert created[0] >= 0 and created[1:] == (0, 1)
    assert run(worker, spec, tmp_path, "second", """
        return libc.msgget(KEY, 0), sysv_lines("msg")
    """) == (-1, [])


@needs_bwrap
def test_a_posix_shared_memory_file_is_gone_for_the_next_submission(worker, spec, tmp_path):
    created = run(worker, spec, tmp_path, "first", """
        from multiprocessing import shared_memory
        block = shared_memory.SharedMemory(name="grader-leak", create=True, size=4096)
        block.buf[:14] = b"secret answers"
        return os.listdir("/dev/shm")
    """)
    assert created == ["grader-leak"]
    assert run(worker, spec, tmp_path, "second", """
        return os.listdir("/dev/shm")
    """) == []


@needs_bwrap
def test_a_key_in_the_session_or_user_keyring_is_gone_for_the_next_submission(worker, spec, tmp_path):
    assert worker.reported_layers["session_keyring_per_submission"] is True
    created = run(worker, spec, tmp_path, "first", """
        return add_key(SESSION_KEYRING) > 0, add_key(USER_KEYRING) > 0, search_key(SESSION_KEYRING) > 0
    """)
    assert created == (True, True, True)
    assert run(worker, spec, tmp_path, "second", """
        return search_key(SESSION_KEYRING), search_key(USER_KEYRING)
    """) == (-1, -1)


@needs_bwrap
def test_files_in_the_sandbox_tmpfs_are_gone_for_the_next_submission(worker, spec, tmp_path):
    created = run(worker, spec, tmp_path, "first", """
        for folder in ("/tmp", "/tmp/nested/deeper", "/dev"):
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "grader-leak.py"), "w") as planted:
                planted.write("SECRET = 'left for the next submission'")
        os.chmod("/tmp/nested", 0o500)  # not even writable by its owner
        return sorted(name for name in os.listdir("/tmp") if not name.startswith("grader-work-")), \\
            os.path.exists("/dev/grader-leak.py")
    """)
    assert created == (["grader-leak.py", "nested"], True)
    assert run(worker, spec, tmp_path, "second", """
        return sorted(name for name in os.listdir("/tmp") if not name.startswith("grader-work-")), \\
            os.path.exists("/dev/grader-leak.py"), os.path.exists("/dev/null") and os.path.islink("/dev/fd")
    """) == ([], False, True)


@needs_bwrap
def test_memory_a_submission_wrote_reads_as_zeros_in_the_next_one_at_the_same_addresses(worker, spec, tmp_path):
    """Every child is forked from the same warm worker, so both get their tensors from the same heap
    addresses; what the first wrote there (uninitialised memory, as torch.empty hands it out) must not
    reach the second. It guards any reuse of memory between submissions, such as a shared reserve."""
    body = """
        import torch
        blocks = [torch.empty(1 << 19, dtype=torch.float64) for _ in range(8)]  # 4 MiB each, from malloc's top
        if FILL:
            for block in blocks:
                block.fill_(1234.5678)
        return [block.data_ptr() for block in blocks], sum(int((block == 1234.5678).sum()) for block in blocks)
    """
    first_addresses, planted = run(worker, spec, tmp_path, "first", "FILL = True\n" + textwrap.dedent(body))
    assert planted == 8 << 19
    second_addresses, found = run(worker, spec, tmp_path, "second", "FILL = False\n" + textwrap.dedent(body))
    assert second_addresses == first_addresses and found == 0


@needs_bwrap
def test_a_background_process_is_gone_for_the_next_submission(worker, spec, tmp_path):
    created = run(worker, spec, tmp_path, "first", """
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "grader-leak-daemon"],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if any(b"grader-leak-daemon" in line for line in other_processes()):
                return True
            time.sleep(0.02)
        return False
    """)
    assert created is True
    assert run(worker, spec, tmp_path, "second", """
        return [line for line in other_processes() if b"grader-leak-daemon" in line]
    """) == []


@needs_bwrap
@pytest.mark.skipif(not cgroups.available(), reason="needs writable cgroup v1 pids and memory controllers")
def test_memory_a_submission_left_charged_does_not_lower_the_next_one_s_limit(spec, tmp_path):
    """The first leaves a 700 MB segment behind; the second allocates 700 MB. In one cgroup shared by
    the warm worker and every submission (1 GB plus the worker's 512 MB), the second was killed."""
    limits = spec.limits.model_copy(update={"memory_mb": 1024, "call_seconds": 30, "wall_seconds": 120})
    host = WarmWorkerHost(memory_bytes=limits.memory_mb << 20, warm_optimizer=False, batch_warmups=False)
    host.start()
    try:
        assert host.reported_layers["cgroup_per_submission"] is True
        assert run(host, spec, tmp_path, "charges", """
            size = 700 << 20
            segment = libc.shmget(KEY, size, IPC_CREAT | 0o600)
            address = libc.shmat(segment, None, 0)
            ctypes.memset(address, 1, size)  # every page charged
            return segment >= 0
        """, limits) is True
        try:
            allocated = run(host, spec, tmp_path, "allocates", """
                block = bytearray(700 << 20)
                block[::4096] = b"\\x01" * len(block[::4096])
                return len(block) >> 20
            """, limits)
        except StudentCodeFailed as failure:
            pytest.fail(f"the second submission lost memory to the first: {failure}")
        assert allocated == 700
    finally:
        host.close()


@needs_bwrap
def test_the_scrub_removes_what_is_on_the_sandbox_tmpfs_and_never_touches_a_bind_of_the_host(tmp_path):
    """A host folder bound (writable, even) into the sandbox's /tmp, as the Python install is when it
    lives under /tmp: the scrub leaves it and its files alone and removes what was written on the tmpfs."""
    host_folder = tmp_path / "host-install"
    (host_folder / "lib").mkdir(parents=True)
    (host_folder / "lib" / "site.py").write_text("# the host's\n")
    script = textwrap.dedent("""
        import os, sys
        from grader.sandbox.inside.scratch import Scratch
        scratch = Scratch(["/tmp"])
        os.makedirs("/tmp/left/behind")
        open("/tmp/left/behind/file", "w").write("x")
        open("/tmp/top-file", "w").write("x")
        scratch.scrub()
        print(sorted(os.listdir("/tmp")), sorted(os.listdir("/tmp/install/lib")))
    """)
    bwrap = shutil.which("bwrap")
    result = subprocess.run([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                             "--bind", str(host_folder), "/tmp/install", "--chdir", str(REPO),
                             sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['install'] ['site.py']"
    assert (host_folder / "lib" / "site.py").read_text() == "# the host's\n"


def test_nothing_that_runs_inside_the_sandbox_imports_the_trusted_side():
    probe = ("import sys, grader.sandbox.inside.warm_worker, grader.sandbox.inside.student_runtime, "
             "grader.sandbox.inside.confinement, grader.sandbox.inside.warmup, grader.sandbox.inside.cuda_setup, "
             "grader.sandbox.proctree; print(sorted(n for n in sys.modules if n.startswith(('grader.sandbox.host', "
             "'grader.judge', 'grader.api', 'grader.executors', 'grader.verdicts'))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
