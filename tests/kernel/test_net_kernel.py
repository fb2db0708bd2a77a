"""The interface walkthrough against a real FreeBSD kernel, as root: an
epair, a unique address in 198.51.100.0/24 on its a end, the b end lent to
a vnet jail and back on the host when the jail is removed.  Everything made
is destroyed at the end.  Skipped (visibly) elsewhere;
tests/model/test_net_model.py runs the same steps on the model.
"""

from __future__ import annotations

import random
import time

import pytest

import jailcore.net as net
from jailcore import Jail, _backend

from .jail_scenarios import unique_name

pytestmark = pytest.mark.kernel


def test_backend_is_the_kernel() -> None:
    assert _backend.NAME == "kernel"


def test_epair_address_and_vnet_walkthrough() -> None:
    addr = f"198.51.100.{random.SystemRandom().randint(2, 254)}/24"
    a, b = net.create_epair()
    jail = None
    try:
        assert a.endswith("a") and b == a[:-1] + "b"
        net.add_address(a, addr)
        found = {i.name: i for i in net.interfaces()}
        assert addr in [str(x) for x in found[a].addresses]
        assert found[a].up
        net.remove_address(a, addr)
        assert addr not in [str(x) for i in net.interfaces() if i.name == a
                            for x in i.addresses]
        jail = Jail.create(name=unique_name(), vnet="new", path="/")
        assert net.move_to(b, jail) == b
        assert b not in [i.name for i in net.interfaces()]
        assert b in [i.name for i in net.interfaces(jail)]
        assert net.reclaim(b, jail) == b
        assert b in [i.name for i in net.interfaces()]
        net.move_to(b, jail)
        jail.remove()
        jail = None
        # vnet teardown is asynchronous on FreeBSD: the interface is back once
        # the jail's vnet is gone, which jail_remove does not wait for.
        deadline = time.monotonic() + 10.0
        while b not in [i.name for i in net.interfaces()] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b in [i.name for i in net.interfaces()]
    finally:
        if jail is not None:
            jail.remove()
        try:
            net.destroy_interface(a)
        except OSError:
            pass
