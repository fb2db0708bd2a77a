"""ARCHITECTURE.md section 4: mistakes other jail bindings made, each caught here.

(The rows about buffers, errno/errmsg, threads, encoding and types are tested with
params, _iov and errors; these are the rows about the Jail layer.)
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import jailcore
import jailcore.model
from jailcore import Jail, JailSys, _backend
from jailcore.params import Access, spec


class SetCalls:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[list[bytes]] = []
        real = _backend.jail_set

        def call(iov: Any, niov: int, flags: int) -> Any:
            ffi = _backend.ffi
            self.sent.append(
                [ffi.string(ffi.cast("char *", iov[i].iov_base)) for i in range(0, niov, 2)]
            )
            return real(iov, niov, flags)

        monkeypatch.setattr(_backend, "jail_set", call)


@pytest.fixture
def sets(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetCalls]:
    yield SetCalls(monkeypatch)


# ---- libjail-rs: saved jails re-sent read-only or derived values ---------------------------


def test_save_drops_read_only_and_derived_values(tmp_path: Path) -> None:
    web = Jail.create(
        name="web",
        path=str(tmp_path),
        children__max=2,
        host__hostname="web.example",
        ip4__addr=["192.0.2.1"],
    )
    Jail.create(name="web.db")
    saved = web.save()
    for derived in ("jid", "dying", "nodying", "parent", "children.cur", "cpuset.id"):
        assert derived not in saved
    assert [n for n in saved if spec(n).access is Access.READ_ONLY] == []
    assert [n for n in saved if spec(n).nobool] == []
    # and what is saved is enough, and acceptable, to create it again
    assert saved["name"] == "web"
    assert saved["children.max"] == 2


def test_saved_jail_recreated_sends_nothing_read_only(tmp_path: Path, sets: SetCalls) -> None:
    web = Jail.create(
        name="web",
        path=str(tmp_path),
        host__hostname="web.example",
        ip4__addr=["192.0.2.1", "192.0.2.2"],
        ip6__addr=["2001:db8::1"],
    )
    before = web.params
    saved = web.save()
    jailcore.model.reset()
    del sets.sent[:]
    again = Jail.create(**saved)
    (names,) = sets.sent
    for derived in (b"jid", b"dying", b"nodying", b"parent", b"children.cur", b"cpuset.id"):
        assert derived not in names
    after = again.params
    for k in ("jid", "cpuset.id"):
        before.pop(k)
        after.pop(k)
    assert after == before


# ---- libjail-rs, iocage: empty ip4.addr sent to a vnet jail ----------------------------------


def test_vnet_jail_with_empty_address_lists_succeeds(sets: SetCalls) -> None:
    jail = Jail.create(name="v", vnet="new", ip4__addr=[], ip6__addr=())
    (names,) = sets.sent
    assert b"ip4.addr" not in names
    assert b"ip6.addr" not in names
    got = jail.get("vnet", "ip4.addr", "ip6.addr")
    assert got == {"vnet": JailSys.NEW, "ip4.addr": (), "ip6.addr": ()}


@pytest.mark.parametrize(
    "addrs",
    [
        {"ip4__addr": ["192.0.2.1"]},
        {"ip6__addr": ["2001:db8::1"]},
        {"ip4__addr": [ipaddress.IPv4Address("192.0.2.1")], "ip6__addr": []},
    ],
)
def test_vnet_jail_with_addresses_is_value_error_before_any_syscall(
    addrs: dict[str, Any], sets: SetCalls
) -> None:
    with pytest.raises(ValueError, match="vnet jails cannot have IP address restrictions"):
        Jail.create(name="v", vnet="new", **addrs)
    assert sets.sent == []
    assert list(jailcore.jails()) == []


def test_vnet_jail_with_addresses_as_a_mapping_is_value_error(sets: SetCalls) -> None:
    with pytest.raises(ValueError, match=r"ip4\.addr"):
        Jail.create({"name": "v", "vnet": JailSys.NEW, "ip4.addr": "192.0.2.1"})
    assert sets.sent == []


# ---- iocage: `jls` subprocess calls -------------------------------------------------------------


def test_listing_and_reading_spawn_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a process was spawned: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", no)
    monkeypatch.setattr(os, "system", no)
    monkeypatch.setattr(os, "posix_spawn", no)
    monkeypatch.setattr(os, "posix_spawnp", no)
    jailcore.model.kldload("nullfs")  # discovery sees a module parameter too
    Jail.create(name="a", children__max=1, host__hostname="a")
    Jail.create(name="a.b")
    listed = list(jailcore.jails(("name", "host.hostname", "allow.mount.nullfs")))
    assert [j.name for j in listed] == ["a", "a.b"]
    assert [j.to_dict("name")["name"] for j in jailcore.jails()] == ["a", "a.b"]
    assert Jail.get("a").params["host.hostname"] == "a"
    assert [j.name for j in Jail.get("a").children()] == ["a.b"]
