"""Watching jails: the kqueue(2) jail events of FreeBSD 15.

FreeBSD 15.0 reports what happens to a jail through kevent(2): the filter
``EVFILT_JAIL`` on a jid (0 for the caller's own jail) and ``EVFILT_JAILDESC``
on a jail descriptor deliver ``NOTE_JAIL_CHILD`` (a child jail was created),
``NOTE_JAIL_SET`` (the jail was changed by jail_set(2)), ``NOTE_JAIL_ATTACH``
(a process attached) and ``NOTE_JAIL_REMOVE`` (the jail was removed), as they
happen, without polling.  A :class:`Watcher` is a kqueue with such
registrations; it yields typed events:

* :class:`JailCreated` (``child``: the new jail's jid),
* :class:`JailChanged`,
* :class:`JailAttached` (``pid``: the process),
* :class:`JailRemoved`.

When more than one child was created, or more than one process attached,
before the watcher read them, the kernel keeps one event with
``multiple=True`` and no id (NOTE_JAIL_MULTI, ``data`` 0).

:func:`watch` with no jail watches the caller's own jail (the host, outside
any jail) and every jail below it, and follows the jails created later.  The
watcher's :meth:`~Watcher.fileno` is readable while events are pending, so
``select``, ``poll`` and :mod:`asyncio` wait on it (:func:`jailcore.aio.watch`).
A watcher is a kqueue, and a kqueue is not inherited across fork(2): in a
child, make a new one.

FreeBSD 14 has no jail filters: :class:`EventsNotSupportedError`, unless
``fallback="poll"`` asks for a watcher that lists the jails at an interval
instead (no attach events there).  The kernel model has the filters, with
FreeBSD 15's semantics, and reports the events that other processes sharing
its host cause.
"""

from __future__ import annotations

import enum
import errno
import os
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from jailcore import _backend
from jailcore.errors import JailError, jail_error

if TYPE_CHECKING:
    from jailcore.jail import Jail, JailDescriptor

__all__ = [
    "Events",
    "EventsNotSupportedError",
    "JailAttached",
    "JailChanged",
    "JailCreated",
    "JailEvent",
    "JailRemoved",
    "PollingWatcher",
    "Watcher",
    "watch",
    "watcher",
]

#: sys/event.h
EVFILT_JAIL = -14
EVFILT_JAILDESC = -15
EV_ADD = 0x0001
EV_DELETE = 0x0002
EV_CLEAR = 0x0020
EV_ERROR = 0x4000
EV_EOF = 0x8000
NOTE_JAIL_CHILD = 0x80000000
NOTE_JAIL_SET = 0x40000000
NOTE_JAIL_ATTACH = 0x20000000
NOTE_JAIL_REMOVE = 0x10000000
NOTE_JAIL_MULTI = 0x08000000

#: How many events one kevent(2) call reads at most.
BATCH = 64


class Events(enum.IntFlag):
    """Which events to watch, as NOTE_JAIL_* fflags."""

    CREATED = NOTE_JAIL_CHILD
    CHANGED = NOTE_JAIL_SET
    ATTACHED = NOTE_JAIL_ATTACH
    REMOVED = NOTE_JAIL_REMOVE
    ALL = NOTE_JAIL_CHILD | NOTE_JAIL_SET | NOTE_JAIL_ATTACH | NOTE_JAIL_REMOVE


class JailCreated(NamedTuple):
    """A child jail of ``jid`` was created: ``child`` is its jid, None when
    several were created before the watcher read them (``multiple``)."""

    jid: int
    child: int | None
    multiple: bool = False


class JailChanged(NamedTuple):
    """Jail ``jid`` was changed through jail_set(2)."""

    jid: int


class JailAttached(NamedTuple):
    """A process attached to jail ``jid``: ``pid``, None when several did
    before the watcher read them (``multiple``)."""

    jid: int
    pid: int | None
    multiple: bool = False


class JailRemoved(NamedTuple):
    """Jail ``jid`` was removed (it is dying or gone)."""

    jid: int


JailEvent = JailCreated | JailChanged | JailAttached | JailRemoved


def _below(parents: dict[int, int], jid: int, top: int) -> bool:
    """Whether jail ``jid`` is below jail ``top`` (0: the caller's own jail),
    from one listing's jid -> parent (0 for the caller's own jail)."""
    if top == 0:
        return True
    for _ in range(len(parents)):
        jid = parents.get(jid, 0)
        if jid == top:
            return True
        if jid == 0:
            return False
    return False


class EventsNotSupportedError(JailError):
    """The kernel has no jail events: FreeBSD before 15.0 refuses
    EVFILT_JAIL with EINVAL.  ``watch(..., fallback="poll")`` polls
    instead."""


def _events_of(ident_jid: int, fflags: int, data: int) -> list[JailEvent]:
    """The typed events of one kevent, in the order CHILD, SET, ATTACH, REMOVE."""
    multiple = bool(fflags & NOTE_JAIL_MULTI)
    out: list[JailEvent] = []
    if fflags & NOTE_JAIL_CHILD:
        # data holds the child's jid, or the pid when ATTACH shares it:
        # the kernel keeps one data per knote, MULTI when both happened.
        only = multiple or fflags & NOTE_JAIL_ATTACH
        out.append(JailCreated(ident_jid, None if only or not data else data, bool(only)))
    if fflags & NOTE_JAIL_SET:
        out.append(JailChanged(ident_jid))
    if fflags & NOTE_JAIL_ATTACH:
        only = multiple or fflags & NOTE_JAIL_CHILD
        out.append(JailAttached(ident_jid, None if only or not data else data, bool(only)))
    if fflags & NOTE_JAIL_REMOVE:
        out.append(JailRemoved(ident_jid))
    return out


class _Registration(NamedTuple):
    filter: int
    ident: int
    jid: int       # what events report: the jail's jid (0: the caller's own)
    fflags: int


class Watcher:
    """A kqueue watching jails; see :func:`watch`.  Iterating over it waits
    for events and yields them one by one; :meth:`read` returns those
    pending.  Use it in a ``with`` block, or :meth:`close` it."""

    def __init__(self) -> None:
        ret = _backend.lib.jc_kqueue(_backend.BACKEND)
        if ret < 0:
            _backend.check_model_host(-ret)
            raise jail_error(-ret, None, "kqueue")
        self._kq: int = int(ret)
        self._pid = os.getpid()
        self._regs: dict[tuple[int, int], _Registration] = {}
        self._follow: dict[int, int] = {}  # jid -> fflags for jails found below
        ffi = _backend.ffi
        self._changes = ffi.new("struct jc_kevent[]", BATCH)
        self._events = ffi.new("struct jc_kevent[]", BATCH)

    # -- registrations

    def add(self, jail: Jail | JailDescriptor | int | None = None,
            events: Events | int = Events.ALL, *, children: bool | None = None) -> None:
        """Watch ``jail`` (a :class:`~jailcore.Jail`, a jid, a
        :class:`~jailcore.JailDescriptor`, or None: the caller's own jail) for
        ``events``.  ``children`` (default: True for None) watches every jail
        below it too, and those created later."""
        from jailcore.jail import Jail, JailDescriptor

        self._check_owner()
        if isinstance(jail, JailDescriptor):
            reg = _Registration(EVFILT_JAILDESC, jail.fileno(), jail.jid, int(events))
        else:
            jid = 0 if jail is None else jail.jid if isinstance(jail, Jail) else int(jail)
            reg = _Registration(EVFILT_JAIL, jid, jid, int(events))
        follow = (jail is None) if children is None else children
        # CHILD is what following needs; it is not reported unless asked.
        extra = NOTE_JAIL_CHILD if follow else 0
        self._register(reg._replace(fflags=reg.fflags | extra))
        self._regs[(reg.filter, reg.ident)] = reg
        if follow:
            self._follow[reg.jid] = int(events)
            self._follow_below(reg.jid, int(events))

    def _follow_below(self, top: int, fflags: int) -> None:
        """Watch the jails below ``top`` not watched yet."""
        from jailcore.jail import jails

        parents = {j.jid: j.parent for j in jails(["jid", "parent"])}
        for jid in parents:
            if (EVFILT_JAIL, jid) not in self._regs and _below(parents, jid, top):
                self._add_followed(jid, fflags)

    def _add_followed(self, jid: int, fflags: int) -> bool:
        """Watch jail ``jid`` found below a followed one: False when it is
        gone already (removed before the watcher could register)."""
        reg = _Registration(EVFILT_JAIL, jid, jid, fflags)
        try:
            self._register(reg._replace(fflags=fflags | NOTE_JAIL_CHILD))
        except JailError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        self._regs[(EVFILT_JAIL, jid)] = reg
        self._follow[jid] = fflags
        return True

    def remove(self, jail: Jail | JailDescriptor | int | None = None) -> None:
        """Stop watching ``jail`` (as given to :meth:`add`)."""
        from jailcore.jail import Jail, JailDescriptor

        self._check_owner()
        if isinstance(jail, JailDescriptor):
            key = (EVFILT_JAILDESC, jail.fileno())
        else:
            jid = 0 if jail is None else jail.jid if isinstance(jail, Jail) else int(jail)
            key = (EVFILT_JAIL, jid)
        reg = self._regs.pop(key, None)
        if reg is None:
            raise KeyError(jail)
        self._follow.pop(reg.jid, None)
        self._change(reg.filter, reg.ident, EV_DELETE, 0)

    def _register(self, reg: _Registration) -> None:
        self._change(reg.filter, reg.ident, EV_ADD | EV_CLEAR, reg.fflags)

    def _change(self, filt: int, ident: int, flags: int, fflags: int) -> None:
        c = self._changes[0]
        c.ident, c.filter, c.flags, c.fflags, c.data, c.udata = ident, filt, flags, fflags, 0, 0
        ret = _backend.lib.jc_kevent(_backend.BACKEND, self._kq, self._changes, 1,
                                     _backend.ffi.NULL, 0, 0)
        if ret < 0:
            _backend.check_model_host(-ret)
            err = -ret
            if err == errno.EINVAL and filt in (EVFILT_JAIL, EVFILT_JAILDESC):
                raise EventsNotSupportedError(
                    err, "this kernel has no jail events (FreeBSD 15.0 or later has "
                    "EVFILT_JAIL): watch(..., fallback=\"poll\") lists the jails at an "
                    "interval instead", "kevent")
            raise jail_error(err, None, "kevent")

    # -- events

    def fileno(self) -> int:
        """The kqueue's descriptor: readable while events are pending."""
        if self._kq < 0:
            raise ValueError("I/O operation on a closed watcher")
        return self._kq

    def read(self, timeout: float | None = None) -> list[JailEvent]:
        """The events pending, waiting up to ``timeout`` seconds for one
        (None: as long as it takes; 0: not at all).  [] when none came."""
        self._check_owner()
        ns = -1 if timeout is None else max(0, int(timeout * 1e9))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            ret = _backend.lib.jc_kevent(_backend.BACKEND, self._kq, _backend.ffi.NULL, 0,
                                         self._events, BATCH, ns)
            if ret < 0:
                if -ret == errno.EINTR:
                    if deadline is not None:
                        ns = max(0, int((deadline - time.monotonic()) * 1e9))
                    continue
                _backend.check_model_host(-ret)
                raise jail_error(-ret, None, "kevent")
            return self._decode(ret)

    def _decode(self, n: int) -> list[JailEvent]:
        out: list[JailEvent] = []
        created: list[tuple[int, int]] = []  # (the parent's jid, the child's)
        rescan = False
        for i in range(n):
            ev = self._events[i]
            reg = self._regs.get((int(ev.filter), int(ev.ident)))
            if reg is None:
                continue
            if ev.flags & EV_ERROR:
                raise jail_error(int(ev.data), None, "kevent")
            fflags = int(ev.fflags)
            if fflags & NOTE_JAIL_CHILD and reg.jid in self._follow:
                if fflags & NOTE_JAIL_MULTI or fflags & NOTE_JAIL_ATTACH or not ev.data:
                    rescan = True
                else:
                    created.append((reg.jid, int(ev.data)))
            shown = fflags & (reg.fflags | NOTE_JAIL_MULTI)
            if shown & ~NOTE_JAIL_MULTI:
                out += _events_of(reg.jid, shown, int(ev.data))
            if fflags & NOTE_JAIL_REMOVE:
                # EV_ONESHOT: the kernel has dropped the knote.
                self._regs.pop((reg.filter, reg.ident), None)
                self._follow.pop(reg.jid, None)
        for ident, jid in created:
            fflags = self._follow.get(ident, int(Events.ALL))
            if (EVFILT_JAIL, jid) not in self._regs and not self._add_followed(jid, fflags):
                # Created and removed before this read: its removal went to
                # no knote, so it is told here.
                if fflags & NOTE_JAIL_REMOVE:
                    out.append(JailRemoved(jid))
        if rescan:
            for top, fflags in list(self._follow.items()):
                self._follow_below(top, fflags)
        return out

    def __iter__(self) -> Iterator[JailEvent]:
        """Wait for events and yield them, for ever (until the watcher is closed)."""
        while self._kq >= 0:
            yield from self.read()

    # -- life

    def _check_owner(self) -> None:
        if self._kq < 0:
            raise ValueError("I/O operation on a closed watcher")
        if os.getpid() != self._pid:
            raise RuntimeError("a watcher is a kqueue, which a forked child does not "
                               "inherit: make a new one in the child")

    def close(self) -> None:
        """Close the kqueue (in the process that made it)."""
        if self._kq >= 0:
            kq, self._kq = self._kq, -1
            if os.getpid() == self._pid:
                _backend.lib.jc_kqueue_close(_backend.BACKEND, kq)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._kq < 0

    def __enter__(self) -> Watcher:
        """The watcher itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the watcher's kqueue."""
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._kq < 0 else f"kq={self._kq}"
        return f"<Watcher {state} watching {sorted(r.jid for r in self._regs.values())}>"


class PollingWatcher:
    """What :func:`watch` gives with ``fallback="poll"`` on a kernel without
    jail events: the jails listed every ``interval`` seconds and compared.
    It reports creations, changes (of the parameters jls shows by default
    and ``persist``) and removals, never attaches, and has no descriptor to
    wait on."""

    PARAMS = ("jid", "parent", "name", "host.hostname", "path", "ip4.addr", "ip6.addr", "persist")

    def __init__(self, jail: int, events: int, interval: float) -> None:
        self._top = jail
        self._events = events
        self.interval = interval
        self._last = self._snapshot()

    def _snapshot(self) -> dict[int, tuple[Any, ...]]:
        from jailcore.jail import jails

        rows = {j.jid: tuple(j[p] for p in self.PARAMS) for j in jails(list(self.PARAMS))}
        parents = {jid: row[1] for jid, row in rows.items()}  # PARAMS[1] is "parent"
        return {jid: row for jid, row in rows.items()
                if jid == self._top or _below(parents, jid, self._top)}

    def read(self, timeout: float | None = None) -> list[JailEvent]:
        """Poll until something changed or ``timeout`` passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            now = self._snapshot()
            out: list[JailEvent] = []
            for jid, row in now.items():
                if jid not in self._last and self._events & NOTE_JAIL_CHILD:
                    out.append(JailCreated(row[1], jid))
                elif jid in self._last and row != self._last[jid] and self._events & NOTE_JAIL_SET:
                    out.append(JailChanged(jid))
            if self._events & NOTE_JAIL_REMOVE:
                out += [JailRemoved(jid) for jid in self._last if jid not in now]
            self._last = now
            if out:
                return out
            if deadline is not None and time.monotonic() >= deadline:
                return []
            pause = self.interval if deadline is None else min(self.interval,
                                                               deadline - time.monotonic())
            time.sleep(max(0.0, pause))

    def __iter__(self) -> Iterator[JailEvent]:
        """Poll and yield the events, for ever."""
        while True:
            yield from self.read()

    def close(self) -> None:
        """Nothing to close."""

    def __enter__(self) -> PollingWatcher:
        """The watcher itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to close."""
        self.close()


def watch(jail: Jail | JailDescriptor | int | None = None,
          events: Events | int | Iterable[Events] = Events.ALL, *,
          children: bool | None = None, fallback: str = "error",
          interval: float = 1.0) -> Watcher | PollingWatcher:
    """A watcher of ``jail`` (None: the caller's own jail and every jail below
    it, followed as they come; a jail: that jail, and with ``children=True``
    the jails below it).  ``events`` picks among :class:`Events`.

    On a kernel without jail events, :class:`EventsNotSupportedError`, or
    with ``fallback="poll"`` a :class:`PollingWatcher` listing the jails
    every ``interval`` seconds."""
    if not isinstance(events, int):
        mask = 0
        for e in events:
            mask |= int(e)
        events = mask
    if fallback not in ("error", "poll"):
        raise ValueError(f"fallback must be 'error' or 'poll', not {fallback!r}")
    try:
        return watcher(jail, events, children=children)
    except EventsNotSupportedError:
        if fallback == "poll":
            jid = 0 if jail is None else int(jail) if isinstance(jail, int) else jail.jid
            return PollingWatcher(jid, int(events), interval)
        raise


def watcher(jail: Jail | JailDescriptor | int | None, events: Events | int, *,
            children: bool | None = None) -> Watcher:
    """A :class:`Watcher` with one registration (:meth:`Watcher.add`), its
    kqueue closed again when the registration fails."""
    w = Watcher()
    try:
        w.add(jail, events, children=children)
    except BaseException:
        w.close()
        raise
    return w
