"""jailmodel_jail_pids: the processes of a jail, as jail(8) lists them before it stops
one (usr.sbin/jail/command.c, term_procs: kvm_getprocs(KERN_PROC_PROC), those whose
ki_jid is the jail's), with the exited-but-unreaped ones left out, as jail(8)'s
NOTE_EXIT counts them gone.  A jailed caller sees only its own jail's and its
descendants' processes, as the kernel's kern.proc.proc lists no others."""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import modelabi
import pytest
from forked import in_child
from modelabi import LIB, attach, create
from modelabi_check import ROOT_ONLY
from modelabi_child import Child

import jailcore
import jailcore.model

pytestmark = ROOT_ONLY

LIB.jailmodel_jail_pids.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
LIB.jailmodel_jail_pids.restype = ctypes.c_int

UNTOUCHED = -7


def jail_pids(jid: int, n: int = 16) -> tuple[int, int, list[int]]:
    """(return value, errno, the n entries of the buffer) of one call."""
    buf = (ctypes.c_int * n)(*([UNTOUCHED] * n))
    ctypes.set_errno(0)
    ret = LIB.jailmodel_jail_pids(jid, buf, n)
    return ret, (ctypes.get_errno() if ret == -1 else 0), list(buf)


def listed(jid: int) -> list[int]:
    ret, err, buf = jail_pids(jid)
    assert err == 0 and 0 <= ret <= len(buf)
    assert buf[ret:] == [UNTOUCHED] * (len(buf) - ret)
    return sorted(buf[:ret])


def null_call(jid: int, n: int) -> tuple[int, int]:
    ctypes.set_errno(0)
    ret = LIB.jailmodel_jail_pids(jid, None, n)
    return ret, (ctypes.get_errno() if ret == -1 else 0)


class Attached:
    """Forked children attached to model jails, waiting to be told to exit."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def into(self, jid: int) -> int:
        c = Child(lambda: list(attach(jid)), after="wait")
        self.children.append(c)
        assert c.result() == [0, 0]
        return c.pid

    def child(self, pid: int) -> Child:
        return next(c for c in self.children if c.pid == pid)


@pytest.fixture
def attached() -> Iterator[Attached]:
    a = Attached()
    try:
        yield a
    finally:
        for c in a.children:
            c.cleanup()


def test_arguments_refused() -> None:
    jid = create(("name", "a"), ("persist", None))
    assert jail_pids(0)[:2] == (-1, errno.EINVAL)
    assert jail_pids(-1)[:2] == (-1, errno.EINVAL)
    assert null_call(jid, -1) == (-1, errno.EINVAL)
    assert null_call(jid, 1) == (-1, errno.EFAULT)


def test_size_query_with_no_buffer(attached: Attached) -> None:
    jid = create(("name", "a"), ("persist", None))
    assert null_call(jid, 0) == (0, 0)
    attached.into(jid)
    attached.into(jid)
    assert null_call(jid, 0) == (2, 0)


def test_lists_the_attached_processes(attached: Attached) -> None:
    a = create(("name", "a"), ("persist", None))
    b = create(("name", "b"), ("persist", None))
    assert listed(a) == []
    p1, p2 = attached.into(a), attached.into(a)
    p3 = attached.into(b)
    assert listed(a) == sorted([p1, p2])
    assert listed(b) == [p3]


def test_a_short_buffer_gets_the_first_and_the_count(attached: Attached) -> None:
    a = create(("name", "a"), ("persist", None))
    pids = {attached.into(a), attached.into(a), attached.into(a)}
    ret, err, buf = jail_pids(a, 2)
    assert (ret, err) == (3, 0)
    assert set(buf) < pids and len(set(buf)) == 2


def test_no_jail_with_that_jid_has_none() -> None:
    assert jail_pids(12345)[:2] == (0, 0)


def test_a_childs_processes_are_not_the_parents(attached: Attached) -> None:
    a = create(("name", "a"), ("persist", None), ("children.max", modelabi.I(1)))
    c = create(("name", "a.c"), ("persist", None))
    pa, pc = attached.into(a), attached.into(c)
    assert listed(a) == [pa]
    assert listed(c) == [pc]


def test_an_exited_process_is_not_listed_while_a_zombie(attached: Attached) -> None:
    a = create(("name", "a"), ("persist", None))
    stays, leaves = attached.into(a), attached.into(a)
    child = attached.child(leaves)
    child.go()
    info = os.waitid(os.P_PID, leaves, os.WEXITED | os.WNOWAIT)
    assert info is not None and info.si_pid == leaves
    assert listed(a) == [stays]
    assert child.wait() == 0
    assert listed(a) == [stays]


def test_another_processs_zombie_is_not_listed_either(attached: Attached) -> None:
    # Seen from a process that is not its parent (no waitid(2) for it there).
    a = create(("name", "a"), ("persist", None))
    stays, leaves = attached.into(a), attached.into(a)
    attached.child(leaves).go()
    info = os.waitid(os.P_PID, leaves, os.WEXITED | os.WNOWAIT)
    assert info is not None and info.si_pid == leaves
    assert in_child(lambda: listed(a)) == [stays]


def test_a_jailed_caller_sees_its_own_jail_and_descendants_only(attached: Attached) -> None:
    a = create(("name", "a"), ("persist", None), ("children.max", modelabi.I(1)))
    c = create(("name", "a.c"), ("persist", None))
    b = create(("name", "b"), ("persist", None))
    pa, pc, pb = attached.into(a), attached.into(c), attached.into(b)

    def look() -> tuple[int, list[int], list[int], tuple[int, int, list[int]]]:
        return os.getpid(), listed(a), listed(c), jail_pids(b)

    me, in_a, in_c, in_b = in_child(look, attach=a)
    assert in_a == sorted([pa, me])
    assert in_c == [pc]
    assert in_b == (0, 0, [UNTOUCHED] * 16)
    assert listed(b) == [pb]


DURING = "changed into an invalid state by another process (found so during a call): refused"


def test_a_negative_pid_written_into_the_table_fails_the_call(tmp_path: Path) -> None:
    # kill(2) takes a negative pid for a process group (-1: every process): an entry
    # so written by another process is refused, never signalled.
    path = tmp_path / "host"
    off = modelabi.state_offset

    def child() -> tuple[object, ...]:
        jailcore.model.use_state_file(path)
        jid = create(("name", "a"), ("persist", None))
        base = off("procs")
        modelabi.write_state(path, [
            (base + off("proc.pid"), struct.pack("=i", -1)),
            (base + off("proc.prison"), struct.pack("=i", 1)),
            (off("g.nprocs_hint"), struct.pack("=i", 1)),
        ])
        ret, err, _ = jail_pids(jid)
        with pytest.raises(jailcore.ModelHostError) as exc:
            jailcore.model.reset()
        return ret, err, exc.value.errno, exc.value.strerror

    assert in_child(child) == (-1, errno.EINVAL, errno.EINVAL, DURING)
