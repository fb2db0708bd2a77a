"""Jail.processes() and Jail.stop() on the model: jail -r's SIGTERM, stop.timeout and
the removal's SIGKILL (usr.sbin/jail/command.c, term_procs).

The jails have path "/" so that the host's programs run in them; each test's
processes are killed at its end should an assertion leave them running.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from forked import in_child
from portable import TRUE

from jailcore import Jail, JailError, JailNotFoundError
from jailcore.process import JailProcess

IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


class Spawner:
    """Starts processes in jails and kills those still running at the test's end."""

    def __init__(self) -> None:
        self.started: list[JailProcess] = []

    def sleep(self, jail: Jail) -> JailProcess:
        p = jail.spawn(["sleep", "30"])
        self.started.append(p)
        return p

    def stubborn(self, jail: Jail) -> JailProcess:
        """A Python process that ignores SIGTERM, once it has said so."""
        p = jail.spawn([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
        self.started.append(p)
        assert p.stdout is not None
        assert p.stdout.readline() == b"ready\n"
        return p

    def cleanup(self) -> None:
        for p in self.started:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()


@pytest.fixture
def spawner() -> Iterator[Spawner]:
    s = Spawner()
    try:
        yield s
    finally:
        s.cleanup()


def gone(jail: Jail) -> bool:
    try:
        Jail.get(jail.jid)
    except JailNotFoundError:
        return True
    return False


def test_processes_lists_the_jails_processes(spawner: Spawner) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    assert jail.processes() == []
    a, b = spawner.sleep(jail), spawner.sleep(jail)
    assert jail.processes() == sorted([a.pid, b.pid])
    a.kill()
    assert a.wait() == -signal.SIGKILL
    assert jail.processes() == [b.pid]


def test_processes_leaves_out_an_exited_process_not_yet_reaped(spawner: Spawner) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    p = jail.spawn(list(TRUE))
    spawner.started.append(p)
    # Exited, left a zombie: waitid with WNOWAIT does not reap it.
    info = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
    assert info is not None and info.si_pid == p.pid
    assert jail.processes() == []
    # Its Popen still reaps it and gets its status.
    assert p.wait() == 0


def test_processes_of_a_jail_that_is_gone() -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    jail.remove()
    assert jail.processes() == []


def test_processes_of_the_jail_only_not_of_its_children(spawner: Spawner) -> None:
    parent = Jail.create(name="p", path="/", persist=True, **{"children.max": 1})
    child = Jail.create(name="p.c", path="/", persist=True)
    mine, theirs = spawner.sleep(parent), spawner.sleep(child)
    assert parent.processes() == [mine.pid]
    assert child.processes() == [theirs.pid]


def test_stop_ends_the_processes_with_sigterm_and_removes_the_jail(spawner: Spawner) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    a, b = spawner.sleep(jail), spawner.sleep(jail)
    assert jail.stop() == []
    assert a.wait() == -signal.SIGTERM
    assert b.wait() == -signal.SIGTERM
    assert gone(jail)


def test_stop_of_a_jail_without_processes() -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    assert jail.stop() == []
    assert gone(jail)


def test_stop_kills_what_ignores_sigterm_at_the_timeout(spawner: Spawner) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    polite = spawner.sleep(jail)
    stubborn = spawner.stubborn(jail)
    assert jail.stop(timeout=0.5) == [stubborn.pid]
    assert polite.wait() == -signal.SIGTERM
    assert stubborn.wait() == -signal.SIGKILL
    assert gone(jail)


def test_stop_with_timeout_0_sends_no_sigterm(spawner: Spawner) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    p = spawner.sleep(jail)
    assert jail.stop(timeout=0) == [p.pid]
    assert p.wait() == -signal.SIGKILL
    assert gone(jail)


def test_stop_leaves_another_jails_processes_alone(spawner: Spawner) -> None:
    a = Jail.create(name="a", path="/", persist=True)
    b = Jail.create(name="b", path="/", persist=True)
    pa, pb = spawner.sleep(a), spawner.sleep(b)
    assert a.stop() == []
    assert pa.wait() == -signal.SIGTERM
    assert pb.poll() is None
    assert b.processes() == [pb.pid]
    assert not gone(b)


def test_stop_removes_the_children_and_kills_their_processes(spawner: Spawner) -> None:
    parent = Jail.create(name="p", path="/", persist=True, **{"children.max": 1})
    child = Jail.create(name="p.c", path="/", persist=True)
    mine, theirs = spawner.sleep(parent), spawner.sleep(child)
    # Only the jail's own processes are jail -r's to signal and to report.
    assert parent.stop() == []
    assert mine.wait() == -signal.SIGTERM
    assert theirs.wait() == -signal.SIGKILL
    assert gone(parent) and gone(child)


def test_a_jailed_caller_sees_only_its_own_jail_and_its_descendants(spawner: Spawner) -> None:
    a = Jail.create(name="a", path="/", persist=True, **{"children.max": 1})
    below = Jail.create(name="a.c", path="/", persist=True)
    b = Jail.create(name="b", path="/", persist=True)
    pa, pc, pb = spawner.sleep(a), spawner.sleep(below), spawner.sleep(b)

    def look() -> tuple[int, list[int], list[int], list[int]]:
        return os.getpid(), a.processes(), below.processes(), b.processes()

    me, in_a, in_below, in_b = in_child(look, attach=a.jid)
    assert in_a == sorted([pa.pid, me])
    assert in_below == [pc.pid]
    assert in_b == []
    # From the host, b's process is there.
    assert b.processes() == [pb.pid]


@pytest.mark.parametrize("timeout", [-1, -0.5, float("nan")])
def test_stop_refuses_a_negative_timeout(timeout: float) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    with pytest.raises(ValueError) as exc:
        jail.stop(timeout=timeout)
    assert str(exc.value) == f"timeout: must be 0 or more seconds, not {timeout!r}"
    assert not gone(jail)


@pytest.mark.parametrize("timeout", ["1", None, True])
def test_stop_refuses_a_timeout_that_is_not_a_number(timeout: object) -> None:
    jail = Jail.create(name="t", path="/", persist=True)
    with pytest.raises(TypeError) as exc:
        jail.stop(timeout=timeout)  # type: ignore[arg-type]
    name = type(timeout).__name__
    assert str(exc.value) == f"timeout: expected a number of seconds, not {name}"
    assert not gone(jail)


def test_processes_of_jid_0_is_no_jail() -> None:
    with pytest.raises(JailError) as exc:
        Jail(0).processes()
    assert (exc.value.errno, exc.value.operation) == (errno.EINVAL, "kern.proc.proc")
    assert str(exc.value) == "kern.proc.proc: Invalid argument [EINVAL]"
