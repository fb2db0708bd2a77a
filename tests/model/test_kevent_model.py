"""kqueue(2) jail events on the kernel model (issue 17), through the model's C
ABI with FreeBSD's struct kevent: EVFILT_JAIL and EVFILT_JAILDESC, their
coalescing and removal rules (spec host §G, userland §7 and §8 case 43), a
descriptor readable while events are pending, and events caused by another
process sharing the host."""

from __future__ import annotations

import ctypes
import errno
import os
import select
import subprocess
import sys

import pytest
from forked import in_child, need_root
from modelabi import JAIL_ATTACH, JAIL_CREATE, JAIL_UPDATE, LIB, I, jail_set

import jailcore
import jailcore.model
from jailcore import Jail, JailDescriptor

EVFILT_JAIL, EVFILT_JAILDESC, EVFILT_READ = -14, -15, -1
EV_ADD, EV_DELETE, EV_ONESHOT, EV_CLEAR, EV_RECEIPT = 0x1, 0x2, 0x10, 0x20, 0x40
EV_ERROR, EV_EOF = 0x4000, 0x8000
CHILD, SET, ATTACH, REMOVE, MULTI = 0x80000000, 0x40000000, 0x20000000, 0x10000000, 0x08000000
ALL = CHILD | SET | ATTACH | REMOVE


class Kevent(ctypes.Structure):
    """FreeBSD's struct kevent (FreeBSD 12 and later, LP64)."""

    _fields_ = [("ident", ctypes.c_size_t), ("filter", ctypes.c_short),
                ("flags", ctypes.c_ushort), ("fflags", ctypes.c_uint),
                ("data", ctypes.c_int64), ("udata", ctypes.c_void_p),
                ("ext", ctypes.c_uint64 * 4)]


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


LIB.jailmodel_kevent.argtypes = [ctypes.c_int, ctypes.POINTER(Kevent), ctypes.c_int,
                                 ctypes.POINTER(Kevent), ctypes.c_int,
                                 ctypes.POINTER(Timespec)]


def test_struct_kevent_is_64_bytes() -> None:
    assert ctypes.sizeof(Kevent) == 64


class KQ:
    def __init__(self) -> None:
        self.fd = LIB.jailmodel_kqueue()
        assert self.fd >= 0, errno.errorcode[ctypes.get_errno()]

    def change(self, ident: int, filt: int = EVFILT_JAIL, flags: int = EV_ADD,
               fflags: int = ALL, udata: int = 0) -> tuple[int, int]:
        ch = Kevent(ident, filt, flags, fflags, 0, udata)
        ret = LIB.jailmodel_kevent(self.fd, ctypes.byref(ch), 1, None, 0, None)
        return ret, ctypes.get_errno() if ret < 0 else 0

    def read(self, timeout: float = 0.0, n: int = 16) -> list[tuple[int, int, int, int, int]]:
        out = (Kevent * n)()
        ts = Timespec(int(timeout), int((timeout % 1) * 1e9))
        ret = LIB.jailmodel_kevent(self.fd, None, 0, out, n, ctypes.byref(ts))
        assert ret >= 0, errno.errorcode[ctypes.get_errno()]
        return [(e.ident, e.filter, e.flags, e.fflags, e.data) for e in out[:ret]]

    def readable(self, timeout: float = 0.0) -> bool:
        return bool(select.select([self.fd], [], [], timeout)[0])

    def close(self) -> None:
        assert LIB.jailmodel_kqueue_close(self.fd) == 0


@pytest.fixture
def kq() -> KQ:
    q = KQ()
    yield q
    q.close()


def test_case_43_two_children_before_a_read(kq: KQ) -> None:
    assert kq.change(0, fflags=CHILD) == (0, 0)
    assert not kq.readable()
    Jail.create(name="a", path="/")
    Jail.create(name="b", path="/")
    assert kq.readable()
    assert kq.read() == [(0, EVFILT_JAIL, EV_ADD | EV_CLEAR, CHILD | MULTI, 0)]
    # EV_CLEAR: read once.
    assert kq.read() == [] and not kq.readable()


def test_one_child_gives_its_jid(kq: KQ) -> None:
    kq.change(0, fflags=CHILD)
    jail = Jail.create(name="a", path="/")
    assert kq.read() == [(0, EVFILT_JAIL, EV_ADD | EV_CLEAR, CHILD, jail.jid)]
    # Grandchildren are the child's, not the host's.
    Jail.create(name="a.b", path="/")
    assert kq.read() == []


def test_one_attach_gives_its_pid(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=ATTACH)
    with jail.spawn(["sleep", "0"]) as proc:
        proc.wait()
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR, ATTACH, proc.pid)]
    for _ in range(2):
        jail.spawn(["sleep", "0"]).wait()
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR, ATTACH | MULTI, 0)]


def test_set_and_what_was_not_asked(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=SET)
    jail.spawn(["sleep", "0"]).wait()      # ATTACH: not asked for
    assert kq.read() == [] and not kq.readable()
    jail.update(host__hostname="a.example")
    jail.update(host__hostname="b.example")
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR, SET, 0)]


def test_remove_subscribed_ends_the_knote(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=REMOVE | SET, udata=0x1234)
    jail.remove()
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF,
                          REMOVE, 0)]
    assert kq.change(jail.jid, flags=EV_DELETE) == (-1, errno.ENOENT)


def test_remove_unsubscribed_is_dropped(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=SET)
    jail.remove()
    assert kq.read() == [] and not kq.readable()
    assert kq.change(jail.jid, flags=EV_DELETE) == (-1, errno.ENOENT)


def test_what_was_gathered_comes_with_the_removal(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=SET)
    jail.update(host__hostname="x")
    jail.remove()
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF,
                          SET, 0)]


def test_registration_errors(kq: KQ) -> None:
    assert kq.change(999) == (-1, errno.ENOENT)
    jail = Jail.create(name="a", path="/")
    jail.remove()
    assert kq.change(jail.jid) == (-1, errno.ENOENT)
    assert kq.change(0, filt=EVFILT_READ) == (-1, errno.EINVAL)
    assert kq.change(0, flags=EV_DELETE) == (-1, errno.ENOENT)
    assert kq.change(12345, filt=EVFILT_JAILDESC) == (-1, errno.EBADF)


def test_errors_as_events_with_room(kq: KQ) -> None:
    out = (Kevent * 2)()
    ch = Kevent(999, EVFILT_JAIL, EV_ADD, ALL, 0, None)
    assert LIB.jailmodel_kevent(kq.fd, ctypes.byref(ch), 1, out, 2, None) == 1
    assert (out[0].ident, out[0].flags, out[0].data) == (999, EV_ERROR, errno.ENOENT)
    ch = Kevent(0, EVFILT_JAIL, EV_ADD | EV_RECEIPT, ALL, 0, None)
    assert LIB.jailmodel_kevent(kq.fd, ctypes.byref(ch), 1, out, 2, None) == 1
    assert (out[0].ident, out[0].flags, out[0].data) == (0, EV_ERROR, 0)


def test_version_14_has_no_jail_filters(kq: KQ) -> None:
    jailcore.model.set_version(14)
    assert kq.change(0) == (-1, errno.EINVAL)
    assert kq.change(0, filt=EVFILT_JAILDESC) == (-1, errno.EINVAL)


def test_jaildesc(kq: KQ) -> None:
    desc = JailDescriptor.create(name="a", path="/", owning=False)
    try:
        assert kq.change(desc.fileno(), filt=EVFILT_JAILDESC) == (0, 0)
        desc.jail().update(host__hostname="x")
        assert kq.read() == [(desc.fileno(), EVFILT_JAILDESC, EV_ADD | EV_CLEAR, SET, 0)]
        desc.jail().remove()
        assert kq.read() == [(desc.fileno(), EVFILT_JAILDESC,
                              EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF, REMOVE, 0)]
    finally:
        desc.close()


def test_jaildesc_of_a_dead_jail_reports_at_once(kq: KQ) -> None:
    desc = JailDescriptor.create(name="a", path="/", owning=False)
    other = JailDescriptor.create(name="b", path="/", owning=False)
    try:
        desc.jail().remove()
        other.jail().remove()
        assert kq.change(desc.fileno(), filt=EVFILT_JAILDESC) == (0, 0)
        # Asked only for SET: the removal has nothing to report, and goes.
        assert kq.change(other.fileno(), filt=EVFILT_JAILDESC, fflags=SET) == (0, 0)
        assert kq.readable()
        assert kq.read() == [(desc.fileno(), EVFILT_JAILDESC,
                              EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF, REMOVE, 0)]
        assert kq.change(other.fileno(), filt=EVFILT_JAILDESC, flags=EV_DELETE) == (
            -1, errno.ENOENT)
    finally:
        desc.close()
        other.close()


def test_timeout_and_waiting(kq: KQ) -> None:
    kq.change(0, fflags=CHILD)
    assert kq.read(timeout=0.05) == []
    code = ("import jailcore; jailcore.Jail.create(name='other', path='/')")
    root = os.path.dirname(os.path.dirname(os.path.abspath(jailcore.__file__)))
    proc = subprocess.Popen([sys.executable, "-c", code], cwd="/",
                            env={**os.environ, "PYTHONPATH": root})
    try:
        # Another process's jail_set wakes this kqueue.
        assert kq.readable(timeout=30)
        events = kq.read(timeout=10)
    finally:
        proc.wait()
    assert proc.returncode == 0
    assert [(e[0], e[3]) for e in events] == [(0, CHILD)]
    assert events[0][4] == Jail.get("other").jid


def test_not_inherited_across_fork(kq: KQ) -> None:
    need_root()

    def child() -> tuple[int, int]:
        ret = LIB.jailmodel_kevent(kq.fd, None, 0, None, 0, None)
        return ret, ctypes.get_errno()

    assert in_child(child) == (-1, errno.EBADF)


def test_ident_zero_in_a_jail_is_that_jail(kq: KQ) -> None:
    need_root()
    jail = Jail.create(name="a", path="/", children__max=5)

    def child() -> int:
        q = KQ()
        assert q.change(0, fflags=CHILD) == (0, 0)
        sub = Jail.create(name="b", path="/")
        got = q.read()
        assert got == [(0, EVFILT_JAIL, EV_ADD | EV_CLEAR, CHILD, sub.jid)], got
        q.close()
        return sub.jid

    assert in_child(child, attach=jail.jid) > 0


def test_reset_ends_kqueues(kq: KQ) -> None:
    kq.change(0)
    jailcore.model.reset()
    out = (Kevent * 1)()
    assert LIB.jailmodel_kevent(kq.fd, None, 0, out, 1, None) == -1
    assert ctypes.get_errno() == errno.EBADF


def test_set_is_reported_when_an_update_fails_late(kq: KQ) -> None:
    """kern_jail_set reports SET once every check passed, even when a later
    step (here the attach, refused for an open directory) fails."""
    need_root()
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=SET)

    def child() -> tuple[int, str]:
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            r = jail_set([("jid", I(jail.jid)), ("host.hostname", "late.example")],
                         JAIL_UPDATE | JAIL_ATTACH)
            return r.errno, r.errmsg
        finally:
            os.close(fd)

    assert in_child(child) == (errno.EPERM, "attach failed")
    assert jail["host.hostname"] == "late.example"          # the update stays
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR, SET, 0)]
    # An update refused by a check changes nothing and is not reported.
    r = jail_set([("jid", I(jail.jid)), ("securelevel", I(-5))], JAIL_UPDATE)
    assert r.ret == -1
    assert kq.read() == []


def test_set_comes_before_the_removal_it_causes(kq: KQ) -> None:
    jail = Jail.create(name="a", path="/")
    kq.change(jail.jid, fflags=SET)        # REMOVE not asked for
    jail.update(nopersist=True)            # no process: the jail dies
    assert kq.read() == [(jail.jid, EVFILT_JAIL, EV_ADD | EV_CLEAR | EV_ONESHOT | EV_EOF,
                          SET, 0)]


def test_a_child_that_fails_to_attach_comes_and_goes(kq: KQ) -> None:
    need_root()
    kq.change(0, fflags=CHILD)

    def child() -> int:
        fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        try:
            return jail_set([("name", "b"), ("path", "/")], JAIL_CREATE | JAIL_ATTACH).errno
        finally:
            os.close(fd)

    assert in_child(child) == errno.EPERM
    got = kq.read()
    assert [(e[0], e[3]) for e in got] == [(0, CHILD)] and got[0][4] > 0
