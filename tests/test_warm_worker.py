"""What makes the warm worker cheap to fork, and the cheap seeding checks use."""

import os
import random
import signal
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import TEST_ASSIGNMENTS
from grader.sandbox import hugepages
from grader.sandbox import proctree
from grader.sandbox.host.warm_worker import WARM_WORKER_MODULE, WarmWorkerHost
from grader.seeding import manual_seed, seed_everything
from grader.spec import load_assignment

REPO_ASSIGNMENTS = Path(__file__).resolve().parent.parent / "assignments"


def test_only_whole_batch_warmups_of_private_writable_memory_are_collapsed():
    maps = textwrap.dedent("""\
        00400000-00600000 r-xp 00000000 08:01 1 /usr/bin/python3
        01000000-01a00000 rw-p 00000000 00:00 0 [heap]
        7f0000100000-7f0000500000 rw-p 00000000 00:00 0
        7f0000600000-7f0000800000 rw-s 00000000 00:01 2 /dev/shm/x
        7f0000800000-7f0000c00000 rw-p 00000000 08:01 3 /usr/lib/libtorch_cpu.so
        7f0001000000-7f0001100000 rw-p 00000000 00:00 0
        """)
    # the heap: whole; the anonymous range: trimmed to its one whole 2 MiB page; the 1 MiB one: nothing;
    # code, shared memory and a library's data: never
    assert hugepages.private_writable_ranges(maps) == [(0x01000000, 0x01a00000), (0x7f0000200000, 0x7f0000400000)]


def _forkserver_pid(server: WarmWorkerHost) -> int:
    """The warm worker's pid on this side of bubblewrap's pid namespace."""
    frontier = [server.process.pid]
    while frontier:
        pid = frontier.pop()
        try:
            if WARM_WORKER_MODULE.encode() in Path(f"/proc/{pid}/cmdline").read_bytes() and \
                    not Path(f"/proc/{pid}/exe").resolve().name.startswith("bwrap"):
                return pid
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        frontier.extend(int(child) for child in children)
    raise AssertionError("no warm worker under the sandbox's launcher")


def _anon_huge_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


def test_a_warm_worker_for_a_batch_holds_its_memory_in_batch_warmups_and_one_for_a_check_does_not():
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.is_file() or "[never]" in thp.read_text() or tuple(map(int, os.uname().release.split(".")[:2])) < (6, 1):
        pytest.skip("this kernel cannot collapse memory into huge pages (needs Linux 6.1 and THP not 'never')")
    sizes = {}
    for batch_warmups in (True, False):
        server = WarmWorkerHost(warm_optimizer=False, batch_warmups=batch_warmups)
        server.start()
        try:
            sizes[batch_warmups] = _anon_huge_kb(_forkserver_pid(server))
            child = server.spawn({})  # forking it still works
            child.finish()
            assert child.exit_status == "killed by SIGKILL"
        finally:
            server.close()
    assert sizes[True] > 100 * 1024 and sizes[False] < 10 * 1024, sizes


def test_the_cheap_seed_gives_the_streams_torch_manual_seed_gives():
    manual_seed(7)
    cheap = torch.randn(5), torch.randint(0, 100, (4,))
    torch.manual_seed(7)
    assert torch.equal(cheap[0], torch.randn(5)) and torch.equal(cheap[1], torch.randint(0, 100, (4,)))
    seed_everything(3)
    drawn = random.random(), torch.rand(2)
    random.seed(3)
    torch.manual_seed(3)
    assert drawn[0] == random.random() and torch.equal(drawn[1], torch.rand(2))


def test_the_optimizer_warm_up_follows_the_reference_solution_unless_the_spec_says(tmp_path):
    assert [load_assignment(f"hw{n}", REPO_ASSIGNMENTS).warms_optimizer() for n in range(1, 6)] == \
        [False, False, False, False, True]
    assert load_assignment("toy", TEST_ASSIGNMENTS).warms_optimizer() is False
    (tmp_path / "assignments" / "trains").mkdir(parents=True)
    (tmp_path / "reference_solutions").mkdir()
    (tmp_path / "reference_solutions" / "trains.py").write_text("import torch\nOPTIMIZER = torch.optim.SGD\n")
    spec_file = tmp_path / "assignments" / "trains" / "assignment.toml"
    spec_file.write_text('title = "t"\nnotebook = "t.ipynb"\npoints = 1\n')
    assert load_assignment("trains", tmp_path / "assignments").warms_optimizer() is True
    spec_file.write_text(spec_file.read_text() + "[sandbox]\nwarm_optimizer = false\n")
    assert load_assignment("trains", tmp_path / "assignments").warms_optimizer() is False


def test_a_child_of_a_warmed_worker_draws_from_the_start_of_its_seed_s_stream(tmp_path):
    """The warm-ups draw random numbers before forking; a child's generator must not have moved."""
    from conftest import write_notebook
    from grader.extract import extract_submission
    from grader.judge import start_judge
    from grader.judge.proxy import StudentProxy, StudentSession

    spec = load_assignment("toy", TEST_ASSIGNMENTS)
    notebook = write_notebook(tmp_path / "draws.ipynb", "import torch\nSEED = torch.initial_seed()\n"
                              "DRAWN = torch.rand(4).tolist()\n\ndef drawn():\n    return SEED, DRAWN")
    judge = start_judge(spec)  # a batch's worker: every warm-up on
    try:
        session = StudentSession(judge.ensure_server(), extract_submission(notebook, spec), spec.limits, "cpu")
        try:
            session.start()
            seed, drawn = StudentProxy(session).drawn()
        finally:
            session.close()
    finally:
        judge.close()
    assert drawn == torch.rand(4, generator=torch.Generator().manual_seed(seed)).tolist()


def test_descendants_are_found_through_children_links_and_through_a_full_proc_scan(monkeypatch):
    import subprocess
    import time

    # a shell whose child starts a grandchild: sh -> sh -> sleep
    shell = subprocess.Popen(["sh", "-c", "sh -c 'sleep 30' & wait"], start_new_session=True)
    try:
        for _ in range(200):
            found = proctree.descendants_of(shell.pid)
            if len(found) == 2:
                break
            time.sleep(0.02)
        assert len(found) == 2 and proctree.children_of(shell.pid) == [found[0]]
        # the same tree from every /proc/PID/stat, as on a kernel without children links
        monkeypatch.setattr(proctree, "children_of", lambda pid: None)
        assert sorted(proctree.descendants_of(shell.pid)) == sorted(found)
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()


def test_a_child_finished_at_once_after_its_spawn_is_killed_and_the_warm_worker_goes_on():
    # The child may not have made its own process group yet; it must still be killed, not waited for.
    server = WarmWorkerHost(warm_optimizer=False, batch_warmups=False)
    server.start()
    try:
        statuses = []
        for _ in range(30):
            child = server.spawn({})
            child.finish()
            statuses.append(child.exit_status)
        assert statuses == ["killed by SIGKILL"] * 30
        assert server.alive()
    finally:
        server.close()
