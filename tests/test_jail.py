"""The Jail object on the model: creating, finding, reading, changing, exporting, removing."""

from __future__ import annotations

import errno
import ipaddress
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel.forking import in_child, result_in_child
from kernel.jail_scenarios import SCENARIOS, unique_name

import jailcore
import jailcore.model
from jailcore import (
    Jail,
    JailError,
    JailExistsError,
    JailNotFoundError,
    JailPermissionError,
    JailSys,
    _backend,
)
from jailcore.params import Access, all_params, spec

# ---- helpers -------------------------------------------------------------------------


class Calls:
    """Counts the system calls jailcore makes through its backend."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = {"jail_get": 0, "jail_set": 0}
        for op in self.count:
            real = getattr(_backend, op)
            monkeypatch.setattr(_backend, op, self._counting(op, real))

    def _counting(self, op: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.count[op] += 1
            return real(*args)

        return call

    @property
    def get(self) -> int:
        return self.count["jail_get"]

    @property
    def set(self) -> int:
        return self.count["jail_set"]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    # Discover the parameters first, so that only jail calls are counted.
    all_params()
    yield Calls(monkeypatch)


@pytest.fixture
def jpath(tmp_path: Path) -> str:
    p = tmp_path / "web"
    p.mkdir()
    return str(p)


# ---- the core scenarios (also run against a real kernel in tests/kernel/) -------------


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_kernel_scenario_on_the_model(scenario: Callable[[str, str], None], jpath: str) -> None:
    scenario(jpath, unique_name())
    assert list(jailcore.jails()) == []


# ---- create ---------------------------------------------------------------------------


def test_create_with_a_mapping_of_dotted_names(jpath: str) -> None:
    jail = Jail.create(
        {"name": "web", "path": jpath, "host.hostname": "web.example", "allow.raw_sockets": True}
    )
    assert jail.get("name", "path", "host.hostname", "allow.raw_sockets") == {
        "name": "web",
        "path": jpath,
        "host.hostname": "web.example",
        "allow.raw_sockets": True,
    }


def test_create_with_keywords_double_underscore_is_the_dot(jpath: str) -> None:
    jail = Jail.create(
        name="web",
        path=jpath,
        host__hostname="web.example",
        allow__raw_sockets=True,
        children__max=3,
    )
    assert jail.get("host.hostname", "allow.raw_sockets", "children.max") == {
        "host.hostname": "web.example",
        "allow.raw_sockets": True,
        "children.max": 3,
    }


def test_create_with_mapping_and_keywords_together(jpath: str) -> None:
    jail = Jail.create({"host.hostname": "h"}, name="web", path=jpath)
    assert jail.get("name", "host.hostname", "path") == {
        "name": "web",
        "host.hostname": "h",
        "path": jpath,
    }


def test_create_returns_a_jail_with_the_new_jid() -> None:
    a = Jail.create(name="a")
    b = Jail.create(name="b")
    assert isinstance(a, Jail)
    assert (a.jid, b.jid) == (1, 2)
    assert Jail.create(name="c", jid=7).jid == 7


def test_create_persists_by_default() -> None:
    jail = Jail.create(name="web")
    assert jail.get("persist") == {"persist": True}
    assert jail.params["persist"] is True


def test_create_explicit_persist_true() -> None:
    assert Jail.create(name="web", persist=True).get("persist") == {"persist": True}


@pytest.mark.parametrize("kw", [{"persist": False}, {"nopersist": True}])
def test_create_without_persist_is_the_kernels_einval(kw: dict[str, bool]) -> None:
    with pytest.raises(JailError) as info:
        Jail.create(name="web", **kw)
    err = info.value
    assert type(err) is JailError
    assert err.errno == errno.EINVAL
    assert err.errmsg == "new jail must persist or attach"
    assert err.operation == "jail_set"
    assert list(jailcore.jails()) == []


def test_create_nopersist_in_a_mapping_is_respected() -> None:
    with pytest.raises(JailError) as info:
        Jail.create({"name": "web", "nopersist": True})
    assert info.value.errmsg == "new jail must persist or attach"


def test_create_duplicate_name_is_jail_exists_error() -> None:
    Jail.create(name="web")
    with pytest.raises(JailExistsError) as info:
        Jail.create(name="web")
    err = info.value
    assert isinstance(err, FileExistsError)
    assert isinstance(err, JailError)
    assert err.errno == errno.EEXIST
    assert err.errmsg == 'jail "web" already exists'
    assert str(err) == 'jail_set: jail "web" already exists [EEXIST]'
    assert [j.name for j in jailcore.jails()] == ["web"]


def test_create_same_name_in_mapping_and_keyword_is_type_error(calls: Calls) -> None:
    with pytest.raises(TypeError, match=r"host\.hostname"):
        Jail.create({"host.hostname": "a"}, host__hostname="b")
    with pytest.raises(TypeError, match="'name'"):
        Jail.create({"name": "a"}, name="b")
    assert calls.set == 0
    assert list(jailcore.jails()) == []


def test_create_rejects_a_non_mapping(calls: Calls) -> None:
    with pytest.raises(TypeError):
        Jail.create([("name", "web")])  # type: ignore[arg-type]
    assert calls.set == 0


def test_create_makes_one_jail_set_call(calls: Calls) -> None:
    Jail.create(name="web", host__hostname="h", ip4__addr=["192.0.2.1"])
    assert calls.set == 1


def test_create_with_unknown_parameter_is_value_error() -> None:
    with pytest.raises(ValueError, match=r"^unknown parameter: no__such$"):
        Jail.create(name="web", no__such=1)


# ---- get and the identity properties --------------------------------------------------


def test_get_by_jid_name_and_digit_string(jpath: str) -> None:
    web = Jail.create(name="web", path=jpath)
    seven = Jail.create(name="seven", jid=7)
    assert Jail.get(web.jid) == web
    assert Jail.get("web") == web
    assert Jail.get("7") == seven
    assert Jail.get("7").name == "seven"
    assert Jail.get(str(web.jid)).name == "web"
    got = Jail.get("web")
    assert (got.jid, got.name, got.path) == (web.jid, "web", jpath)


def test_get_absent_name_is_not_found_with_the_kernels_message() -> None:
    with pytest.raises(JailNotFoundError) as info:
        Jail.get("nope")
    err = info.value
    assert isinstance(err, FileNotFoundError)
    assert err.errno == errno.ENOENT
    assert err.errmsg == 'jail "nope" not found'
    assert err.operation == "jail_get"
    assert str(err) == 'jail_get: jail "nope" not found [ENOENT]'


@pytest.mark.parametrize("key", [42, "42"])
def test_get_absent_jid_is_not_found(key: int | str) -> None:
    Jail.create(name="web")
    with pytest.raises(JailNotFoundError) as info:
        Jail.get(key)
    assert info.value.errmsg == "jail 42 not found"


def test_get_a_removed_jail_is_not_found() -> None:
    web = Jail.create(name="web")
    web.remove()
    with pytest.raises(JailNotFoundError) as info:
        Jail.get(web.jid)
    assert info.value.errmsg == f"jail {web.jid} not found"


def test_properties(jpath: str) -> None:
    web = Jail.create(name="web", path=jpath)
    db = Jail.create(name="web.db")
    assert web.jid == 1
    assert web.name == "web"
    assert web.path == jpath
    assert web.parent == 0
    assert web.dying is False
    assert db.name == "web.db"
    assert db.parent == web.jid
    assert db.path == "/"


def test_dying_is_read_each_time() -> None:
    web = Jail.create(name="web")
    jailcore.model.hold(web.jid)
    assert web.dying is False
    web.remove()
    assert web.dying is True
    assert Jail(web.jid).parent == 0  # still readable while dying
    jailcore.model.release(web.jid)
    assert web.dying is True  # freed: gone for good


def test_jail_made_from_a_jid() -> None:
    web = Jail.create(name="web")
    assert Jail(web.jid).name == "web"
    assert Jail(web.jid) == web


# ---- reading parameters -----------------------------------------------------------------


def test_params_reads_every_parameter_in_one_call(jpath: str, calls: Calls) -> None:
    web = Jail.create(
        name="web",
        path=jpath,
        host__hostname="web.example",
        ip4__addr=["192.0.2.2", "192.0.2.1"],
        ip6__addr=["2001:db8::1"],
    )
    before = calls.get
    params = web.params
    assert calls.get - before == 1
    assert list(params) == list(all_params())
    assert isinstance(params, jailcore.Params)
    assert isinstance(params, dict)
    assert params["jid"] == web.jid
    assert params["name"] == "web"
    assert params["path"] == jpath
    assert params["host.hostname"] == "web.example"
    assert params["ip4.addr"] == (
        ipaddress.IPv4Address("192.0.2.2"),
        ipaddress.IPv4Address("192.0.2.1"),
    )
    assert params["ip6.addr"] == (ipaddress.IPv6Address("2001:db8::1"),)
    assert params["persist"] is True
    assert params["dying"] is False
    assert params["parent"] == 0
    assert params["children.cur"] == 0
    assert params["vnet"] is JailSys.INHERIT
    assert params["host"] is JailSys.NEW
    assert params["allow.set_hostname"] is True
    assert params["allow.raw_sockets"] is False
    assert params["meta"] == {}


def test_params_with_many_addresses_still_read_right(calls: Calls) -> None:
    # More addresses than a first guess at the buffer: size negotiation, same values.
    addrs = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(40)]
    web = Jail.create(name="web", ip4__addr=addrs)
    got = web.params["ip4.addr"]
    assert got[0] == ipaddress.IPv4Address(addrs[0])
    assert sorted(got) == sorted(ipaddress.IPv4Address(a) for a in addrs)


def test_get_names_is_one_call(calls: Calls) -> None:
    web = Jail.create(name="web", host__hostname="h", children__max=4)
    before = calls.get
    got = web.get("host.hostname", "children.max", "persist", "nopersist")
    assert calls.get - before == 1
    assert got == {
        "host.hostname": "h",
        "children.max": 4,
        "persist": True,
        "nopersist": False,
    }


def test_get_names_of_a_removed_jail_is_not_found() -> None:
    web = Jail.create(name="web")
    web.remove()
    with pytest.raises(JailNotFoundError) as info:
        web.get("name")
    assert info.value.errmsg == f"jail {web.jid} not found"


def test_get_unknown_name_is_value_error() -> None:
    web = Jail.create(name="web")
    with pytest.raises(ValueError, match="unknown parameter: nosuchparam"):
        web.get("nosuchparam")


def test_meta_keys_read_and_write() -> None:
    web = Jail.create(name="web", meta={"owner": "ops"})
    assert web.get("meta", "meta.owner", "meta.absent") == {
        "meta": {"owner": "ops"},
        "meta.owner": "ops",
        "meta.absent": None,
    }
    web.update(meta__team="core")
    assert web.get("meta") == {"meta": {"owner": "ops", "team": "core"}}


# ---- update, refresh --------------------------------------------------------------------


def test_update_with_keywords_returns_the_jail_and_changes_values() -> None:
    web = Jail.create(name="web", host__hostname="old")
    assert web.update(host__hostname="new", allow__raw_sockets=True) is web
    assert Jail.get("web").get("host.hostname", "allow.raw_sockets") == {
        "host.hostname": "new",
        "allow.raw_sockets": True,
    }


def test_update_with_a_mapping(calls: Calls) -> None:
    web = Jail.create(name="web")
    before = calls.set
    assert web.update({"host.hostname": "h", "children.max": 2}) is web
    assert calls.set - before == 1
    assert web.get("host.hostname", "children.max") == {"host.hostname": "h", "children.max": 2}


def test_update_false_sends_the_no_form() -> None:
    web = Jail.create(name="web", allow__raw_sockets=True)
    web.update(allow__raw_sockets=False)
    assert web.get("allow.raw_sockets", "allow.noraw_sockets") == {
        "allow.raw_sockets": False,
        "allow.noraw_sockets": True,
    }


def test_update_rename_is_seen_by_the_object_without_refresh() -> None:
    web = Jail.create(name="web")
    assert web.name == "web"
    web.update(name="www")
    assert web.name == "www"
    assert Jail.get("www") == web


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("path", "/", "path cannot be changed after creation"),
        ("osrelease", "13.0-RELEASE", "osrelease cannot be changed after creation"),
        ("osreldate", 1300000, "osreldate cannot be changed after creation"),
        ("vnet", "new", "vnet cannot be changed after creation"),
        ("ip4", "inherit", "ip4 cannot be changed after creation"),
    ],
)
def test_update_of_a_create_only_parameter_is_the_kernels_einval(
    param: str, value: Any, message: str
) -> None:
    web = Jail.create(name="web")
    with pytest.raises(JailError) as info:
        web.update({param: value})
    err = info.value
    assert type(err) is JailError
    assert err.errno == errno.EINVAL
    assert err.errmsg == message
    assert str(err) == f"jail_set: {message} [EINVAL]"


def test_update_of_a_read_only_parameter_is_value_error(calls: Calls) -> None:
    web = Jail.create(name="web")
    before = calls.set
    with pytest.raises(ValueError, match=r"children\.cur"):
        web.update(children__cur=3)
    assert calls.set == before


def test_update_jid_is_type_error() -> None:
    web = Jail.create(name="web")
    with pytest.raises(TypeError, match="jid"):
        web.update(jid=5)


def test_update_same_name_twice_is_type_error() -> None:
    web = Jail.create(name="web")
    with pytest.raises(TypeError):
        web.update({"host.hostname": "a"}, host__hostname="b")


def test_update_of_a_removed_jail_is_not_found() -> None:
    web = Jail.create(name="web")
    web.remove()
    with pytest.raises(JailNotFoundError) as info:
        web.update(host__hostname="x")
    assert info.value.errmsg == f"jail {web.jid} not found"


def test_refresh_reads_again_what_the_object_holds(calls: Calls) -> None:
    web = Jail.create(name="web")
    seen = Jail.get("web")
    assert seen.name == "web"
    web.update(name="www")
    assert seen.name == "web"  # kept as of the last read
    before = calls.get
    assert seen.refresh() is seen
    assert calls.get - before == 1
    assert seen.name == "www"


def test_refresh_of_a_removed_jail_is_not_found() -> None:
    web = Jail.create(name="web")
    web.remove()
    with pytest.raises(JailNotFoundError):
        web.refresh()


# ---- remove, attach ---------------------------------------------------------------------


def test_remove_removes_the_jail_and_its_descendants() -> None:
    web = Jail.create(name="web", children__max=2)
    db = Jail.create(name="web.db", children__max=1)
    cache = Jail.create(name="web.db.cache")
    other = Jail.create(name="other")
    assert web.remove() is None
    for key in ("web", "web.db", "web.db.cache", web.jid, db.jid, cache.jid):
        with pytest.raises(JailNotFoundError):
            Jail.get(key)
    assert list(jailcore.jails()) == [other]


def test_remove_twice_is_an_error() -> None:
    web = Jail.create(name="web")
    web.remove()
    with pytest.raises(JailError) as info:
        web.remove()
    assert info.value.errno == errno.EINVAL
    assert info.value.operation == "jail_remove"


def test_attach_in_a_forked_child(jpath: str) -> None:
    web = Jail.create(name="web", path=jpath)

    def body() -> int:
        web.attach()
        return jailcore.model.current_jid()

    assert result_in_child(body) == web.jid
    assert jailcore.model.current_jid() == 0


def test_attach_is_documented_as_one_way() -> None:
    doc = Jail.attach.__doc__ or ""
    assert "one way" in doc.lower()
    assert "cannot leave" in doc


def test_attach_to_a_removed_jail_is_einval() -> None:
    web = Jail.create(name="web")
    web.remove()

    def body() -> None:
        web.attach()

    out = in_child(body)
    assert out["exception"]["raised"] == "JailError"
    assert out["exception"]["errno"] == errno.EINVAL


# ---- children and the hierarchy ---------------------------------------------------------


def test_children_are_the_direct_children_in_jid_order() -> None:
    web = Jail.create(name="web", children__max=5)
    b = Jail.create(name="web.b")
    a = Jail.create(name="web.a", children__max=1)
    Jail.create(name="web.a.x")
    other = Jail.create(name="other")
    assert web.children() == [b, a]
    assert [c.name for c in web.children()] == ["web.b", "web.a"]
    assert [c.name for c in a.children()] == ["web.a.x"]
    assert other.children() == []


def test_child_created_from_inside_is_named_relative_to_its_creator() -> None:
    a = Jail.create(name="a", children__max=3)

    def body() -> dict[str, Any]:
        a.attach()
        b = Jail.create(name="b")
        return {
            "jid": b.jid,
            "name": b.name,
            "parent": b.parent,
            "get": Jail.get("b").jid,
            "list": [(j.jid, j.name) for j in jailcore.jails()],
        }

    out = result_in_child(body)
    assert out["name"] == "b"
    assert out["parent"] == 0  # the parent is the creator's own jail
    assert out["get"] == out["jid"]
    assert out["list"] == [[out["jid"], "b"]]
    b = Jail.get("a.b")
    assert b.jid == out["jid"]
    assert b.name == "a.b"
    assert b.parent == a.jid
    assert a.children() == [b]


def test_listing_a_subtree_from_inside() -> None:
    a = Jail.create(name="a", children__max=3)
    b = Jail.create(name="a.b", children__max=1)
    c = Jail.create(name="a.b.c")
    Jail.create(name="z")

    def body() -> list[Any]:
        a.attach()
        return [(j.jid, j.name, j.parent) for j in jailcore.jails(("name", "parent"))]

    assert result_in_child(body) == [[b.jid, "b", 0], [c.jid, "b.c", b.jid]]
    # From the host: the whole tree, full names.
    assert [(j.name, j.parent) for j in jailcore.jails(("name", "parent"))] == [
        ("a", 0),
        ("a.b", a.jid),
        ("a.b.c", b.jid),
        ("z", 0),
    ]


def test_children_max_limits_creation_from_inside() -> None:
    a = Jail.create(name="a", children__max=1)

    def body() -> dict[str, Any]:
        a.attach()
        Jail.create(name="b")
        try:
            Jail.create(name="c")
        except JailError as exc:
            return {
                "type": type(exc).__name__,
                "errno": exc.errno,
                "errmsg": exc.errmsg,
                "perm": isinstance(exc, PermissionError),
            }
        return {}

    assert result_in_child(body) == {
        "type": "JailPermissionError",
        "errno": errno.EPERM,
        "errmsg": "prison limit exceeded",
        "perm": True,
    }
    assert [j.name for j in a.children()] == ["a.b"]
    assert a.get("children.cur") == {"children.cur": 1}


def test_children_max_zero_forbids_creation_from_inside() -> None:
    a = Jail.create(name="a")  # children.max defaults to 0

    def body() -> None:
        a.attach()
        Jail.create(name="b")

    out = in_child(body)
    assert out["exception"]["raised"] == "JailPermissionError"
    assert out["exception"]["errno"] == errno.EPERM


def test_children_max_of_a_child_must_be_below_the_parents() -> None:
    Jail.create(name="a", children__max=2)
    with pytest.raises(JailPermissionError) as info:
        Jail.create(name="a.b", children__max=2)
    assert info.value.errno == errno.EPERM
    Jail.create(name="a.b", children__max=1)


def test_dotted_name_under_a_missing_parent_is_not_found() -> None:
    with pytest.raises(JailNotFoundError) as info:
        Jail.create(name="nope.b")
    assert info.value.errmsg == 'jail "nope" not found'


# ---- to_dict -----------------------------------------------------------------------------


def test_to_dict_follows_jls_libxo_json_n(jpath: str) -> None:
    web = Jail.create(
        name="web",
        path=jpath,
        host__hostname="web.example",
        children__max=3,
        ip4__addr=["192.0.2.1", "192.0.2.2"],
        ip6__addr=["2001:db8::1"],
        allow__raw_sockets=True,
        meta={"owner": "ops"},
    )
    d = web.to_dict()
    assert list(d) == list(all_params())
    assert d["jid"] == str(web.jid)
    assert d["parent"] == "0"
    assert d["name"] == "web"
    assert d["path"] == jpath
    assert d["children.max"] == "3"
    assert d["children.cur"] == "0"
    assert d["securelevel"] == "-1"
    assert d["host.hostid"] == "0"
    assert d["host.hostname"] == "web.example"
    assert d["host.domainname"] == ""
    assert d["persist"] is True
    assert d["dying"] is False
    assert d["allow.raw_sockets"] is True
    assert d["allow.chflags"] is False
    assert d["ip4.addr"] == ["192.0.2.1", "192.0.2.2"]
    assert d["ip6.addr"] == ["2001:db8::1"]
    assert d["vnet"] == "inherit"
    assert d["host"] == "new"
    assert d["meta"] == "owner=ops"
    for name, value in d.items():
        kind = spec(name).kind.value
        if kind in ("int", "uint", "long", "ulong", "int64", "uint64"):
            assert isinstance(value, str) and int(value) == web.params[name], name
        elif kind == "bool":
            assert value is True or value is False, name
        elif kind in ("ipv4", "ipv6"):
            assert isinstance(value, list) and all(isinstance(a, str) for a in value), name
        else:
            assert isinstance(value, str), name
    text = json.dumps(d)
    assert json.loads(text) == d
    assert '"persist": true' in text and '"dying": false' in text


def test_to_dict_of_names_and_no_forms() -> None:
    web = Jail.create(name="web")
    assert web.to_dict("jid", "nodying", "persist", "ip4.addr") == {
        "jid": str(web.jid),
        "nodying": True,
        "persist": True,
        "ip4.addr": [],
    }


def test_to_dict_is_one_call(calls: Calls) -> None:
    web = Jail.create(name="web")
    before = calls.get
    web.to_dict()
    assert calls.get - before == 1


# ---- save --------------------------------------------------------------------------------

NEVER_SAVED = {"jid", "dying", "nodying", "parent", "children.cur", "cpuset.id"}


def _comparable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in ("jid", "cpuset.id")}


def test_save_omits_read_only_derived_and_no_form_values(jpath: str) -> None:
    web = Jail.create(
        name="web",
        path=jpath,
        host__hostname="web.example",
        ip4__addr=["192.0.2.1"],
    )
    Jail.create(name="web.db")
    saved = web.save()
    assert not NEVER_SAVED & set(saved)
    for name in saved:
        s = spec(name)
        assert s.access is not Access.READ_ONLY, name
        assert not s.nobool, name
    assert saved["name"] == "web"
    assert saved["path"] == jpath
    assert saved["host.hostname"] == "web.example"
    assert saved["ip4.addr"] == (ipaddress.IPv4Address("192.0.2.1"),)
    assert saved["persist"] is True
    json_ready = {k: (list(map(str, v)) if isinstance(v, tuple) else v) for k, v in saved.items()}
    assert json.loads(json.dumps(json_ready, default=str))["name"] == "web"


def test_save_recreates_an_equivalent_jail_in_a_fresh_host(jpath: str) -> None:
    web = Jail.create(
        name="web",
        path=jpath,
        host__hostname="web.example",
        host__domainname="example",
        ip4__addr=["192.0.2.2", "192.0.2.1"],
        ip6__addr=["2001:db8::1", "2001:db8::2"],
        allow__raw_sockets=True,
        allow__set_hostname=False,
        children__max=4,
        securelevel=1,
        enforce_statfs=1,
        meta={"owner": "ops"},
        env={"A": "b"},
    )
    before = web.params
    saved = web.save()
    jailcore.model.reset()
    again = Jail.create(**saved)
    assert _comparable(again.params) == _comparable(before)


def test_save_recreates_a_vnet_jail(jpath: str) -> None:
    web = Jail.create(name="web", path=jpath, vnet="new", host__hostname="v")
    before = web.params
    saved = web.save()
    assert "ip4.addr" not in saved and "ip6.addr" not in saved
    jailcore.model.reset()
    again = Jail.create(saved)
    assert _comparable(again.params) == _comparable(before)


def test_save_recreates_an_inheriting_jail() -> None:
    web = Jail.create(name="web", ip4="inherit", ip6="inherit", host="inherit")
    before = web.params
    saved = web.save()
    assert "ip4.addr" not in saved and "host.hostname" not in saved
    jailcore.model.reset()
    again = Jail.create(saved)
    assert _comparable(again.params) == _comparable(before)


def test_save_recreates_a_child_under_the_same_parent() -> None:
    Jail.create(name="web", children__max=2)
    db = Jail.create(name="web.db", host__hostname="db")
    before = db.params
    saved = db.save()
    jailcore.model.reset()
    Jail.create(name="web", children__max=2)
    again = Jail.create(saved)
    assert again.name == "web.db"
    assert _comparable(again.params) == _comparable(before)


# ---- equality, hashing, repr --------------------------------------------------------------


def test_equality_and_hash_by_jid() -> None:
    web = Jail.create(name="web")
    other = Jail.create(name="other")
    same = Jail.get("web")
    assert web == same
    assert hash(web) == hash(same)
    assert web != other
    assert web != web.jid
    assert web != "web"
    assert len({web, same, other, Jail(web.jid)}) == 2
    assert {web: 1}[Jail(web.jid)] == 1


def test_repr(tmp_path: Path) -> None:
    path = tmp_path / "jails" / "web"
    path.mkdir(parents=True)
    Jail.create(name="a")
    Jail.create(name="b")
    web = Jail.create(name="web", path=str(path))
    assert web.jid == 3
    assert repr(web) == f"<Jail 3 'web' path='{path}'>"
    assert repr(Jail.get("web")) == f"<Jail 3 'web' path='{path}'>"
    assert repr(Jail(3)) == f"<Jail 3 'web' path='{path}'>"


def test_repr_never_raises() -> None:
    web = Jail.create(name="web")
    web.remove()
    assert repr(web) == f"<Jail {web.jid}>"
    assert repr(Jail(999)) == "<Jail 999>"
    assert str(Jail(999)) == "<Jail 999>"


def test_repr_survives_any_backend_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    web = Jail.create(name="web")

    def broken(*args: Any) -> Any:
        raise RuntimeError("broken backend")

    monkeypatch.setattr(_backend, "jail_get", broken)
    assert repr(Jail(web.jid)) == f"<Jail {web.jid}>"


def test_repr_of_a_removed_jail_that_was_read_before() -> None:
    web = Jail.create(name="web")
    shown = repr(web)
    web.remove()
    assert repr(web) == shown == f"<Jail {web.jid} 'web' path='/'>"


def test_descendants_lists_the_subtree_in_jid_order() -> None:
    """descendants(): children, grandchildren..., not siblings or the jail itself."""
    a = Jail.create(name="a", children__max=5)
    b = Jail.create(name="a.b", children__max=2)
    other = Jail.create(name="other")
    c = Jail.create(name="a.b.c")
    d = Jail.create(name="a.d")
    assert a.descendants() == [b, c, d]
    assert [j.name for j in a.descendants()] == ["a.b", "a.b.c", "a.d"]
    assert b.descendants() == [c]
    assert c.descendants() == []
    assert other.descendants() == []


def test_an_iterator_of_addresses_is_read_once() -> None:
    """A generator with a bad item raises, naming the parameter, and changes
    nothing (it used to be read twice and erase the jail's addresses)."""
    import ipaddress

    web = Jail.create(name="web", ip4__addr=["192.0.2.1"])
    for call in (lambda g: web.update(ip4__addr=g),
                 lambda g: web.update({"ip4.addr": g}),
                 lambda g: jailcore.jail_set({"jid": web.jid, "ip4.addr": g},
                                             jailcore.JailFlag.UPDATE)):
        with pytest.raises(ValueError, match=r"^ip4\.addr: Expected 4 octets in 'bogus'$"):
            call(a for a in ["192.0.2.2", "bogus"])
        assert web.get("ip4.addr") == {"ip4.addr": (ipaddress.IPv4Address("192.0.2.1"),)}
    with pytest.raises(ValueError, match=r"^ip4\.addr: "):
        Jail.create(name="db", ip4__addr=(a for a in ["192.0.2.3", "bogus"]))
    assert [j.name for j in jailcore.jails()] == ["web"]
    # a good iterator is taken, on the prepared path and the general one alike
    web.update(ip4__addr=(a for a in ["192.0.2.4", "192.0.2.5"]))
    assert web.get("ip4.addr")["ip4.addr"] == (ipaddress.IPv4Address("192.0.2.4"),
                                               ipaddress.IPv4Address("192.0.2.5"))
    db = Jail.create(name="db", ip4__addr=iter(["192.0.2.6"]))
    assert db.get("ip4.addr")["ip4.addr"] == (ipaddress.IPv4Address("192.0.2.6"),)


def test_an_ipv6_zone_is_refused_and_changes_nothing() -> None:
    import ipaddress

    web = Jail.create(name="web", ip6__addr=["2001:db8::1"])
    for value in ("fe80::1%em0", [ipaddress.IPv6Address("fe80::1%em0")]):
        with pytest.raises(ValueError, match=r"^ip6\.addr: fe80::1%em0: an IPv6 address with "
                                             r"a zone \(%em0\)"):
            web.update(ip6__addr=value)
    assert web.get("ip6.addr") == {"ip6.addr": (ipaddress.IPv6Address("2001:db8::1"),)}


def test_temporary_makes_its_jail_on_entering_removes_it_on_leaving_and_is_used_once() -> None:
    temporary = Jail.temporary(name="tmp", host__hostname="tmp.example")
    assert list(jailcore.jails()) == []  # nothing is made before the block
    with temporary as jail:
        assert Jail.get("tmp") == jail
        assert jail.get("host.hostname", "persist") == {"host.hostname": "tmp.example",
                                                        "persist": True}
    with pytest.raises(JailNotFoundError):
        Jail.get("tmp")
    once = r"Jail\.temporary\(\): a temporary jail is entered once"
    with pytest.raises(RuntimeError, match=once):
        temporary.__enter__()
    assert list(jailcore.jails()) == []
