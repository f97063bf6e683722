"""The judge: pytest on the trusted side, collected once, run for each submission.

One ``pytest.main`` session collects the assignment's checks; its run loop then takes
submissions one by one from an iterator, runs every collected check against each
(fresh fixtures per check) and hands a :class:`Verdict` to a callback. Paying pytest's
start-up and collection once per batch, not once per submission, is what keeps the
per-submission overhead in milliseconds.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, Iterator

import pytest
import torch

from grader import notes
from grader.devices import is_cuda
from grader.errors import GraderError
from grader.i18n import set_language, tr
from grader.assertions import CheckFailed, PartialCredit
from grader.judge.proxy import StudentCodeError, StudentCodeFailed, StudentProxy, StudentSession
from grader.replay import ANSWERS_FILE, RecordingReference, ReplayReference
from grader.models import CellProgress, CheckResult, ExtractedSubmission, Verdict, utcnow
from grader.verdicts import Grading
from grader.sandbox.host import gpu
from grader.sandbox.host.errors import SandboxError
from grader.sandbox.host.warm_worker import WarmWorkerHost
from grader.sandbox.layers import missing_isolation
from grader.spec import AssignmentSpec
from grader import timeline

timeline.mark("judge.imported")

PYTEST_INI = Path(__file__).with_name("pytest.ini")
STARVED_ATTEMPTS = 2
STARVED_PREFIX = "infrastructure: "  # an error row that says the grader, not the student, failed


def load_reference(spec: AssignmentSpec, include_hidden: bool = True) -> ModuleType | ReplayReference:
    """The reference solution; in a released bundle (public checks only), its recorded answers."""
    path = spec.reference_solution().absolute()  # by its path in the assignment tree, never found on sys.path
    answers = spec.public_checks / ANSWERS_FILE
    if not path.is_file() and not include_hidden and answers.is_file():
        return ReplayReference(answers)
    if not path.is_file():
        raise GraderError(spec.missing_reference())
    module_name = f"grader_reference_{spec.id}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    return module


class JudgePlugin:
    """Registered with pytest: provides the fixtures and drives the per-submission loop."""

    def __init__(self, judge: "Judge", submissions: Iterable[ExtractedSubmission],
                 on_verdict: Callable[[Verdict], None]):
        self.judge = judge
        self.submissions = submissions
        self.on_verdict = on_verdict
        self.session: StudentSession | None = None
        self.collection_errors: list[str] = []
        self.items: list[pytest.Item] = []
        self.fatal: GraderError | SandboxError | None = None

    # fixtures -----------------------------------------------------------------

    @pytest.fixture
    def student(self) -> StudentProxy:
        return self._fixture_value("student")

    @pytest.fixture
    def reference(self) -> ModuleType:
        return self._fixture_value("reference")

    @pytest.fixture
    def device(self) -> torch.device:
        return self._fixture_value("device")

    def _fixture_value(self, name: str):
        if name == "student":
            assert self.session is not None
            return StudentProxy(self.session)
        if name == "reference":
            return self.judge.reference
        return torch.device(self.judge.device)

    # hooks --------------------------------------------------------------------

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, items) -> None:
        for item in items:
            if item.get_closest_marker("points") is None:
                self.collection_errors.append(f"{item.nodeid}: no @pytest.mark.points(N) on this check")

    def pytest_runtestloop(self, session) -> bool:
        self.items = list(session.items)
        if self.collection_errors:
            return True
        try:
            self.judge.check_points(self.items)
            # Only now: the checks were collected while the sandbox imported torch.
            self.judge.ensure_server()  # fails early, with one line, when the sandbox cannot start or is not allowed
            timeline.mark("judge.ready")
            for submission in self.submissions:
                verdict = self.judge.judge_one(submission, self)
                self.on_verdict(verdict)
        except (GraderError, SandboxError) as error:  # pytest would bury it in an INTERNALERROR traceback
            self.fatal = error
        return True

    def run_checks(self, session: StudentSession) -> list[CheckResult]:
        self.session = session
        results = []
        try:
            for item in self.items:
                results.append(self._run_item(item))
        finally:
            self.session = None
        return results

    def _direct_arguments(self, item: pytest.Item) -> tuple[str, ...] | None:
        """The argument names of a check that may be called as a plain function with this plugin's fixtures;
        None when it needs pytest's run protocol (another fixture, a mark other than points, a hook of a
        conftest or plugin outside pytest, parametrize, an async or generator function). Worked out once per item."""
        if not hasattr(item, "_grader_direct"):
            item._grader_direct = _direct_arguments(item, self)
        return item._grader_direct

    def _run_item(self, item: pytest.Item) -> CheckResult:
        direct = self._direct_arguments(item)
        if direct is None:
            item._initrequest()
        if hasattr(self.judge.reference, "begin_check"):
            self.judge.reference.begin_check(item.name)
        started = time.perf_counter()
        notes.clear()
        if direct is None:
            failure = run_check(item)
        else:
            failure = run_direct(item, {name: self._fixture_value(name) for name in direct})
        passed = failure is None
        if not hasattr(item, "_grader_points"):  # a marker lookup walks the item's parents; a batch asks per check
            item._grader_points = float(item.get_closest_marker("points").args[0])
            item._grader_title = check_title(item)
        points = item._grader_points
        earned = points if passed else points * failure.fraction if isinstance(failure, PartialCredit) else 0.0
        visibility = self.judge.visibility(item)
        # A passing check's message is what it noted (e.g. that a device check was skipped).
        message = "; ".join(notes.take()) if passed else failure_message(failure, visibility)
        student_message = None
        if visibility == "hidden":  # the grader's own notes are safe; a failure says only what is safe
            student_message = message if passed else student_failure_message(failure)
        return CheckResult(name=item.name, title=item._grader_title, visibility=visibility,
                           score=earned if passed else round(earned, 6), max_score=points, passed=passed,
                           message=message, student_message=student_message,
                           seconds=time.perf_counter() - started)


def run_check(item: pytest.Item) -> BaseException | None:
    """One check's setup, call and teardown through pytest's hooks; the first exception, if any.

    pytest's own ``runtestprotocol`` also builds and logs a report for each of the three
    phases (about 1.4 ms a check here, more than most checks' own work); a verdict needs
    only whether the check passed and, if not, the exception that says why.
    """
    failure = None
    try:
        item.ihook.pytest_runtest_setup(item=item)
        item.ihook.pytest_runtest_call(item=item)
    except (pytest.exit.Exception, KeyboardInterrupt):
        raise
    except BaseException as error:  # a check fails however it raises, SystemExit included
        failure = error
    try:
        item.ihook.pytest_runtest_teardown(item=item, nextitem=None)
    except (pytest.exit.Exception, KeyboardInterrupt):
        raise
    except BaseException as error:
        failure = failure or error
    finally:
        item._request = False  # the check's fixtures and arguments go with it
        item.funcargs = None
    return failure


_PROTOCOL_HOOKS = ("pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown", "pytest_pyfunc_call")
_OWN_FIXTURES = ("student", "reference", "device")


def _direct_arguments(item: pytest.Item, plugin: JudgePlugin) -> tuple[str, ...] | None:
    """See ``JudgePlugin._direct_arguments``."""
    if type(item) is not pytest.Function or hasattr(item, "callspec"):
        return None
    function = getattr(item, "obj", None)
    if (not inspect.isfunction(function) or inspect.iscoroutinefunction(function)
            or inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)):
        return None
    if any(mark.name != "points" for mark in item.iter_markers()):
        return None
    info = item._fixtureinfo
    names = tuple(info.argnames)
    if set(item.fixturenames) != set(names) or not set(names) <= set(_OWN_FIXTURES):
        return None
    for name in names:  # each one this plugin's own, not one a conftest defines under the same name
        definitions = info.name2fixturedefs.get(name) or ()
        if not definitions or getattr(definitions[-1].func, "__self__", None) is not plugin:
            return None
    for hook in _PROTOCOL_HOOKS:  # only pytest's own implementations: nothing that wraps a check
        for implementation in getattr(item.ihook, hook).get_hookimpls():
            owner = implementation.plugin
            module = owner.__name__ if inspect.ismodule(owner) else type(owner).__module__
            if not module.startswith("_pytest."):
                return None
    return names


def run_direct(item: pytest.Item, arguments: dict) -> BaseException | None:
    """A check called as the plain function it is (see ``_direct_arguments``); the exception it raised, if any.

    What pytest's protocol would add around such a check does nothing for it: its fixtures are this
    plugin's (no teardown), it has no marks to evaluate and no hook but pytest's own wraps it.
    """
    try:
        item.obj(**arguments)
    except (pytest.exit.Exception, KeyboardInterrupt):
        raise
    except BaseException as error:  # a check fails however it raises, SystemExit included
        return error
    return None


def check_title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return tr(doc.strip().splitlines()[0].strip()) if doc.strip() else item.name


def failure_message(error: BaseException, visibility: str) -> str:
    if isinstance(error, (AssertionError, StudentCodeError)):
        text = str(error).strip()
        return text[:2000] if text else tr("the check failed")
    if isinstance(error, (pytest.skip.Exception, pytest.xfail.Exception)):
        return tr("skipped")
    # An exception in the check's own code, usually from a result of an unexpected kind.
    # Hidden checks say no more than its type: its message may hold expected values.
    if visibility == "hidden":
        return tr("the check could not use your result ({type})", type=type(error).__name__)
    return tr("the check could not use your result: {type}: {error}", type=type(error).__name__,
              error=str(error)[:300])


@contextmanager
def trusted_imports(support: Path) -> Iterator[None]:
    """While the checks run: no PYTEST_* variable, no autoloaded plugin, no working directory on sys.path.

    `grader ci` runs in the student's checkout: a ``PYTEST_ADDOPTS`` or ``PYTEST_PLUGINS`` set for the
    job, or a module in the working directory that a check or a lazy import would find first (``''``
    or the directory itself on sys.path, as ``python -m`` puts it there), would run on the trusted
    side. ``support`` (the assignment's ``checks/``, where shared helpers live) goes first instead.
    Everything is put back afterwards.
    """
    saved_environ = {name: value for name, value in os.environ.items() if name.startswith("PYTEST_")}
    saved_path = list(sys.path)
    try:
        cwd = os.path.realpath(os.getcwd())
    except OSError:  # the working directory was removed
        cwd = None
    for name in saved_environ:
        del os.environ[name]
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    sys.path[:] = [str(support)] + [entry for entry in saved_path if entry not in ("", ".")
                                    and os.path.realpath(entry) != cwd]
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in [name for name in os.environ if name.startswith("PYTEST_")]:
            del os.environ[name]
        os.environ.update(saved_environ)


def student_failure_message(error: BaseException) -> str:
    """What a student may read of a hidden check's failure: nothing that depends on its inputs or
    expected values, and no text the student's code produced (an exception's message can hold every
    input it was given)."""
    if isinstance(error, (StudentCodeFailed, StudentCodeError)):
        generic = tr("your code failed while this check ran it (it raised an error, did not return in time or "
                     "ended the process)")
        # With a diagnosis: only its family and the shapes/dtypes/devices the check sent, nothing from the message.
        return generic if error.safe_explanation is None else generic + "\n" + error.safe_explanation
    if isinstance(error, CheckFailed):
        if error.student_message is not None:
            return error.student_message[:2000]
        hint = "\n" + tr("Hint: {hint}", hint=error.hint) if error.hint else ""
        return tr("the check failed") + hint
    if isinstance(error, AssertionError):  # a bare assert: its text may name expected values
        return tr("the check failed")
    return failure_message(error, "hidden")  # skipped, or the type of an error in the check's own code


def forget_check_modules(assignment_root: Path) -> None:
    """Drop check and support modules imported earlier in this process, so this run imports its own.

    pytest's importlib mode names a check module by its path under the root (``checks.public.
    test_hw2_public``) and reuses a module of that name already in ``sys.modules``: without
    this, checking against a released bundle after the course's own tree (or one assignment
    tree after another) would run the first tree's checks.
    """
    root = str(assignment_root.resolve())
    installed = (sys.prefix, sys.base_prefix)
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        in_checks = ("/checks/" in origin and not origin.startswith(installed)  # any assignment's checks folder
                     and not origin.startswith(_GRADER_PACKAGE))  # (a checkout may itself live under .../checks/)
        if name == "checks" or name.startswith("checks.") or origin.startswith(root + "/") or in_checks:
            del sys.modules[name]


_GRADER_PACKAGE = str(Path(__file__).resolve().parent.parent) + "/"


class Judge:
    """Judges submissions of one assignment with a warm sandbox worker."""

    def __init__(self, spec: AssignmentSpec, include_hidden: bool = True, device: str = "cpu",
                 server: WarmWorkerHost | None = None, allow_unisolated: bool = True, lang: str = "en",
                 record_reference: bool = False, device_label: str | None = None,
                 on_cell: Callable[[CellProgress], None] | None = None, portable: bool = False):
        """``device``: where this judge's submissions run (``cuda`` means ``cuda:0``);
        ``device_label``: what the verdicts record (a batch spread over GPUs records ``cuda``);
        ``on_cell``: told as each of a submission's cells starts and ends (`grader check`'s live lines);
        ``portable``: no sandbox, a plain subprocess per submission (``grader.sandbox.portable``), public checks
        on the student's own machine only."""
        if portable and include_hidden:
            raise GraderError("the portable mode runs public checks only; grading needs the Linux sandbox")
        self.portable = portable
        self.spec = spec
        self.on_cell = on_cell
        self.lang = lang
        self.allow_unisolated = allow_unisolated
        torch.set_num_threads(1)  # the sandboxes need the cores; trusted-side reference runs are small
        self.include_hidden = include_hidden
        self.device_label = device_label or device
        self.device = "cuda:0" if device == "cuda" else device
        gpu.configure_trusted(self.device, spec.device.deterministic)
        self.reference = load_reference(spec, include_hidden)
        if record_reference:
            self.reference = RecordingReference(self.reference)
        self.server = server
        self.grading = Grading.of(spec, include_hidden, self.device_label)

    def __enter__(self) -> "Judge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def visibility(self, item: pytest.Item) -> str:
        if not hasattr(item, "_grader_visibility"):  # resolving paths is some 0.1 ms; a batch asks per check
            path = Path(str(item.path)).resolve()
            item._grader_visibility = "hidden" if self.spec.hidden_checks.resolve() in path.parents else "public"
        return item._grader_visibility

    def check_points(self, items: list[pytest.Item]) -> None:
        total = sum(float(item.get_closest_marker("points").args[0]) for item in items)
        if self.include_hidden and abs(total - self.spec.points) > 1e-9:
            raise GraderError(f"the checks of {self.spec.id} give {total:g} points but assignment.toml says "
                              f"points = {self.spec.points:g}; make them agree")

    def ensure_server(self) -> WarmWorkerHost:
        """The warm sandbox worker, started (or restarted after it died) and checked."""
        if self.server is not None and not self.server.alive():
            self.server.close()
            self.server = None
        if self.server is None and self.portable:
            from grader.sandbox.portable.host import PortableHost

            self.server = PortableHost()
        if self.server is None:
            self.server = WarmWorkerHost.for_limits(self.spec.limits, self.device, warm_optimizer=self.spec.warms_optimizer())
            self.server.launch()
        if not self.server.ready:
            self.server.wait_ready()
            missing = missing_isolation(self.server.reported_layers)
            if missing and not self.allow_unisolated:
                self.close()
                raise GraderError(f"this machine's sandbox lacks {' and '.join(missing)}: install bubblewrap "
                                  "(apt-get install -y bubblewrap; see `grader doctor`) or pass "
                                  "--allow-unisolated to grade anyway, which every stored run records")
            self.server.reported_layers["allowed_unisolated"] = bool(missing)
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def run(self, submissions: Iterable[ExtractedSubmission],
            on_verdict: Callable[[Verdict], None]) -> None:
        files = self.spec.check_files(self.include_hidden)
        if not files:
            raise GraderError(f"no checks found in {self.spec.public_checks} (files named test_*.py)")
        set_language(self.lang, [self.spec.public_checks, self.spec.checks_root, self.spec.hidden_checks])
        plugin = JudgePlugin(self, submissions, on_verdict)
        args = [str(path) for path in files] + [
            # Nothing outside the grader and the assignment's folder configures the run: our own ini (no
            # pytest.ini, tox.ini, setup.cfg or pyproject.toml is searched for), a fixed rootdir, no
            # conftest.py above the assignment (a checkout that holds the checks); no entry-point plugins
            # (PYTEST_DISABLE_PLUGIN_AUTOLOAD in trusted_imports: the flag needs pytest 8.4).
            "-c", str(PYTEST_INI), "--rootdir", str(self.spec.root), "--confcutdir", str(self.spec.root),
            "-p", "no:cacheprovider",
            "-p", "no:terminal", "-p", "no:stepwise", "--assert=plain", "--import-mode=importlib",
            # Plugins that wrap every check and that judging does not use (checks are plain functions
            # with the grader's fixtures; output goes to the sandbox's pipes, not pytest's).
            *[arg for plugin in ("logging", "warnings", "unraisableexception", "threadexception", "faulthandler",
                                 "junitxml", "doctest", "pastebin", "setuponly", "setupplan", "unittest",
                                 "subtests", "debugging")
              for arg in ("-p", f"no:{plugin}")],
            "-s", "-W", "ignore::pytest.PytestAssertRewriteWarning",
        ]
        forget_check_modules(self.spec.root)
        with trusted_imports(self.spec.checks_root):
            code = pytest.main(args, plugins=[plugin])
        if code == pytest.ExitCode.INTERRUPTED:  # pytest turns Ctrl-C into an exit code; the caller wants it back
            raise KeyboardInterrupt
        if plugin.fatal is not None:
            raise plugin.fatal
        if plugin.collection_errors:
            raise GraderError("the checks of " + self.spec.id + " are broken: " + plugin.collection_errors[0])
        if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            raise GraderError(f"pytest could not run the checks of {self.spec.id} (exit {int(code)})")

    def grade(self, submissions: Iterable[ExtractedSubmission]) -> list[Verdict]:
        verdicts: list[Verdict] = []
        self.run(submissions, verdicts.append)
        return verdicts

    def judge_one(self, extracted: ExtractedSubmission, plugin: JudgePlugin) -> Verdict:
        """One submission's verdict. A timeout the submission suffered while the machine gave it no CPU
        (``SubmissionStarved``) is not its fault: it is judged again, and if starved again it becomes an
        ``error`` row, which the next `grader grade` grades again, never a silent wrong score."""
        verdict = self._judge_once(extracted, plugin)
        for _ in range(STARVED_ATTEMPTS - 1):
            if verdict.status != "error" or not verdict.message.startswith(STARVED_PREFIX):
                break
            verdict = self._judge_once(extracted, plugin)
        return verdict

    def _judge_once(self, extracted: ExtractedSubmission, plugin: JudgePlugin) -> Verdict:
        started_at, started = utcnow(), time.perf_counter()

        def error(message: str) -> Verdict:
            return self.grading.error(extracted.path, extracted.student, message, sha256=extracted.sha256,
                                      max_score=self._max_score(plugin), duration=time.perf_counter() - started,
                                      started_at=started_at)

        try:
            server = self.ensure_server()
        except SandboxError as failure:
            return error(tr("the sandbox could not start: {error}", error=failure))
        session = StudentSession(server, extracted, self.spec.limits, self.device,
                                 deterministic=self.spec.device.deterministic and is_cuda(self.device),
                                 on_cell=self.on_cell)
        try:
            session.start()
            checks = plugin.run_checks(session)
        except SandboxError as failure:
            session.close()
            return error(tr("the sandbox failed: {error}", error=failure))
        except GraderError:
            raise
        except Exception as failure:  # one submission, however hostile, never stops the batch
            return error(tr("the submission could not be judged ({type}); it sent the grader malformed data",
                            type=type(failure).__name__))
        finally:
            session.close()
        if session.starved is not None:
            return error(STARVED_PREFIX + tr("the machine gave this submission too little CPU to finish in time "
                                             "({report}); grade it again when the machine is less busy (grader "
                                             "grade grades error rows again)", report=session.starved))
        return self.grading.graded(
            extracted.path, extracted.student, sha256=extracted.sha256, checks=checks,
            cells=[session.cells[index] for index in sorted(session.cells)],
            stdout="".join(session.stdout), stderr="".join(session.stderr),
            layers=dict(server.reported_layers), duration=time.perf_counter() - started, started_at=started_at)

    def _max_score(self, plugin: JudgePlugin) -> float:
        return float(sum(float(item.get_closest_marker("points").args[0]) for item in plugin.items))
