"""kqueue jail events on a real FreeBSD kernel, as root: the model's tests of
issue 17 (tests/test_events.py, tests/model/test_kevent_model.py) where they
hold on FreeBSD.  On 15.0 and later, the events of a jail this test makes;
on 14.x, EventsNotSupportedError and the polling fallback.  Other jails on
the machine may cause events too: the tests look only at their own jail.
Skipped (visibly) elsewhere."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

import jailcore
from jailcore import Jail, JailDescriptor
from jailcore.events import (
    EventsNotSupportedError,
    JailAttached,
    JailChanged,
    JailCreated,
    JailRemoved,
    PollingWatcher,
)

pytestmark = pytest.mark.kernel


def _has_events() -> bool:
    try:
        jailcore.watch(children=False).close()
    except EventsNotSupportedError:
        return False
    return True


@pytest.fixture
def name() -> Iterator[str]:
    n = f"jcev{secrets.token_hex(4)}"
    yield n
    try:
        Jail.get(n).remove()
    except OSError:
        pass


def _mine(events: list[object], jid: int) -> list[object]:
    return [e for e in events
            if getattr(e, "jid", None) == jid or getattr(e, "child", None) == jid]


def test_events_of_a_jail(name: str) -> None:
    if not _has_events():
        pytest.skip("this kernel has no jail events (FreeBSD 14)")
    with jailcore.watch(children=False) as w:
        jail = Jail.create(name=name, path="/")
        got = []
        for _ in range(50):
            got += _mine(w.read(1), jail.jid)
            if got:
                break
        assert JailCreated(0, jail.jid) in got
    with jail.watch() as w:
        jail.update(host__hostname=f"{name}.example")
        assert w.read(5) == [JailChanged(jail.jid)]
        proc = jail.spawn(["sleep", "0"])
        proc.wait()
        assert w.read(5) == [JailAttached(jail.jid, proc.pid)]
        jail.remove()
        assert w.read(5) == [JailRemoved(jail.jid)]


def test_descriptor_of_a_dead_jail(name: str) -> None:
    if not _has_events():
        pytest.skip("this kernel has no jail events (FreeBSD 14)")
    desc = JailDescriptor.create(name=name, path="/", owning=False)
    try:
        jid = desc.jid
        desc.jail().remove()
        with desc.watch() as w:
            assert w.read(5) == [JailRemoved(jid)]
    finally:
        desc.close()


def test_freebsd_14_falls_back(name: str) -> None:
    if _has_events():
        pytest.skip("this kernel has jail events (FreeBSD 15)")
    with pytest.raises(EventsNotSupportedError):
        jailcore.watch()
    w = jailcore.watch(fallback="poll", interval=0.2)
    assert isinstance(w, PollingWatcher)
    jail = Jail.create(name=name, path="/")
    assert JailCreated(0, jail.jid) in w.read(5)
