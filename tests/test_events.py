"""Watching jails from Python (issue 17): jailcore.watch, Jail.watch,
JailDescriptor.watch and jailcore.aio.watch on the model, their typed events,
following new jails, fork safety, FreeBSD 14 and the polling fallback."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys

import pytest
from forked import in_child, need_root

import jailcore
import jailcore.aio
import jailcore.model
from jailcore import Jail, JailDescriptor
from jailcore.events import (
    Events,
    EventsNotSupportedError,
    JailAttached,
    JailChanged,
    JailCreated,
    JailRemoved,
    PollingWatcher,
    Watcher,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(jailcore.__file__)))


def test_watch_the_host_and_follow_new_jails() -> None:
    old = Jail.create(name="old", path="/")
    with jailcore.watch() as w:
        assert isinstance(w, Watcher)
        assert w.read(0) == []
        web = Jail.create(name="web", path="/")
        assert w.read(0) == [JailCreated(0, web.jid)]
        # Both the jail that was there and the new one are watched.
        web.update(host__hostname="web.example")
        old.update(host__hostname="old.example")
        assert sorted(w.read(0)) == sorted([JailChanged(web.jid), JailChanged(old.jid)])
        db = Jail.create(name="web.db", path="/")
        assert w.read(0) == [JailCreated(web.jid, db.jid)]
        proc = db.spawn(["sleep", "0"])
        proc.wait()
        assert w.read(0) == [JailAttached(db.jid, proc.pid)]
        web.remove()
        assert sorted(w.read(0)) == [JailRemoved(web.jid), JailRemoved(db.jid)]


def test_multiple() -> None:
    with jailcore.watch(events=Events.CREATED) as w:
        Jail.create(name="a", path="/")
        Jail.create(name="b", path="/")
        assert w.read(0) == [JailCreated(0, None, multiple=True)]
        # Both are followed all the same (the watcher looked for them).
        Jail.create(name="a.x", path="/")
        assert w.read(0) == [JailCreated(Jail.get("a").jid, Jail.get("a.x").jid)]


def test_jail_watch_only_that_jail() -> None:
    web = Jail.create(name="web", path="/")
    other = Jail.create(name="other", path="/")
    with web.watch(Events.CHANGED | Events.REMOVED) as w:
        other.update(host__hostname="x")
        web.spawn(["sleep", "0"]).wait()           # not asked for
        assert w.read(0) == []
        web.update(host__hostname="y")
        web.remove()
        assert w.read(0) == [JailChanged(web.jid), JailRemoved(web.jid)]


def test_descriptor_watch() -> None:
    desc = JailDescriptor.create(name="web", path="/", owning=False)
    try:
        with desc.watch() as w:
            desc.jail().update(host__hostname="x")
            assert w.read(0) == [JailChanged(desc.jid)]
            desc.jail().remove()
            assert w.read(0) == [JailRemoved(desc.jid)]
    finally:
        desc.close()


def test_iterating_and_select() -> None:
    with jailcore.watch() as w:
        assert not select.select([w], [], [], 0)[0]
        web = Jail.create(name="web", path="/")
        assert select.select([w], [], [], 5)[0] == [w]
        assert next(iter(w)) == JailCreated(0, web.jid)


def test_an_event_of_another_process() -> None:
    with jailcore.watch() as w:
        done = subprocess.run([sys.executable, "-m", "jailcore", "create", "web", "path=/"],
                              cwd="/", env={**os.environ, "PYTHONPATH": ROOT},
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert w.read(10) == [JailCreated(0, Jail.get("web").jid)]


def test_timeout() -> None:
    with jailcore.watch() as w:
        assert w.read(0.05) == []


def test_a_watcher_does_not_cross_fork() -> None:
    need_root()
    w = jailcore.watch()

    def child() -> str:
        try:
            w.read(0)
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    try:
        assert in_child(child) == ("a watcher is a kqueue, which a forked child does not "
                                   "inherit: make a new one in the child")
    finally:
        w.close()


def test_closed() -> None:
    w = jailcore.watch()
    w.close()
    assert w.closed
    with pytest.raises(ValueError, match="closed watcher"):
        w.read(0)
    w.close()


def test_unknown_jail() -> None:
    with pytest.raises(jailcore.JailNotFoundError) as exc:
        jailcore.watch(999)
    assert str(exc.value) == "kevent: No such file or directory [ENOENT]"


def test_freebsd_14_and_the_fallback() -> None:
    jailcore.model.set_version(14)
    with pytest.raises(EventsNotSupportedError) as exc:
        jailcore.watch()
    assert "FreeBSD 15.0 or later" in str(exc.value)
    w = jailcore.watch(fallback="poll", interval=0.01)
    assert isinstance(w, PollingWatcher)
    web = Jail.create(name="web", path="/")
    assert w.read(1) == [JailCreated(0, web.jid)]
    web.update(host__hostname="x")
    assert w.read(1) == [JailChanged(web.jid)]
    web.remove()
    assert w.read(1) == [JailRemoved(web.jid)]
    assert w.read(0.02) == []


def test_asyncio_many_watchers() -> None:
    async def main() -> tuple[int, list[object], list[list[object]]]:
        watchers = [await jailcore.aio.watch() for _ in range(20)]
        web = Jail.create(name="web", path="/")
        got: list[object] = [await asyncio.wait_for(w.__anext__(), 5) for w in watchers]
        web.remove()
        removed: list[list[object]] = [list(await w.read(5)) for w in watchers]
        for w in watchers:
            w.close()
        return web.jid, got, removed

    jid, got, removed = asyncio.run(main())
    assert got == [JailCreated(0, jid)] * 20
    assert removed == [[JailRemoved(jid)]] * 20


def test_asyncio_never_blocks_the_loop() -> None:
    async def main() -> tuple[int, list[object]]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.create_task(ticker())
        async with await jailcore.aio.watch() as w:
            loop = asyncio.get_running_loop()
            loop.call_later(0.3, lambda: Jail.create(name="web", path="/"))
            events = await w.read()
        t.cancel()
        return ticks, events

    ticks, events = asyncio.run(main())
    assert ticks >= 10
    assert events == [JailCreated(0, Jail.get("web").jid)]


def test_a_jail_created_and_removed_between_two_reads() -> None:
    # Its knote could not be registered before it went: the watcher says so.
    with jailcore.watch() as w:
        jail = Jail.create(name="brief", path="/")
        jail.remove()
        assert w.read(0) == [JailCreated(0, jail.jid), JailRemoved(jail.jid)]
    with jailcore.watch(events=Events.CREATED) as w:
        jail = Jail.create(name="brief2", path="/")
        jail.remove()
        assert w.read(0) == [JailCreated(0, jail.jid)]


def test_watchers_made_by_threads_at_once() -> None:
    import threading

    watchers: list[Watcher] = []
    lock = threading.Lock()

    def make() -> None:
        w = jailcore.watch(children=False)
        with lock:
            watchers.append(w)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert len({w.fileno() for w in watchers}) == 16
        jail = Jail.create(name="web", path="/")
        assert all(w.read(5) == [JailCreated(0, jail.jid)] for w in watchers)
    finally:
        for w in watchers:
            w.close()


def test_a_jail_and_the_jails_below_it() -> None:
    web = Jail.create(name="web", path="/")
    db = Jail.create(name="web.db", path="/")
    cache = Jail.create(name="web.db.cache", path="/")
    other = Jail.create(name="other", path="/")
    with web.watch(Events.CHANGED, children=True) as w:
        for jail in (web, db, cache, other):
            jail.update(host__hostname="x")
        assert sorted(w.read(0)) == sorted([JailChanged(web.jid), JailChanged(db.jid),
                                            JailChanged(cache.jid)])


def test_polling_one_jail_and_those_below_it() -> None:
    web = Jail.create(name="web", path="/")
    Jail.create(name="other", path="/")
    w = PollingWatcher(web.jid, int(Events.ALL), 0.01)
    db = Jail.create(name="web.db", path="/")
    Jail.create(name="other.x", path="/")
    assert w.read(1) == [JailCreated(web.jid, db.jid)]
