"""The benchmark suite's Python baselines do the work jailcore does: the same
jail made, the same values read.  A ratio against a baseline that did less
would flatter it (docs/performance.rst)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import Any

import pytest

import jailcore
import jailcore.model

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not (ROOT / "benchmarks" / "suite.py").is_file(),
                                reason="benchmarks/ is not in this tree")
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

NAMES = ("jid", "name", "path", "host.hostname", "ip4.addr", "ip6.addr", "persist",
         "securelevel", "children.max", "dying")


def binding() -> Any:
    """The ctypes baseline, with the suite's table of parameter types."""
    from benchmarks.ctypes_binding import Binding
    from benchmarks.suite import c_kind

    return Binding(jailcore.model.library_path(), {n: c_kind(n) for n in (*NAMES, "ip4",
                                                                          "allow.raw_sockets")})


def test_the_ctypes_baseline_reads_what_jailcore_reads() -> None:
    j = jailcore.Jail.create(name="b", path="/", host__hostname="b.example",
                             ip4__addr=["192.0.2.1", "192.0.2.2"], ip6__addr="2001:db8::1")
    got = binding().get(j.jid, list(NAMES))
    want = j.get(*NAMES)
    for name in NAMES:
        if name in ("ip4.addr", "ip6.addr"):
            assert [ipaddress.ip_address(a) for a in got[name]] == list(want[name]), name
        else:
            assert got[name] == want[name], name


def test_the_ctypes_baseline_creates_what_jailcore_creates() -> None:
    from benchmarks.ctypes_binding import JAIL_CREATE

    jid = binding().set({"name": "c", "path": "/", "host.hostname": "c.example",
                         "ip4.addr": "192.0.2.7", "persist": True, "allow.raw_sockets": True},
                        JAIL_CREATE)
    assert jailcore.Jail(jid).get("name", "host.hostname", "ip4.addr", "persist",
                                  "allow.raw_sockets") == {
        "name": "c", "host.hostname": "c.example",
        "ip4.addr": (ipaddress.IPv4Address("192.0.2.7"),), "persist": True,
        "allow.raw_sockets": True}


def test_py_jail_creates_what_jailcore_creates() -> None:
    """py-jail, its libc handle on the model, makes B4's jail, and B4's
    operation removes it again."""
    from benchmarks import pyjail_peer

    why = pyjail_peer.available()
    if why is not None:
        pytest.skip(why)
    pyjail = pyjail_peer.load(jailcore.model.library_path())
    jiov = pyjail.Jiov({"name": "p", "path": "/", "host.hostname": "p.example",
                        "ip4.addr": [ipaddress.IPv4Address("192.0.2.9")], "persist": None,
                        "allow.raw_sockets": None})
    jid = pyjail.dll.jail_set(jiov.pointer, len(jiov), 1)
    assert jailcore.Jail(jid).get("name", "host.hostname", "ip4.addr", "persist",
                                  "allow.raw_sockets") == {
        "name": "p", "host.hostname": "p.example",
        "ip4.addr": (ipaddress.IPv4Address("192.0.2.9"),), "persist": True,
        "allow.raw_sockets": True}
    op = pyjail_peer.make_create_remove(jailcore.model.library_path())
    op(("q", "q.example", "192.0.2.10"))
    assert [j.name for j in jailcore.jails()] == ["p"]
