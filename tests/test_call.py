"""Jail.call: Python callables run in a forked child attached to a jail.

On the model (every test resets its host); the kernel-marked tests at the end
are the twins of the main cases for a real FreeBSD kernel.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from portable import open_fds

import jailcore
import jailcore.model
from jailcore import Jail, JailCallError, JailError, _backend
from jailcore.testing import kernel_skip_reason

ROOT = str(Path(jailcore.__file__).resolve().parents[1])

# No root needed on the model: the user who made its host is a superuser there, and
# these jails have path "/", so attaching needs no chroot(2).


KERNEL_MISSING = kernel_skip_reason()
needs_kernel = pytest.mark.skipif(KERNEL_MISSING is not None, reason=str(KERNEL_MISSING))


@pytest.fixture
def jail() -> Iterator[Jail]:
    with Jail.temporary(name=f"call-{uuid.uuid4().hex[:8]}", path="/") as j:
        yield j


# ---- what the tests send and raise (module level, so that they pickle) --------------


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class CustomError(Exception):
    """An exception class of the test's own, with an extra attribute."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message, code)
        self.code = code


class NeedsTwoArgs(Exception):
    """Pickles in the child but cannot be rebuilt here: __init__ wants two arguments
    and ``args`` holds one."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


class HoldsALock(Exception):
    """Cannot be pickled at all (a lock is among its arguments)."""


def jailed_sysctl() -> int:
    err, mib = _backend.sysctlnametomib("security.jail.jailed")
    assert err == 0
    err, data = _backend.sysctl(mib, 4)
    assert err == 0
    return int.from_bytes(data[:4], sys.byteorder, signed=True)


def where_am_i() -> dict[str, int]:
    return {"jid": jailcore.model.current_jid(), "jailed": jailed_sysctl(), "pid": os.getpid()}


def raise_value_error(what: str, n: int) -> None:
    raise ValueError(what, n)


def raise_custom_error() -> None:
    raise CustomError("custom trouble", code=42)


def raise_needs_two_args() -> None:
    raise NeedsTwoArgs("left", "right")


def raise_holding_a_lock() -> None:
    raise HoldsALock("with a lock", threading.Lock())


def return_a_lock() -> Any:
    return threading.Lock()


class DiesWhenPickled:
    def __reduce__(self) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("not reached")


class Interrupted(Exception):
    pass


def kill_myself(sig: int) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(30)


# ---- results ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        3.25,
        "texte accentué",
        b"\x00\xffbytes",
        [1, [2, [3]]],
        (1, "two"),
        {"a": {"b": [1.5, None]}},
        {1, 2, 3},
        frozenset({"x"}),
        Point(3, 4),
        b"x" * (1 << 20),  # much more than a pipe holds: the parent reads while the child writes
    ],
    ids=lambda v: type(v).__name__ + (f"-{len(v)}" if isinstance(v, bytes) else ""),
)
def test_results_come_back_equal(jail: Jail, value: Any) -> None:
    got = jail.call(lambda: value)
    assert got == value
    assert type(got) is type(value)


def test_arguments_and_keywords_are_passed(jail: Jail) -> None:
    def combine(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert jail.call(combine, 2, 3, scale=10) == 50
    assert jail.call(combine, 2, b=5) == 7


def test_func_need_not_pickle(jail: Jail) -> None:
    lock = threading.Lock()  # captured, not sent: the child is a fork
    assert jail.call(lambda: lock.locked()) is False


def test_keywords_named_like_the_parameters_reach_func(jail: Jail) -> None:
    def echo(**kw: Any) -> dict[str, Any]:
        return kw

    assert jail.call(echo, func=1, self=2) == {"func": 1, "self": 2}


def test_not_a_callable_is_a_type_error(jail: Jail) -> None:
    with pytest.raises(TypeError, match="callable"):
        jail.call(42)  # type: ignore[arg-type]


# ---- the child really is in the jail, the parent is not -----------------------------


def test_child_is_in_the_jail(jail: Jail) -> None:
    there = jail.call(where_am_i)
    assert there["jid"] == jail.jid
    assert there["jailed"] == 1
    assert there["pid"] != os.getpid()


def test_parent_is_untouched(jail: Jail) -> None:
    cwd = os.getcwd()
    marker = {"touched": False}

    def touch() -> int:
        marker["touched"] = True
        return jailcore.model.current_jid()

    assert jail.call(touch) == jail.jid
    assert jailcore.model.current_jid() == 0
    assert jailed_sysctl() == 0
    assert os.getcwd() == cwd
    assert marker == {"touched": False}


def test_nested_jail_child(jail: Jail) -> None:
    child = Jail.create(name=f"{jail.name}.inner", path="/")
    assert child.call(jailcore.model.current_jid) == child.jid
    assert jailcore.model.current_jid() == 0


def test_no_descriptor_leaks_and_child_reaped(jail: Jail) -> None:
    before = open_fds()
    pids = [jail.call(os.getpid) for _ in range(20)]
    assert open_fds() == before
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already


def test_output_of_the_child_arrives_once(jail: Jail, capfd: pytest.CaptureFixture[str]) -> None:
    print("before;", end="")  # left in this process's buffer, not written yet

    def chatty() -> int:
        print("inside;", end="")
        print("err;", end="", file=sys.stderr)
        return 1

    assert jail.call(chatty) == 1
    print("after")
    out, err = capfd.readouterr()
    assert out == "before;inside;after\n"
    assert err == "err;"


# ---- exceptions -----------------------------------------------------------------------


def test_value_error_with_its_args(jail: Jail) -> None:
    with pytest.raises(ValueError) as info:
        jail.call(raise_value_error, "bad value", 7)
    assert type(info.value) is ValueError
    assert info.value.args == ("bad value", 7)


def test_custom_exception_class_and_attributes(jail: Jail) -> None:
    with pytest.raises(CustomError) as info:
        jail.call(raise_custom_error)
    assert info.value.args == ("custom trouble", 42)
    assert info.value.code == 42


def test_remote_traceback_is_the_cause(jail: Jail) -> None:
    with pytest.raises(CustomError) as info:
        jail.call(raise_custom_error)
    cause = info.value.__cause__
    assert cause is not None
    text = str(cause)
    assert "Traceback (most recent call last)" in text
    assert "raise_custom_error" in text
    assert 'raise CustomError("custom trouble", code=42)' in text
    assert "CustomError: ('custom trouble', 42)" in text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_note_says_where_it_was_raised(jail: Jail) -> None:
    with pytest.raises(ValueError) as info:
        jail.call(raise_value_error, "x", 1)
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1
    assert f"in jail {jail.jid}" in notes[0]
    assert "raise_value_error" in notes[0]


def test_base_exceptions_travel_too(jail: Jail) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt("stop")

    with pytest.raises(KeyboardInterrupt):
        jail.call(interrupted)


def test_exception_that_cannot_be_rebuilt_here(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(raise_needs_two_args)
    err = info.value
    assert err.remote_type == f"{__name__}.NeedsTwoArgs"
    assert err.remote_message == "left/right"
    assert "NeedsTwoArgs" in str(err) and "left/right" in str(err)
    assert "unpickled" in str(err)
    assert err.signal is None and err.returncode == 0
    assert "raise_needs_two_args" in str(err.__cause__)


def test_exception_that_cannot_be_pickled(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(raise_holding_a_lock)
    err = info.value
    assert err.remote_type == f"{__name__}.HoldsALock"
    assert err.remote_message is not None and "with a lock" in err.remote_message
    assert "HoldsALock" in str(err) and "could not be pickled" in str(err)
    assert "raise_holding_a_lock" in str(err.__cause__)


def test_result_that_cannot_be_pickled(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(return_a_lock)
    err = info.value
    assert err.remote_type == "_thread.lock"
    assert err.remote_message is not None and "lock" in err.remote_message
    assert "return_a_lock" in str(err) and "could not be pickled" in str(err)
    assert err.signal is None


# ---- children that die ----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGUSR1])
def test_child_killed_by_a_signal(jail: Jail, sig: signal.Signals) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(kill_myself, sig)
    err = info.value
    assert isinstance(err, ChildProcessError)
    assert err.signal == sig
    assert err.returncode == -sig
    assert sig.name in str(err) and "kill_myself" in str(err)
    assert jailcore.model.current_jid() == 0


def test_child_that_exits_on_its_own(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(os._exit, 3)
    assert info.value.signal is None
    assert info.value.returncode == 3
    assert "exited with status 3" in str(info.value)


def test_sys_exit_in_func_exits_the_child_not_the_caller(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(sys.exit, 4)
    assert info.value.returncode == 4
    assert info.value.signal is None


def test_sys_exit_with_a_message_or_nothing(
    jail: Jail, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(sys.exit, "goodbye from the jail")
    assert (info.value.returncode, info.value.signal) == (1, None)
    assert "goodbye from the jail" in capfd.readouterr().err
    with pytest.raises(JailCallError) as info:
        jail.call(sys.exit)
    assert info.value.returncode == 0
    assert "exited with status 0 without a result" in str(info.value)


def test_jail_removed_while_the_call_runs(jail: Jail) -> None:
    r, w = os.pipe()

    def wait_for_removal() -> None:
        os.write(w, b"x")
        time.sleep(30)

    def remove_on_alarm(signum: int, frame: Any) -> None:
        os.read(r, 1)  # the child is attached and running
        jail.remove()

    old = signal.signal(signal.SIGALRM, remove_on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        start = time.monotonic()
        with pytest.raises(JailCallError) as info:
            jail.call(wait_for_removal)
        took = time.monotonic() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.close(r)
        os.close(w)
    assert took < 10
    assert info.value.signal == signal.SIGKILL
    assert info.value.returncode == -signal.SIGKILL
    with pytest.raises(jailcore.JailNotFoundError):
        Jail.get(jail.jid)


def test_child_dying_while_it_pickles_the_result(jail: Jail) -> None:
    with pytest.raises(JailCallError) as info:
        jail.call(DiesWhenPickled)
    assert info.value.signal == signal.SIGKILL
    assert "without a result" in str(info.value)


def _start_daemon(seconds: float) -> int:
    """As a daemon's start does: fork a long-lived process and return its pid."""
    pid = os.fork()
    if pid == 0:  # the grandchild: holds every descriptor the child had
        try:
            time.sleep(seconds)
        finally:
            os._exit(0)
    return pid


def test_call_returns_when_the_callable_returns_despite_a_grandchild(jail: Jail) -> None:
    """The grandchild keeps the report pipe open for 30 s; the call does not wait for it."""
    start = time.monotonic()
    grandchild = jail.call(_start_daemon, 30.0)
    took = time.monotonic() - start
    try:
        assert took < 10, took
        os.kill(grandchild, 0)  # still running: the call did not wait for it
    finally:
        os.kill(grandchild, signal.SIGKILL)


def _fork_and_both_return() -> str:
    return "grandchild" if os.fork() == 0 else "child"


def test_only_the_childs_report_counts(jail: Jail) -> None:
    """A process the callable forks that returns from the callable too reports nothing."""
    for _ in range(5):
        assert jail.call(_fork_and_both_return) == "child"


def test_call_from_a_process_with_descriptors_above_fd_setsize(jail: Jail) -> None:
    """The report pipe may be numbered above 1024, where select(2) cannot go."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1100:
        pytest.skip(f"needs 1100 descriptors; RLIMIT_NOFILE is {soft}")
    held = []
    try:
        while True:
            fd = os.open(os.devnull, os.O_RDONLY)
            held.append(fd)
            if fd >= 1030:
                break
        assert jail.call(os.getpid) != os.getpid()
    finally:
        for fd in held:
            os.close(fd)


def test_interrupted_caller_kills_and_reaps_the_child(jail: Jail) -> None:
    r, w = os.pipe()

    def report_pid_and_sleep() -> None:
        os.write(w, str(os.getpid()).encode())
        time.sleep(30)

    def on_alarm(signum: int, frame: Any) -> None:
        raise Interrupted

    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        start = time.monotonic()
        with pytest.raises(Interrupted):
            jail.call(report_pid_and_sleep)
        took = time.monotonic() - start
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.close(w)
    pid = int(os.read(r, 32))
    os.close(r)
    assert took < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped by the call
    jail.update(persist=False)  # no process left in it: it goes at once
    with pytest.raises(jailcore.JailNotFoundError):
        Jail.get(jail.jid)


def test_dying_jail_raises_the_attach_error(jail: Jail) -> None:
    jailcore.model.hold(jail.jid)  # removed, it stays dying
    try:
        jail.remove()
        assert jail.dying
        with pytest.raises(JailError) as info:
            jail.call(where_am_i)
    finally:
        jailcore.model.release(jail.jid)
    assert info.value.errno == errno.EINVAL
    assert info.value.operation == "jail_attach"
    assert "attach" in str(info.value.__cause__)
    assert jailcore.model.current_jid() == 0


def test_jail_that_is_gone_raises_the_attach_error() -> None:
    j = Jail.create(name="gone", path="/")
    j.remove()
    with pytest.raises(JailError) as info:
        j.call(where_am_i)
    assert info.value.errno == errno.EINVAL


# A fresh interpreter, so that nothing the test runner imported hides a module the
# child would import too late (pytest itself imports traceback, for one).
EMPTY_ROOT = """
import json, os, sys
from jailcore import Jail

class Trouble(Exception):
    pass

def fail():
    raise Trouble("nothing here", 7)

def look():
    return {"listing": os.listdir("/"), "cwd": os.getcwd()}

out = {}
with Jail.temporary(name="empty", path=sys.argv[1]) as j:
    out["value"] = j.call(look)
    try:
        j.call(fail)
    except Trouble as exc:
        out["raised"] = [type(exc).__name__, list(exc.args), "Trouble" in str(exc.__cause__)]
    try:
        j.call(int, "x")
    except ValueError as exc:
        out["builtin"] = str(exc)
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the model chroots into the jail")
def test_call_into_a_root_without_python(tmp_path: Path) -> None:
    """The child imports nothing after attaching, so an exception and a value both
    come back from a jail whose root holds nothing at all (issue 11, item 3)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT, JAILCORE_MODEL_STATE=str(tmp_path / "host"))
    done = subprocess.run([sys.executable, "-c", EMPTY_ROOT, str(empty)], env=env, cwd="/",
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {
        "value": {"listing": [], "cwd": "/"},
        "raised": ["Trouble", ["nothing here", 7], True],
        "builtin": "invalid literal for int() with base 10: 'x'",
    }


def test_call_error_pickles() -> None:
    import pickle

    err = JailCallError("gone", signal=9, returncode=-9, remote_type="T", remote_message="m")
    back = pickle.loads(pickle.dumps(err))
    assert (back.signal, back.returncode, back.remote_type, back.remote_message, str(back)) == (
        9, -9, "T", "m", "gone"
    )


# ---- kernel twins -----------------------------------------------------------------------


def kernel_jailed() -> int:
    return jailed_sysctl()


@pytest.mark.kernel
@needs_kernel
def test_kernel_call_runs_in_the_jail() -> None:
    with Jail.temporary(name=f"jc-call-{uuid.uuid4().hex[:8]}", path="/") as j:
        assert j.call(kernel_jailed) == 1
        assert kernel_jailed() == 0
        with pytest.raises(ValueError) as info:
            j.call(raise_value_error, "k", 1)
        assert "raise_value_error" in str(info.value.__cause__)
        with pytest.raises(JailCallError) as dead:
            j.call(kill_myself, signal.SIGKILL)
        assert dead.value.signal == signal.SIGKILL
