"""The core Jail scenarios, written for any backend.

tests/kernel/test_kernel_jail.py runs them against a real FreeBSD kernel as root;
tests/test_jail.py runs the very same functions on the model, so they are known
to be right before a FreeBSD machine ever sees them.

Each scenario takes an existing directory for the jails' path and a name that
no other jail on the machine has, creates only jails below that name, and
removes them again whatever happens.  Nothing here assumes that the host has no
other jails.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import signal
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

import jailcore
from jailcore import (
    Jail,
    JailError,
    JailExistsError,
    JailNotFoundError,
    JailSys,
    _backend,
)
from jailcore.params import all_params

from .forking import Forked, result_in_child

# FreeBSD removes an idle jail at once, but a lingering kernel reference may keep
# it dying for a while; jail_get then says "is dying" instead of "not found".
GONE = ("not found", "is dying")


def unique_name() -> str:
    """A jail name no other jail has: a letter prefix and a random suffix."""
    return f"jctest{secrets.token_hex(4)}"


def random_addresses() -> tuple[list[str], list[str]]:
    """Two IPv4 and one IPv6 address from the benchmarking / documentation ranges,
    random so that two runs (or jails already on the host) do not clash."""
    rnd = secrets.randbits(14)
    base = ipaddress.IPv4Address("198.18.0.0") + 4 * rnd + 1
    v6 = ipaddress.IPv6Address("2001:db8::") + (secrets.randbits(32) << 16) + 1
    return [str(base + 1), str(base)], [str(v6)]


@contextmanager
def cleanup(*names: str) -> Iterator[None]:
    """Remove the jails called ``names`` (and so their children) when the block ends."""
    try:
        yield
    finally:
        for name in names:
            try:
                Jail.get(name).remove()
            except JailNotFoundError:
                pass


def assert_gone(name_or_jid: str | int, timeout: float = 10.0) -> None:
    """Jail.get fails with the kernel's ENOENT and its message, within ``timeout``
    seconds: a jail whose last process exited, or that was removed, may stay
    alive for a moment while its last references drop (a taskqueue in FreeBSD's
    kern_jail.c), so this polls, every 10 ms, rather than asserting at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            jail = Jail.get(name_or_jid)
        except JailNotFoundError as exc:
            err = exc
            break
        assert time.monotonic() < deadline, f"jail {jail!r} still there after {timeout} s"
        time.sleep(0.01)
    assert err.errno == errno.ENOENT
    shown = f'"{name_or_jid}"' if isinstance(name_or_jid, str) else str(name_or_jid)
    assert err.errmsg in {f"jail {shown} {how}" for how in GONE}


def sysctl_int(name: str) -> int:
    err, mib = _backend.sysctlnametomib(name)
    assert err == 0, (name, err)
    err, data = _backend.sysctl(mib, 4)
    assert err == 0, (name, err)
    return int(struct.unpack("i", data[:4])[0])


# ---- the scenarios ------------------------------------------------------------------


def scenario_create_get_update_remove(path: str, name: str) -> None:
    """Create with a path, hostname and addresses; find it; read; update; remove."""
    ip4, ip6 = random_addresses()
    with cleanup(name):
        jail = Jail.create(
            {"host.hostname": f"{name}.example"},
            name=name,
            path=path,
            ip4__addr=ip4,
            ip6__addr=ip6,
        )
        assert isinstance(jail.jid, int) and jail.jid > 0
        assert Jail.get(name) == jail
        assert Jail.get(jail.jid).name == name
        assert Jail.get(str(jail.jid)).jid == jail.jid
        assert jail.name == name
        assert jail.path == path
        assert jail.parent == 0
        assert jail.dying is False
        assert repr(jail) == f"<Jail {jail.jid} {name!r} path={path!r}>"

        params = jail.params
        assert params["jid"] == jail.jid
        assert params["name"] == name
        assert params["path"] == path
        assert params["persist"] is True
        assert params["host.hostname"] == f"{name}.example"
        assert params["host"] is JailSys.NEW
        # The primary (first given) address first, the rest in ascending order.
        assert params["ip4.addr"] == tuple(ipaddress.IPv4Address(a) for a in ip4)
        assert params["ip6.addr"] == (ipaddress.IPv6Address(ip6[0]),)
        assert set(params) == set(all_params())

        assert jail.get("host.hostname", "persist") == {
            "host.hostname": f"{name}.example",
            "persist": True,
        }
        assert jail.update(host__hostname=f"www.{name}.example") is jail
        assert jail.get("host.hostname") == {"host.hostname": f"www.{name}.example"}

        with pytest.raises(JailError) as info:
            jail.update(path="/")
        assert type(info.value) is JailError
        assert info.value.errno == errno.EINVAL
        assert info.value.errmsg == "path cannot be changed after creation"
        assert Jail.get(name).path == path

        jail.remove()
        assert_gone(name)
        assert jail.jid not in [j.jid for j in jailcore.jails()]


def scenario_child_and_list(path: str, name: str) -> None:
    """A child from the host, listing, and removing the parent removes the child."""
    with cleanup(name):
        parent = Jail.create(name=name, path=path, children__max=2)
        child = Jail.create({"name": f"{name}.db", "host.hostname": "db"})
        assert child.name == f"{name}.db"
        assert child.parent == parent.jid
        assert parent.children() == [child]
        assert parent.get("children.cur", "children.max") == {
            "children.cur": 1,
            "children.max": 2,
        }
        listed = [j for j in jailcore.jails(("name", "parent")) if j in (parent, child)]
        assert [(j.jid, j.name, j.parent) for j in listed] == [
            (parent.jid, name, 0),
            (child.jid, f"{name}.db", parent.jid),
        ]
        jids = [j.jid for j in jailcore.jails()]
        assert jids == sorted(jids)

        parent.remove()
        assert_gone(name)
        assert_gone(f"{name}.db")
        assert not {parent.jid, child.jid} & {j.jid for j in jailcore.jails()}


def scenario_duplicate_name(path: str, name: str) -> None:
    """A second jail with the same name: JailExistsError with the kernel's message."""
    with cleanup(name):
        first = Jail.create(name=name, path=path)
        with pytest.raises(JailExistsError) as info:
            Jail.create(name=name, path=path)
        err = info.value
        assert isinstance(err, FileExistsError)
        assert err.errno == errno.EEXIST
        assert err.errmsg == f'jail "{name}" already exists'
        assert err.operation == "jail_set"
        assert str(err) == f'jail_set: jail "{name}" already exists [EEXIST]'
        assert [j for j in jailcore.jails() if j.name == name] == [first]


def scenario_temporary(path: str, name: str) -> None:
    """A temporary jail is gone after the block, also when the block raises."""
    with cleanup(name):
        with Jail.temporary(name=name, path=path, host__hostname="tmp") as tmp:
            assert Jail.get(name) == tmp
            assert tmp.get("host.hostname", "persist") == {
                "host.hostname": "tmp",
                "persist": True,
            }
            jid = tmp.jid
        assert_gone(name)
        assert_gone(jid)

        class Boom(Exception):
            pass

        with pytest.raises(Boom), Jail.temporary(name=name, path=path) as tmp:
            jid = tmp.jid
            raise Boom
        assert_gone(name)
        assert_gone(jid)


def scenario_attach(path: str, name: str) -> None:
    """A forked child attaches: it is jailed and, inside, sees no jail (not even its own)."""
    with cleanup(name):
        jail = Jail.create(name=name, path=path)

        def body() -> dict[str, object]:
            jail.attach()
            return {
                "jailed": sysctl_int("security.jail.jailed"),
                "visible": [j.jid for j in jailcore.jails()],
            }

        assert result_in_child(body) == {"jailed": 1, "visible": []}
        # The parent stays outside.
        assert sysctl_int("security.jail.jailed") == 0
        assert Jail.get(name) == jail


def scenario_remove_kills_attached(path: str, name: str) -> None:
    """Removing a jail kills the process attached to it (SIGKILL)."""
    with cleanup(name):
        jail = Jail.create(name=name, path=path)

        def body() -> int:
            jail.attach()
            return 1

        with Forked(body, linger=True) as child:
            assert child.result() == 1
            jail.remove()
            status = child.wait()
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert_gone(name)


SCENARIOS: list[Callable[[str, str], None]] = [
    scenario_create_get_update_remove,
    scenario_child_and_list,
    scenario_duplicate_name,
    scenario_temporary,
    scenario_attach,
    scenario_remove_kills_attached,
]
