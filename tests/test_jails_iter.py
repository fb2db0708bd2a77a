"""jailcore.jails(): every visible jail, in jid order, one jail_get(2) per jail."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kernel.forking import result_in_child

import jailcore
import jailcore.model
from jailcore import Jail, JailFlag, _backend
from jailcore.jail import DEFAULT_LIST_PARAMS
from jailcore.params import all_params


class GetCalls:
    """Records the flags of every jail_get(2) jailcore makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.flags: list[int] = []
        real = _backend.jail_get

        def call(iov: Any, niov: int, flags: int) -> Any:
            self.flags.append(flags)
            return real(iov, niov, flags)

        monkeypatch.setattr(_backend, "jail_get", call)

    def __len__(self) -> int:
        return len(self.flags)


@pytest.fixture
def gets(monkeypatch: pytest.MonkeyPatch) -> Iterator[GetCalls]:
    all_params()  # discovery is sysctl, but keep it out of the way
    yield GetCalls(monkeypatch)


def test_empty_host_yields_nothing(gets: GetCalls) -> None:
    assert list(jailcore.jails()) == []
    assert list(jailcore.jails(dying=True)) == []
    assert len(gets) == 2  # one call each, answered "no jail after 0"


def test_jails_is_a_lazy_iterator() -> None:
    it = jailcore.jails()
    assert inspect.isgenerator(it) or iter(it) is it
    Jail.create(name="late")
    assert [j.name for j in it] == ["late"]


def test_jid_order_whatever_the_creation_order() -> None:
    Jail.create(name="c", jid=30)
    Jail.create(name="a", jid=10)
    Jail.create(name="b", jid=20)
    Jail.create(name="d")
    got = [(j.jid, j.name) for j in jailcore.jails()]
    assert got == [(1, "d"), (10, "a"), (20, "b"), (30, "c")]


def test_yields_jail_objects_carrying_the_default_params(gets: GetCalls, tmp_path: Any) -> None:
    Jail.create(name="web", path=str(tmp_path), host__hostname="web.example")
    Jail.create(name="db")
    listed = list(jailcore.jails())
    assert all(isinstance(j, Jail) for j in listed)
    assert DEFAULT_LIST_PARAMS == ("name", "path", "host.hostname")
    n = len(gets)
    assert [(j.name, j.path) for j in listed] == [("web", str(tmp_path)), ("db", "/")]
    assert [repr(j) for j in listed] == [
        f"<Jail 1 'web' path='{tmp_path}'>",
        "<Jail 2 'db' path='/'>",
    ]
    assert len(gets) == n  # carried: no further call


def test_carries_the_requested_params_one_call_per_jail(gets: GetCalls) -> None:
    Jail.create(name="a", children__max=2)
    Jail.create(name="a.b")
    Jail.create(name="c")
    listed = list(jailcore.jails(("name", "parent", "host.hostname", "ip4.addr")))
    assert len(gets) == 3 + 1  # one per jail, then "no jail after 3"
    assert gets.flags == [0, 0, 0, 0]
    n = len(gets)
    assert [(j.jid, j.name, j.parent) for j in listed] == [(1, "a", 0), (2, "a.b", 1), (3, "c", 0)]
    assert len(gets) == n


def test_all_params_in_one_call_per_jail(gets: GetCalls) -> None:
    Jail.create(name="a", ip4__addr=["192.0.2.1"], ip6__addr=["2001:db8::1"])
    Jail.create(name="b")
    listed = list(jailcore.jails(all_params()))
    assert len(gets) == 3
    assert [j.name for j in listed] == ["a", "b"]


def test_jid_requested_explicitly_is_not_doubled() -> None:
    Jail.create(name="a")
    assert [(j.jid, j.name) for j in jailcore.jails(("jid", "name"))] == [(1, "a")]


def test_params_as_a_list() -> None:
    Jail.create(name="a", host__hostname="h")
    (jail,) = jailcore.jails(["name", "host.hostname"])
    assert jail.name == "a"


def test_dying_jails_only_with_dying_true(gets: GetCalls) -> None:
    alive = Jail.create(name="alive")
    gone = Jail.create(name="gone")
    later = Jail.create(name="later")
    jailcore.model.hold(gone.jid)
    gone.remove()
    assert list(jailcore.jails()) == [alive, later]
    del gets.flags[:]
    with_dying = list(jailcore.jails(("name",), dying=True))
    assert with_dying == [alive, gone, later]
    assert all(f & JailFlag.DYING for f in gets.flags)
    assert [j.dying for j in with_dying] == [False, True, False]
    assert with_dying[1].name == "gone"
    jailcore.model.release(gone.jid)
    assert list(jailcore.jails(dying=True)) == [alive, later]


def test_dying_false_is_the_default() -> None:
    sig = inspect.signature(jailcore.jails)
    assert sig.parameters["dying"].default is False
    assert sig.parameters["dying"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("which", ["current", "next", "earlier"])
def test_a_jail_removed_during_iteration_does_not_break_it(which: str) -> None:
    jails = [Jail.create(name=n) for n in ("a", "b", "c", "d")]
    seen = []
    it = jailcore.jails()
    first = next(it)
    seen.append(first.name)
    victim: Callable[[], Jail] = {
        "current": lambda: first,
        "next": lambda: jails[1],
        "earlier": lambda: jails[0],
    }[which]
    victim().remove()
    seen += [j.name for j in it]
    expected = {
        "current": ["a", "b", "c", "d"],
        "next": ["a", "c", "d"],
        "earlier": ["a", "b", "c", "d"],
    }[which]
    assert seen == expected


def test_a_jail_created_during_iteration_appears_after_its_predecessors() -> None:
    Jail.create(name="a")
    Jail.create(name="b")
    names = []
    for jail in jailcore.jails():
        names.append(jail.name)
        if jail.name == "a":
            Jail.create(name="c")
    assert names == ["a", "b", "c"]


def test_removing_every_jail_while_iterating() -> None:
    for n in ("a", "b", "c"):
        Jail.create(name=n)
    removed = []
    for jail in jailcore.jails():
        jail.remove()
        removed.append(jail.name)
    assert removed == ["a", "b", "c"]
    assert list(jailcore.jails()) == []


def test_unknown_param_is_value_error() -> None:
    Jail.create(name="a")
    with pytest.raises(ValueError, match="unknown parameter: nosuch"):
        list(jailcore.jails(("name", "nosuch")))


def test_listing_from_inside_a_jail_is_its_subtree_with_relative_names() -> None:
    a = Jail.create(name="a", children__max=2)
    Jail.create(name="a.b", children__max=1)
    Jail.create(name="a.b.c")
    Jail.create(name="z")

    def body() -> list[Any]:
        a.attach()
        return [(j.jid, j.name, j.parent) for j in jailcore.jails(("name", "parent"))]

    assert result_in_child(body) == [[2, "b", 0], [3, "b.c", 2]]


def test_listed_jails_carry_their_values_without_another_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """jails(params) yields jails whose values are read in the listing: indexing and
    .values answer from them; a name not carried is read on demand."""
    import jailcore._backend as backend

    Jail.create(name="a", host__hostname="ha")
    Jail.create(name="b", host__hostname="hb")
    listed = list(jailcore.jails(("name", "host.hostname")))
    calls = []
    real = backend.jail_get
    monkeypatch.setattr(backend, "jail_get", lambda *a: calls.append(a) or real(*a))
    assert [(j["name"], j["host.hostname"]) for j in listed] == [("a", "ha"), ("b", "hb")]
    assert listed[0].values == {"jid": listed[0].jid, "name": "a", "host.hostname": "ha"}
    assert calls == []
    assert listed[0]["persist"] is True
    assert len(calls) == 1
    assert listed[0].values["persist"] is True
