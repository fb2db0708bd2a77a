"""Jail.spawn_ephemeral and Jail.run_ephemeral: a jail for one command, as
``jail -c ... command=...`` makes it, that lives exactly as long as its processes.

On the model; the kernel-marked test at the end is the twin for FreeBSD.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from portable import TRUE

import jailcore
from jailcore import Jail, JailError, JailNotFoundError, jails
from jailcore.testing import kernel_skip_reason

# No root needed on the model: the user who made its host is a superuser there, and
# these jails have path "/", so attaching needs no chroot(2).

SH = "/bin/sh"


KERNEL_MISSING = kernel_skip_reason()
needs_kernel = pytest.mark.skipif(KERNEL_MISSING is not None, reason=str(KERNEL_MISSING))


@pytest.fixture
def name() -> Iterator[str]:
    n = f"cmd-{uuid.uuid4().hex[:8]}"
    yield n
    try:  # whatever a failing test left behind
        Jail.get(n).remove()
    except JailError:
        pass


def gone(name_or_jid: str | int) -> bool:
    try:
        Jail.get(name_or_jid)
    except JailNotFoundError:
        return True
    return False


def gone_soon(name_or_jid: str | int, timeout: float = 10.0) -> bool:
    """On a real kernel a jail whose last process exited may stay alive or dying for
    a moment (its last references drop through a taskqueue): poll, bounded."""
    deadline = time.monotonic() + timeout
    while not gone(name_or_jid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


# ---- spawn_ephemeral ---------------------------------------------------------------------


def test_jail_lives_while_the_command_runs(name: str) -> None:
    proc = Jail.spawn_ephemeral(["/bin/sleep", "0.3"], {"name": name, "path": "/"})
    try:
        found = Jail.get(name)
        assert found == proc.jail
        assert proc.jail.get("persist") == {"persist": False}
        assert proc.jail.name == name
        time.sleep(0.1)
        assert not gone(name)
    finally:
        assert proc.wait() == 0
    assert gone(name)
    assert gone(found.jid)


def test_jail_outlives_its_command_until_it_is_reaped(name: str) -> None:
    """An exited but unreaped command (a zombie) still holds its jail."""
    proc = Jail.spawn_ephemeral(TRUE, {"name": name, "path": "/"})
    info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
    assert info is not None and info.si_status == 0
    assert not gone(name)
    assert proc.wait() == 0
    assert gone(name)


def test_jail_goes_with_a_killed_command(name: str) -> None:
    proc = Jail.spawn_ephemeral(["/bin/sleep", "30"], {"name": name, "path": "/"})
    assert not gone(name)
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    assert gone(name)


def test_pipes_and_keywords_of_spawn(name: str) -> None:
    with Jail.spawn_ephemeral(
        [SH, "-c", "cat; echo \"$GREETING\"; pwd"], {"name": name, "path": "/"},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={"GREETING": "hello"}, cwd="/tmp",
    ) as proc:
        out, _ = proc.communicate(b"in\n")
    assert out == b"in\nhello\n/tmp\n"
    assert gone(name)


def test_params_as_keyword_and_default_path(name: str) -> None:
    proc = Jail.spawn_ephemeral(
        args=TRUE, params={"name": name, "host.hostname": "one.example"}
    )
    assert proc.wait() == 0
    assert gone(name)


def test_child_of_a_persistent_jail(name: str) -> None:
    parent = Jail.create(name=name, path="/")
    proc = Jail.spawn_ephemeral(["/bin/sleep", "0.1"], {"name": f"{name}.job", "path": "/"})
    assert proc.jail.parent == parent.jid
    assert proc.wait() == 0
    assert gone(f"{name}.job")
    assert not gone(name)


@pytest.mark.parametrize(
    ("args", "kwargs", "raised", "err"),
    [
        (["/nonexistent/program"], {}, FileNotFoundError, errno.ENOENT),
        (["/etc/passwd"], {}, PermissionError, errno.EACCES),
        (TRUE, {"cwd": "/nonexistent-dir"}, FileNotFoundError, errno.ENOENT),
        (TRUE, {"user": "no-such-user-here"}, JailError, errno.ENOENT),
        ([], {}, ValueError, None),
    ],
    ids=["no-program", "not-executable", "bad-cwd", "unknown-user", "empty-args"],
)
def test_failing_spawn_leaves_no_jail(
    name: str, args: list[str], kwargs: dict[str, str], raised: type[Exception], err: int | None
) -> None:
    with pytest.raises(raised) as info:
        Jail.spawn_ephemeral(args, {"name": name, "path": "/"}, **kwargs)
    if err is not None:
        assert isinstance(info.value, OSError) and info.value.errno == err
    assert gone(name)
    assert list(jails()) == []


def test_persist_cannot_be_asked(name: str) -> None:
    for params in ({"name": name, "persist": True}, {"name": name, "nopersist": True},
                   {"name": name, "persist": False}):
        with pytest.raises(ValueError, match="persist"):
            Jail.spawn_ephemeral(TRUE, params)
    assert gone(name)


def test_create_error_is_raised_and_an_existing_jail_is_left_alone(name: str) -> None:
    existing = Jail.create(name=name, path="/")
    with pytest.raises(jailcore.JailExistsError):
        Jail.spawn_ephemeral(TRUE, {"name": name, "path": "/"})
    assert Jail.get(name) == existing
    assert [j.jid for j in jails()] == [existing.jid]


def test_failing_to_clear_persist_removes_the_jail(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self: Jail, *args: object, **kwargs: object) -> Jail:
        raise JailError(errno.EPERM, "refused by the test", "jail_set")

    monkeypatch.setattr(Jail, "update", refused)
    with pytest.raises(JailError, match="refused by the test"):
        Jail.spawn_ephemeral(["/bin/sleep", "30"], {"name": name, "path": "/"})
    assert gone(name)  # removed, and its command killed and reaped (a zombie would hold it)


# ---- run_ephemeral -------------------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_code_returned(name: str, code: int) -> None:
    r = Jail.run_ephemeral([SH, "-c", f"exit {code}"], {"name": name, "path": "/"})
    assert isinstance(r, subprocess.CompletedProcess)
    assert r.returncode == code
    assert gone(name)


def test_run_captures_and_feeds(name: str) -> None:
    r = Jail.run_ephemeral(
        [SH, "-c", "tr a-z A-Z; echo e >&2"], {"name": name, "path": "/"},
        input="abc\n", capture_output=True, text=True,
    )
    assert (r.returncode, r.stdout, r.stderr) == (0, "ABC\n", "e\n")
    assert r.args == [SH, "-c", "tr a-z A-Z; echo e >&2"]
    assert gone(name)


def test_run_check(name: str) -> None:
    with pytest.raises(subprocess.CalledProcessError) as info:
        Jail.run_ephemeral([SH, "-c", "echo o; exit 9"], {"name": name, "path": "/"},
                           capture_output=True, check=True)
    assert (info.value.returncode, info.value.stdout) == (9, b"o\n")
    assert gone(name)


def test_run_timeout_kills_and_the_jail_goes(name: str) -> None:
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        Jail.run_ephemeral([SH, "-c", "echo early; exec sleep 30"], {"name": name, "path": "/"},
                           capture_output=True, timeout=0.5)
    assert time.monotonic() - start < 5
    assert info.value.stdout == b"early\n"
    assert gone(name)


class Interrupted(Exception):
    pass


def test_run_interrupted_kills_the_command_and_the_jail_goes(name: str) -> None:
    def on_alarm(signum: int, frame: object) -> None:
        raise Interrupted

    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Interrupted):
            Jail.run_ephemeral(["/bin/sleep", "30"], {"name": name, "path": "/"},
                               capture_output=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert gone(name)


def test_run_failing_spawn_leaves_no_jail(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        Jail.run_ephemeral(["/nonexistent/program"], {"name": name, "path": "/"},
                           capture_output=True)
    assert gone(name)


def test_run_argument_errors_make_no_jail(name: str) -> None:
    with pytest.raises(ValueError, match="stdin and input"):
        Jail.run_ephemeral(["/bin/cat"], {"name": name}, input=b"x", stdin=subprocess.PIPE)
    with pytest.raises(ValueError, match="capture_output"):
        Jail.run_ephemeral(["/bin/cat"], {"name": name}, capture_output=True,
                           stdout=subprocess.PIPE)
    assert gone(name)


def test_the_documented_one_liner(name: str) -> None:
    r = jailcore.Jail.run_ephemeral(["/bin/echo", "hi"], {"name": name}, capture_output=True)
    assert r.stdout == b"hi\n"
    assert gone(name)


# ---- kernel twin -------------------------------------------------------------------------------


@pytest.mark.kernel
@needs_kernel
def test_kernel_one_command_jail() -> None:
    n = f"jc-cmd-{uuid.uuid4().hex[:8]}"
    proc = Jail.spawn_ephemeral(["/bin/sleep", "0.3"], {"name": n, "path": "/"})
    try:
        assert Jail.get(n) == proc.jail
        assert proc.jail.get("persist") == {"persist": False}
    finally:
        proc.wait()
    assert gone_soon(n)
    assert Jail.run_ephemeral(["/bin/sh", "-c", "exit 4"], {"name": n, "path": "/"}).returncode == 4
    assert gone_soon(n)
    with pytest.raises(FileNotFoundError):
        Jail.spawn_ephemeral(["/nonexistent/program"], {"name": n, "path": "/"})
    assert gone_soon(n)
