"""Stateful testing: random sequences of jail operations against a Python oracle.

A hypothesis :class:`~hypothesis.stateful.RuleBasedStateMachine` drives the public
API (``Jail.create`` of top-level jails and of children with dotted names,
``Jail.update`` of ``host.hostname``, ``securelevel``, ``children.max`` and
``persist``, ``Jail.get``, ``jailcore.jails(dying=...)``, attaching in forked
children, ``Jail.remove``, ``JailDescriptor.create``/``open``/``get``/``close`` and
the model's ``hold``/``release``) and after every step compares what the host
shows with a small oracle of the jail tree written from the kernel specification
(``freebsd-jail-kernel.md`` sections 4-6 and 11): jids (including the automatic
allocation, where a creation that fails after the jid was chosen still uses it
up), full dotted names, parents, ``persist``, which jails are alive or dying,
``children.cur``, ``securelevel``, ``children.max`` and ``host.hostname``, and the
exact exception (class and errno) of every call expected to fail.

Bounds: by default 40 examples of up to 30 steps (well under a minute).  With
the environment variable ``JAILCORE_LONG=1`` (tox environment ``long``) it runs
400 examples of up to 80 steps.
"""

from __future__ import annotations

import errno
import os
import select
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import jailcore
import jailcore.model
from jailcore import (
    Jail,
    JailDescriptor,
    JailError,
    JailExistsError,
    JailFlag,
    JailNotFoundError,
    JailPermissionError,
)

LONG = os.environ.get("JAILCORE_LONG", "") not in ("", "0")
MAX_EXAMPLES = 400 if LONG else 40
STEPS = 80 if LONG else 30

COMPONENTS = ("a", "b", "c")
MAX_DEPTH = 3
HOST_CHILDREN_MAX = 999999
HOST_SECURELEVEL = -1
JAIL_MAX = 999999

#: An expected failure: the exception class and errno, or None for success.
Expected = tuple[type[JailError], int] | None


@dataclass
class OJail:
    """The oracle's picture of one jail that is still in the tree."""

    jid: int
    name: str
    parent: int
    persist: bool = True
    alive: bool = True
    holds: int = 0
    nproc: int = 0
    owners: int = 0
    securelevel: int = HOST_SECURELEVEL
    children_max: int = 0
    hostname: str = ""


class Oracle:
    """The jail tree as the specification says the host must see it."""

    def __init__(self) -> None:
        self.jails: dict[int, OJail] = {}
        self.gone: list[int] = []
        self.lastprid = 0
        self.lastdeadid = 0

    # -- lookups

    def alive_named(self, name: str) -> OJail | None:
        for j in self.jails.values():
            if j.alive and j.name == name:
                return j
        return None

    def depth(self, j: OJail) -> int:
        return j.name.count(".") + 1

    def children_of(self, jid: int) -> list[OJail]:
        return [j for j in self.jails.values() if j.parent == jid]

    def descendants(self, jid: int) -> list[tuple[OJail, int]]:
        out: list[tuple[OJail, int]] = []
        todo = [(c, 1) for c in self.children_of(jid)]
        while todo:
            c, d = todo.pop()
            out.append((c, d))
            todo.extend((g, d + 1) for g in self.children_of(c.jid))
        return out

    def parent_limits(self, j: OJail) -> tuple[int, int]:
        """(securelevel, children.max) of the jail's real parent (section 11)."""
        if j.parent == 0:
            return HOST_SECURELEVEL, HOST_CHILDREN_MAX
        p = self.jails[j.parent]
        return p.securelevel, p.children_max

    # -- creation (4.1 steps 26-34, 4.3, 4.8)

    def next_prid(self) -> int:
        """4.8: the first id not in use from (lastprid mod 999999) + 1 upward."""
        jid = self.lastprid % JAIL_MAX + 1
        while jid in self.jails:
            jid += 1
        self.lastprid = jid
        return jid

    def next_deadid(self) -> int:
        """4.8 (15.x): a new id for a dying jail, counting down from 999999."""
        jid = JAIL_MAX if self.lastdeadid == 0 else self.lastdeadid - 1
        while jid in self.jails:
            jid -= 1
        self.lastdeadid = jid
        return jid

    def create_numeric(self, name: str) -> tuple[Expected, OJail | None]:
        """A name whose last component is a number: that number is the jid
        asked for (4.1 step 24, 4.2, 4.8)."""
        prefix, _, last = name.rpartition(".")
        jid = int(last)
        old = self.jails.get(jid)
        if old is not None and old.alive:
            return (JailExistsError, errno.EEXIST), None
        parent: OJail | None = None
        if prefix:
            parent = self.alive_named(prefix)
            if parent is None:
                return (JailNotFoundError, errno.ENOENT), None
        if old is not None:  # dying: renumbered out of the way
            del self.jails[jid]
            old.jid = self.next_deadid()
            self.jails[old.jid] = old
            for c in self.children_of(jid):
                c.parent = old.jid
        p_slevel = parent.securelevel if parent else HOST_SECURELEVEL
        return None, OJail(jid, name, parent.jid if parent else 0, securelevel=p_slevel)

    def create(
        self, name: str, *, securelevel: int | None, children_max: int | None,
        persist: bool = True,
    ) -> tuple[Expected, OJail | None]:
        prefix, _, _ = name.rpartition(".")
        parent: OJail | None = None
        if prefix:
            parent = self.alive_named(prefix)
            if parent is None:
                return (JailNotFoundError, errno.ENOENT), None
        if self.alive_named(name) is not None:
            return (JailExistsError, errno.EEXIST), None
        # Step 27: the jid is allocated before the parent's constraints are checked.
        jid = self.next_prid()
        p_slevel = parent.securelevel if parent else HOST_SECURELEVEL
        p_cmax = parent.children_max if parent else HOST_CHILDREN_MAX
        if securelevel is not None and securelevel < p_slevel:
            return (JailPermissionError, errno.EPERM), None
        if children_max is not None and children_max >= p_cmax:
            return (JailPermissionError, errno.EPERM), None
        j = OJail(
            jid, name, parent.jid if parent else 0, persist=persist,
            securelevel=p_slevel if securelevel is None else securelevel,
            children_max=0 if children_max is None else children_max,
        )
        return None, j

    def add(self, j: OJail) -> None:
        self.jails[j.jid] = j
        if j.jid in self.gone:  # an explicit jid may take a freed one again
            self.gone.remove(j.jid)

    def current(self, j: OJail) -> OJail | None:
        """``j`` if it is still in the tree (its jid may have changed), else None."""
        return j if self.jails.get(j.jid) is j else None

    # -- updates (4.5)

    def set_securelevel(self, j: OJail, value: int) -> Expected:
        if value < self.parent_limits(j)[0]:
            return (JailPermissionError, errno.EPERM)
        j.securelevel = value
        for d, _ in self.descendants(j.jid):
            d.securelevel = max(d.securelevel, value)
        return None

    def set_children_max(self, j: OJail, value: int) -> Expected:
        if value >= self.parent_limits(j)[1]:
            return (JailPermissionError, errno.EPERM)
        j.children_max = value
        for d, depth in self.descendants(j.jid):
            d.children_max = min(d.children_max, max(value - depth, 0))
        return None

    # -- life and death (4.7, 6.2)

    def kill(self, j: OJail) -> None:
        """jail_remove(2) of an alive jail: it and its alive descendants die."""
        for d in [j] + [d for d, _ in self.descendants(j.jid)]:
            if d.alive:
                d.alive = False
                d.persist = False
        self.settle()

    def settle(self) -> None:
        changed = True
        while changed:
            changed = False
            for j in list(self.jails.values()):
                if self.children_of(j.jid) or j.nproc:
                    continue
                if j.alive and not j.persist:
                    j.alive = False
                    changed = True
                if not j.alive and j.holds == 0:
                    del self.jails[j.jid]
                    self.gone.append(j.jid)
                    changed = True

    def children_cur(self, jid: int) -> int:
        return len(self.descendants(jid))


def expect(expected: Expected, call: Callable[[], Any]) -> Any:
    """Run ``call``; it must succeed when ``expected`` is None, else raise exactly that."""
    if expected is None:
        return call()
    cls, code = expected
    with pytest.raises(JailError) as info:
        call()
    assert type(info.value) is cls, (info.value, expected)
    assert info.value.errno == code, (info.value, expected)
    return None


class JailTree(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        jailcore.model.reset()
        self.o = Oracle()
        self.descs: list[tuple[JailDescriptor, OJail]] = []

    def teardown(self) -> None:
        for d, _ in self.descs:
            d.close()
        jailcore.model.reset()

    # -- drawing

    def _name(self, data: st.DataObject) -> str:
        """A name to create: a top-level component or one under a jail of the tree
        (alive or dying, so that creation under a dying parent is tried)."""
        parents = sorted(
            {j.name for j in self.o.jails.values() if self.o.depth(j) < MAX_DEPTH}
        )
        comp = data.draw(st.sampled_from(COMPONENTS))
        if parents and data.draw(st.booleans()):
            return data.draw(st.sampled_from(parents)) + "." + comp
        return comp

    def _known_jid(self, data: st.DataObject, *, gone: bool = True) -> int:
        """A jid of the tree, now and then one that has been freed."""
        pool = sorted(self.o.jails)
        if gone and self.o.gone and (not pool or data.draw(st.integers(0, 5)) == 0):
            return data.draw(st.sampled_from(self.o.gone[-5:]))
        return data.draw(st.sampled_from(pool))

    # -- rules

    @rule(
        data=st.data(),
        securelevel=st.none() | st.integers(-1, 3),
        children_max=st.none() | st.integers(0, 4),
        hostname=st.none() | st.sampled_from(["h1", "h2"]),
    )
    def create(
        self, data: st.DataObject, securelevel: int | None, children_max: int | None,
        hostname: str | None,
    ) -> None:
        name = self._name(data)
        params: dict[str, Any] = {"name": name}
        if securelevel is not None:
            params["securelevel"] = securelevel
        if children_max is not None:
            params["children.max"] = children_max
        if hostname is not None:
            params["host.hostname"] = hostname
        exp, j = self.o.create(name, securelevel=securelevel, children_max=children_max)
        jail = expect(exp, lambda: Jail.create(params))
        if j is not None:
            assert jail.jid == j.jid
            j.hostname = hostname or ""
            self.o.add(j)

    @rule(data=st.data(), ahead=st.integers(1, 3))
    def create_with_numeric_name(self, data: st.DataObject, ahead: int) -> None:
        """A numeric name picks the jid: that of an alive jail (EEXIST), of a
        dying one (renumbered to make room), a freed one, or one not used yet."""
        pool = sorted(self.o.jails) + self.o.gone[-3:] + [self.o.lastprid + ahead]
        jid = data.draw(st.sampled_from(pool))
        prefix = self._name(data).rpartition(".")[0]
        name = f"{prefix}.{jid}" if prefix else str(jid)
        exp, j = self.o.create_numeric(name)
        jail = expect(exp, lambda: Jail.create(name=name))
        if j is not None:
            assert jail.jid == j.jid
            self.o.add(j)

    @rule(data=st.data(), owning=st.booleans())
    def create_with_descriptor(self, data: st.DataObject, owning: bool) -> None:
        name = self._name(data)
        exp, j = self.o.create(name, securelevel=None, children_max=None)
        desc = expect(exp, lambda: JailDescriptor.create(name=name, owning=owning))
        if j is not None:
            assert desc.jid == j.jid
            self.o.add(j)
            self.descs.append((desc, j))
            if owning:
                j.owners += 1

    @precondition(lambda self: self.o.jails)
    @rule(data=st.data(), value=st.integers(-1, 3))
    def update_securelevel(self, data: st.DataObject, value: int) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        if j is None or not j.alive:
            exp: Expected = (JailNotFoundError, errno.ENOENT)
        else:
            exp = self.o.set_securelevel(j, value)
        expect(exp, lambda: Jail(jid).update(securelevel=value))

    @precondition(lambda self: self.o.jails)
    @rule(data=st.data(), value=st.integers(0, 4))
    def update_children_max(self, data: st.DataObject, value: int) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        if j is None or not j.alive:
            exp: Expected = (JailNotFoundError, errno.ENOENT)
        else:
            exp = self.o.set_children_max(j, value)
        expect(exp, lambda: Jail(jid).update({"children.max": value}))

    @precondition(lambda self: self.o.jails)
    @rule(data=st.data(), hostname=st.sampled_from(["x", "y.example", ""]))
    def update_hostname(self, data: st.DataObject, hostname: str) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        exp: Expected = None
        if j is None or not j.alive:
            exp = (JailNotFoundError, errno.ENOENT)
        else:
            j.hostname = hostname
        expect(exp, lambda: Jail(jid).update(host__hostname=hostname))

    @precondition(lambda self: self.o.jails)
    @rule(data=st.data(), persist=st.booleans())
    def update_persist(self, data: st.DataObject, persist: bool) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        exp: Expected = None
        if j is None or not j.alive:
            exp = (JailNotFoundError, errno.ENOENT)
        expect(exp, lambda: Jail(jid).update(persist=persist))
        if exp is None:
            assert j is not None
            j.persist = persist
            self.o.settle()

    @precondition(lambda self: self.o.jails or self.o.gone)
    @rule(data=st.data(), by_name=st.booleans())
    def get(self, data: st.DataObject, by_name: bool) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        if by_name and j is not None:
            # By name the alive jail of that name wins; only a dying one is not found.
            match = self.o.alive_named(j.name)
            if match is None:
                expect((JailNotFoundError, errno.ENOENT), lambda: Jail.get(j.name))
            else:
                found = Jail.get(j.name)
                assert (found.jid, found.name) == (match.jid, match.name)
            return
        if j is None or not j.alive:
            expect((JailNotFoundError, errno.ENOENT), lambda: Jail.get(jid))
        else:
            found = Jail.get(jid)
            assert (found.jid, found.name) == (j.jid, j.name)
            assert found.parent == j.parent

    @precondition(lambda self: self.o.jails or self.o.gone)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        if j is None:
            expect((JailError, errno.EINVAL), lambda: Jail(jid).remove())
            return
        Jail(jid).remove()  # a dying jail: a silent no-op (6.2 step 3)
        if j.alive:
            self.o.kill(j)

    @precondition(lambda self: self.o.jails)
    @rule(data=st.data())
    def hold(self, data: st.DataObject) -> None:
        j = self.o.jails[self._known_jid(data, gone=False)]
        jailcore.model.hold(j.jid)
        j.holds += 1

    @precondition(lambda self: any(j.holds for j in self.o.jails.values()))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        held = sorted(jid for jid, j in self.o.jails.items() if j.holds)
        jid = data.draw(st.sampled_from(held))
        jailcore.model.release(jid)
        self.o.jails[jid].holds -= 1
        self.o.settle()

    # -- descriptors

    @precondition(lambda self: self.o.jails or self.o.gone)
    @rule(data=st.data(), owning=st.booleans())
    def open_descriptor(self, data: st.DataObject, owning: bool) -> None:
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        if j is None or not j.alive:
            expect((JailNotFoundError, errno.ENOENT), lambda: JailDescriptor.open(jid))
            return
        desc = JailDescriptor.open(jid, owning=owning)
        assert desc.jid == jid
        self.descs.append((desc, j))
        if owning:
            j.owners += 1

    @precondition(lambda self: self.descs)
    @rule(data=st.data())
    def descriptor_get(self, data: st.DataObject) -> None:
        desc, oj = data.draw(st.sampled_from(self.descs))
        j = self.o.current(oj)
        if j is None or not j.alive:
            expect((JailNotFoundError, errno.ENOENT), lambda: desc.get("name"))
        else:
            assert desc.get("name", "persist") == {"name": j.name, "persist": j.persist}

    @precondition(lambda self: self.descs)
    @rule(data=st.data())
    def close_descriptor(self, data: st.DataObject) -> None:
        i = data.draw(st.integers(0, len(self.descs) - 1))
        desc, oj = self.descs.pop(i)
        desc.close()
        j = self.o.current(oj)
        if desc.owning and j is not None:
            j.owners -= 1
            # Closing any owning descriptor file removes the jail (4.10), as seen
            # at the model's next call (section 11) -- the invariants make that call.
            if j.alive:
                self.o.kill(j)

    # -- processes

    @precondition(lambda self: self.o.jails or self.o.gone)
    @rule(data=st.data(), drop_persist=st.booleans())
    def attach_in_child(self, data: st.DataObject, drop_persist: bool) -> None:
        """A forked child attaches and waits; the test may clear persist while it
        lives (the jail stays: it has a process), then lets it exit and reaps it
        (a jail that neither persists nor has children then vanishes)."""
        jid = self._known_jid(data)
        j = self.o.jails.get(jid)
        with Child(lambda: jailcore.jail_attach(jid)) as child:
            if j is None or not j.alive:
                assert child.outcome == ("error", "JailError", errno.EINVAL)
                return
            assert child.outcome == ("ok", None)
            j.nproc += 1
            self.check_tree()
            if drop_persist:
                Jail(jid).update(persist=False)
                j.persist = False
                self.check_tree()  # still alive: a process is in it
        j.nproc -= 1
        self.o.settle()

    @rule(data=st.data())
    def create_and_attach_in_child(self, data: st.DataObject) -> None:
        """A forked child creates a jail that does not persist, attached to it
        (jail_set CREATE|ATTACH): the jail lives exactly as long as the child."""
        name = self._name(data)
        exp, j = self.o.create(name, securelevel=None, children_max=None, persist=False)
        flags = JailFlag.CREATE | JailFlag.ATTACH
        with Child(lambda: jailcore.jail_set({"name": name}, flags)) as child:
            if j is None:
                assert exp is not None
                assert child.outcome == ("error", exp[0].__name__, exp[1])
                return
            assert child.outcome == ("ok", j.jid)
            j.nproc = 1
            self.o.add(j)
            self.check_tree()
        j.nproc = 0
        self.o.settle()

    # -- the comparison

    @invariant()
    def check_tree(self) -> None:
        names = ("name", "parent", "persist", "dying", "children.cur",
                 "securelevel", "children.max", "host.hostname")
        compared = ("name", "parent", "persist", "dying", "children.cur")
        for dying in (False, True):
            seen = []
            for j in jailcore.jails(("name", "parent"), dying=dying):
                # name and parent as the iteration read them; the rest in one more call
                vals = jailcore.jail_get(j.jid, names, JailFlag.DYING)
                assert (j.name, j.parent) == (vals["name"], vals["parent"])
                seen.append((j.jid, vals))
            want = [
                (oj.jid, {
                    "name": oj.name,
                    "parent": oj.parent,
                    "persist": oj.persist,
                    "dying": not oj.alive,
                    "children.cur": self.o.children_cur(oj.jid),
                })
                for oj in sorted(self.o.jails.values(), key=lambda x: x.jid)
                if oj.alive or dying
            ]
            got = [(jid, {k: vals[k] for k in compared}) for jid, vals in seen]
            assert got == want, f"dying={dying}"
            for jid, vals in seen:
                oj = self.o.jails[jid]
                if oj.alive:
                    assert (vals["securelevel"], vals["children.max"], vals["host.hostname"]) == (
                        oj.securelevel, oj.children_max, oj.hostname), jid
        for jid in self.o.gone[-3:]:
            with pytest.raises(JailNotFoundError):
                jailcore.jail_get(jid, ["name"], JailFlag.DYING)


class Child:
    """A forked child that runs ``body``, reports its outcome, and stays alive
    (attached, if it attached) until the ``with`` block ends; then it exits and
    is reaped."""

    def __init__(self, body: Callable[[], Any]) -> None:
        self.body = body
        self.outcome: tuple[Any, ...] = ()

    def __enter__(self) -> Child:
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.close(up_r)
                os.close(down_w)
                try:
                    out = f"ok {self.body()}"
                except JailError as exc:
                    out = f"error {type(exc).__name__} {exc.errno}"
                except BaseException as exc:
                    out = f"error {type(exc).__name__} -1"
                os.write(up_w, out.encode() + b"\n")
                os.read(down_r, 1)  # until the parent closes its end
            finally:
                os._exit(0)
        os.close(up_w)
        os.close(down_r)
        self.pid, self._up, self._down = pid, up_r, down_w
        ready, _, _ = select.select([up_r], [], [], 30)
        assert ready, "the forked child did not report"
        line = os.read(up_r, 4096).decode().split()
        assert line, "the forked child exited without reporting"
        if line[0] == "ok":
            self.outcome = ("ok", None if line[1] == "None" else int(line[1]))
        else:
            self.outcome = ("error", line[1], int(line[2]))
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._down)
        os.close(self._up)
        _, status = os.waitpid(self.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0


def test_random_operations_agree_with_the_oracle() -> None:
    run_state_machine_as_test(
        JailTree,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
