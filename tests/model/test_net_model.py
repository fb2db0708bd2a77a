"""The model's network interfaces (issue 14, the interface part): the ioctls
of ifconfig(8) with FreeBSD's structures and errnos, through jailcore.net and,
where the ABI matters, through jailmodel_ioctl with raw bytes.
Facts: shared/spec/freebsd-jail-host.md sections B and E,
freebsd-jail-userland.md 6.1."""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import socket
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from forked import in_child, need_root
from modelabi import state_offset, write_state

import jailcore.model
import jailcore.net as net
from jailcore import Jail
from jailcore.errors import InterfaceError

NOBODY = 65534
SIOCAIFADDR = 0x8044692B
SIOCDIFADDR = 0x80206919
SIOCAIFADDR_IN6 = 0x8088691B
SIOCDIFADDR_IN6 = 0x81206919
SIOCIFCREATE = 0xC020697A
SIOCSIFVNET = 0xC020695A


@pytest.fixture(scope="module")
def abi() -> ctypes.CDLL:
    lib = ctypes.CDLL(jailcore.model.library_path(), use_errno=True)
    lib.jailmodel_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    lib.jailmodel_ioctl.restype = ctypes.c_int
    lib.jailmodel_add_ether.argtypes = [ctypes.c_char_p]
    lib.jailmodel_add_ether.restype = ctypes.c_int
    return lib


@pytest.fixture
def sock() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        yield s


def ioctl(abi: ctypes.CDLL, fd: int, req: int, buf: ctypes.Array[ctypes.c_char]) -> int:
    """0, or the errno of jailmodel_ioctl."""
    ctypes.set_errno(0)
    r = abi.jailmodel_ioctl(fd, req, buf)
    return 0 if r == 0 else ctypes.get_errno()


def sin(addr: str, length: int = 16, family: int = 2) -> bytes:
    return struct.pack("BBH4s8x", length, family, 0, ipaddress.IPv4Address(addr).packed)


def sin6(addr: str, length: int = 28, family: int = 28) -> bytes:
    return struct.pack("BBHI16sI", length, family, 0, 0, ipaddress.IPv6Address(addr).packed, 0)


def in_aliasreq(name: str, addr: bytes, mask: bytes = b"\0" * 16, bcast: bytes = b"\0" * 16
                ) -> ctypes.Array[ctypes.c_char]:
    raw = name.encode().ljust(16, b"\0") + addr + bcast + mask + b"\0" * 4
    assert len(raw) == 68
    return ctypes.create_string_buffer(raw, 68)


def ifreq(name: str, rest: bytes = b"") -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(name.encode().ljust(16, b"\0") + rest.ljust(16, b"\0"), 32)


def addrs(name: str) -> list[str]:
    return [str(a) for i in net.interfaces() if i.name == name for a in i.addresses]


def names() -> list[str]:
    return [i.name for i in net.interfaces()]


def errno_of(fn: object, *args: object) -> int:
    with pytest.raises(InterfaceError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.errno is not None
    return info.value.errno


# ---- a fresh host ---------------------------------------------------------------


def test_fresh_host_has_lo0_and_em0() -> None:
    found = net.interfaces()
    assert [i.name for i in found] == ["lo0", "em0"]
    lo0, em0 = found
    assert lo0.flag_names == ["UP", "LOOPBACK", "RUNNING", "MULTICAST"]
    assert [str(a) for a in lo0.addresses] == ["::1/128", "fe80::1/64", "127.0.0.1/8"]
    assert lo0.scopes == {ipaddress.IPv6Address("fe80::1"): lo0.index}
    assert lo0.mac is None and lo0.type == net.IFT_LOOP
    assert em0.flags == 0x8843 and em0.type == net.IFT_ETHER and em0.mac is not None
    assert em0.addresses == [] and (lo0.index, em0.index) == (1, 2)


def test_add_ether(abi: ctypes.CDLL) -> None:
    assert abi.jailmodel_add_ether(b"igb0") == 0
    assert names() == ["lo0", "em0", "igb0"]
    for bad, err in ((b"igb0", errno.EEXIST), (b"", errno.EINVAL), (b"x" * 16, errno.EINVAL)):
        ctypes.set_errno(0)
        assert abi.jailmodel_add_ether(bad) == -1
        assert ctypes.get_errno() == err


def test_add_ether_needs_host_superuser(abi: ctypes.CDLL) -> None:
    need_root()

    def try_add() -> int:
        ctypes.set_errno(0)
        return 0 if abi.jailmodel_add_ether(b"igb1") == 0 else ctypes.get_errno()

    assert in_child(try_add, uid=NOBODY) == errno.EPERM
    j = Jail.create(name="plain")
    assert in_child(try_add, attach=j.jid) == errno.EPERM
    assert "igb1" not in names()


# ---- addresses ---------------------------------------------------------------


def test_add_and_remove_ipv4() -> None:
    net.add_address("em0", "192.0.2.10/24")
    em0 = net.interfaces()[1]
    assert [str(a) for a in em0.addresses] == ["192.0.2.10/24"]
    assert em0.broadcast == {ipaddress.IPv4Address("192.0.2.10"):
                             ipaddress.IPv4Address("192.0.2.255")}
    net.add_address("em0", "192.0.2.11")  # no mask: jail(8)'s 255.255.255.255
    net.add_address("em0", "192.0.2.12/255.255.0.0")
    assert addrs("em0") == ["192.0.2.10/24", "192.0.2.11/32", "192.0.2.12/16"]
    net.add_address("em0", "192.0.2.10/28")  # re-add replaces, in place
    assert addrs("em0") == ["192.0.2.10/28", "192.0.2.11/32", "192.0.2.12/16"]
    net.remove_address("em0", "192.0.2.11")
    assert addrs("em0") == ["192.0.2.10/28", "192.0.2.12/16"]
    assert errno_of(net.remove_address, "em0", "192.0.2.11") == errno.EADDRNOTAVAIL
    assert errno_of(net.add_address, "em9", "192.0.2.1/24") == errno.ENXIO


def test_add_and_remove_ipv6() -> None:
    net.add_address("em0", "2001:db8::10/64")
    net.add_address("em0", "2001:db8::11")
    assert addrs("em0") == ["2001:db8::10/64", "2001:db8::11/128"]
    net.remove_address("em0", "2001:db8::10")
    assert addrs("em0") == ["2001:db8::11/128"]
    assert errno_of(net.remove_address, "em0", "2001:db8::10") == errno.EADDRNOTAVAIL


def test_address_brings_interface_up() -> None:
    a, _ = net.create_epair()
    assert not net.interfaces()[2].up
    net.add_address(a, "198.51.100.1/24")
    assert net.flags(a) & 0x41 == 0x41


def test_aifaddr_abi_rules(abi: ctypes.CDLL, sock: socket.socket) -> None:
    fd = sock.fileno()
    mask = sin("255.255.255.0")
    for bad in (in_aliasreq("em0", sin("192.0.2.1", 15), mask),
                in_aliasreq("em0", sin("192.0.2.1", 16, 28), mask),
                in_aliasreq("em0", sin("192.0.2.1"), mask, sin("1.2.3.4", 8))):
        assert ioctl(abi, fd, SIOCAIFADDR, bad) == errno.EINVAL
    assert addrs("em0") == []
    # No mask sent: the classful default (192.0.2.1 is class C).
    assert ioctl(abi, fd, SIOCAIFADDR, in_aliasreq("em0", sin("192.0.2.1"))) == 0
    assert ioctl(abi, fd, SIOCAIFADDR, in_aliasreq("em0", sin("10.1.2.3"))) == 0
    assert addrs("em0") == ["192.0.2.1/24", "10.1.2.3/8"]
    nope = in_aliasreq("nope0", sin("192.0.2.1"), mask)
    assert ioctl(abi, fd, SIOCAIFADDR, nope) == errno.ENXIO


def test_malformed_difaddr_deletes_first_address(abi: ctypes.CDLL, sock: socket.socket) -> None:
    net.add_address("em0", "192.0.2.1/24")
    net.add_address("em0", "192.0.2.2/24")
    malformed = ifreq("em0", sin("192.0.2.2", 0, 0))
    assert ioctl(abi, sock.fileno(), SIOCDIFADDR, malformed) == 0
    assert addrs("em0") == ["192.0.2.2/24"]
    missing = ifreq("em0", sin("192.0.2.9"))
    assert ioctl(abi, sock.fileno(), SIOCDIFADDR, missing) == errno.EADDRNOTAVAIL
    assert ioctl(abi, sock.fileno(), SIOCDIFADDR, ifreq("em0", sin("192.0.2.2"))) == 0
    assert ioctl(abi, sock.fileno(), SIOCDIFADDR, ifreq("em0")) == errno.EADDRNOTAVAIL


def test_in6_abi_rules(abi: ctypes.CDLL, sock: socket.socket) -> None:
    fd = sock.fileno()
    plen64 = sin6("ffff:ffff:ffff:ffff::")

    def req(addr: bytes, mask: bytes) -> ctypes.Array[ctypes.c_char]:
        raw = b"em0".ljust(16, b"\0") + addr + b"\0" * 28 + mask + b"\0" * 36
        assert len(raw) == 136
        return ctypes.create_string_buffer(raw, 136)

    short = req(sin6("2001:db8::1", 16), plen64)
    assert ioctl(abi, fd, SIOCAIFADDR_IN6, short) == errno.EINVAL
    assert ioctl(abi, fd, SIOCAIFADDR_IN6, req(sin6("2001:db8::1"), b"\0" * 28)) == errno.EINVAL
    holes = req(sin6("2001:db8::1"), sin6("ffff::ff"))
    assert ioctl(abi, fd, SIOCAIFADDR_IN6, holes) == errno.EINVAL
    assert ioctl(abi, fd, SIOCAIFADDR_IN6, req(sin6("2001:db8::1"), plen64)) == 0
    # Re-added without a prefix mask: keeps its prefix.
    assert ioctl(abi, fd, SIOCAIFADDR_IN6, req(sin6("2001:db8::1"), b"\0" * 28)) == 0
    assert addrs("em0") == ["2001:db8::1/64"]
    name = b"em0".ljust(16, b"\0")
    dreq = ctypes.create_string_buffer(name + sin6("2001:db8::1", 0) + b"\0" * 244, 288)
    assert ioctl(abi, fd, SIOCDIFADDR_IN6, dreq) == errno.EADDRNOTAVAIL
    dreq = ctypes.create_string_buffer(name + sin6("2001:db8::1") + b"\0" * 244, 288)
    assert ioctl(abi, fd, SIOCDIFADDR_IN6, dreq) == 0
    assert addrs("em0") == []


def test_ioctl_needs_a_socket(abi: ctypes.CDLL, tmp_path: object) -> None:
    import os

    fd = os.open("/dev/null", os.O_RDONLY)
    try:
        assert ioctl(abi, fd, SIOCAIFADDR, in_aliasreq("em0", sin("192.0.2.1"))) == errno.ENOTTY
    finally:
        os.close(fd)
    assert ioctl(abi, 1000, SIOCAIFADDR, in_aliasreq("em0", sin("192.0.2.1"))) == errno.EBADF


# ---- cloning -----------------------------------------------------------------------


def test_epair_naming_and_numbering(abi: ctypes.CDLL, sock: socket.socket) -> None:
    assert net.create_epair() == ("epair0a", "epair0b")
    assert net.create_epair() == ("epair1a", "epair1b")
    assert net.create_interface("epair5") == "epair5a"
    assert errno_of(net.create_interface, "epair5") == errno.EEXIST
    for bad in ("epair0a", "epair01", "epairx", "bridge0", "epair99999"):
        assert errno_of(net.create_interface, bad) in (errno.EINVAL, errno.EEXIST), bad
    assert errno_of(net.create_interface, "epairx") == errno.EINVAL
    assert errno_of(net.create_interface, "epair01") == errno.EINVAL
    assert errno_of(net.create_interface, "bridge0") == errno.EINVAL
    net.destroy_interface("epair0b")  # either end destroys the pair
    assert names() == ["lo0", "em0", "epair1a", "epair1b", "epair5a", "epair5b"]
    assert net.create_epair() == ("epair0a", "epair0b")  # the lowest free unit
    found = {i.name: i for i in net.interfaces()}
    a, b = found["epair0a"].mac, found["epair0b"].mac
    assert a is not None and b is not None
    assert a[:-2] == b[:-2] and b.endswith("0b") and a != b
    # SIOCIFCREATE (not 2) with the bare cloner name writes the a name back.
    buf = ifreq("epair")
    assert ioctl(abi, sock.fileno(), SIOCIFCREATE, buf) == 0
    assert buf.raw[:16].rstrip(b"\0") == b"epair2a"


def test_lo_clones_and_destroy_rules() -> None:
    assert net.create_interface("lo") == "lo1"
    assert net.create_interface("lo7") == "lo7"
    assert errno_of(net.create_interface, "lo0") == errno.EEXIST
    assert errno_of(net.destroy_interface, "lo0") == errno.EINVAL
    assert errno_of(net.destroy_interface, "em0") == errno.EINVAL  # not cloned
    assert errno_of(net.destroy_interface, "nope0") == errno.ENXIO
    net.destroy_interface("lo1")
    assert names() == ["lo0", "em0", "lo7"]


def test_rename() -> None:
    _, b = net.create_epair()
    assert net.rename_interface(b, "jail0") == "jail0"
    assert names() == ["lo0", "em0", "epair0a", "jail0"]
    assert errno_of(net.rename_interface, "jail0", "em0") == errno.EEXIST
    # Its own name: nothing to do (if_rename returns 0 before looking).
    assert net.rename_interface("jail0", "jail0") == "jail0"
    assert errno_of(net.rename_interface, "jail0", "") == errno.EINVAL
    assert errno_of(net.rename_interface, "jail0", "x" * 16) == errno.ENAMETOOLONG
    assert errno_of(net.rename_interface, "nope0", "x") == errno.ENXIO
    net.destroy_interface("jail0")  # still an epair end
    assert names() == ["lo0", "em0"]


def test_set_up_and_down() -> None:
    a, _ = net.create_epair()
    assert net.flags(a) & net.IFF_UP == 0
    net.set_up(a)
    assert net.flags(a) & 0x41 == 0x41
    net.set_up(a, up=False)
    assert net.flags(a) & net.IFF_UP == 0
    assert net.flags(a) & 0x8802 == 0x8802  # IFF_CANTCHANGE bits kept


# ---- vnet ------------------------------------------------------------------------


def test_move_to_vnet_jail_and_back_on_removal() -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")
    a, b = net.create_epair()
    net.add_address(b, "198.51.100.2/24")
    assert net.move_to(b, j) == b
    assert names() == ["lo0", "em0", a]
    inside = in_child(lambda: [(i.name, [str(x) for x in i.addresses]) for i in net.interfaces()],
                      attach=j.jid)
    assert inside == [("lo0", []), (b, ["198.51.100.2/24"])]  # the vnet's own lo0
    assert [i.name for i in net.interfaces(j)] == ["lo0", b]
    assert {i.vnet for i in net.interfaces(j)} == {j.jid}
    # A second move: the interface is not in the caller's vnet any more.
    assert errno_of(net.move_to, b, j) == errno.ENXIO
    # The pair's unit stays taken on the host while its b end is lent.
    assert errno_of(net.create_interface, "epair0") == errno.EEXIST
    j.remove()
    assert b in names()  # back home with its name


def test_second_move_same_name_eexist() -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")
    _, b = net.create_epair()
    net.move_to(b, j.jid)
    net.rename_interface(net.create_epair()[1], "x0")
    net.rename_interface("x0", b)  # the same name on the host
    assert errno_of(net.move_to, b, "v") == errno.EEXIST


def test_reclaim() -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")
    _, b = net.create_epair()
    net.move_to(b, j)

    def rename_inside() -> str:
        return net.rename_interface(b, "eth0")

    assert in_child(rename_inside, attach=j.jid) == "eth0"
    assert errno_of(net.reclaim, b, j) == errno.ENXIO  # the jail knows it as eth0
    assert errno_of(net.reclaim, "eth0", 99999) == errno.ENXIO
    assert net.reclaim("eth0", j) == "eth0"
    assert "eth0" in names()
    assert in_child(lambda: [i.name for i in net.interfaces()], attach=j.jid) == ["lo0"]


def test_created_inside_vnet_goes_with_it() -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")

    def make() -> tuple[str, str]:
        return net.create_epair()

    assert in_child(make, attach=j.jid) == ("epair0a", "epair0b")
    assert names() == ["lo0", "em0"]
    assert net.create_epair() == ("epair0a", "epair0b")  # units are per vnet
    j.remove()
    assert names() == ["lo0", "em0", "epair0a", "epair0b"]


def test_epair_crossing_vnets_dies_with_its_home() -> None:
    """An epair made inside a vnet jail whose b end the host reclaimed is
    destroyed whole when the jail's vnet goes (epair's cloner takes both
    ends; the model's decision, docs/net.rst)."""
    need_root()
    j = Jail.create(name="v", vnet="new")
    assert in_child(net.create_epair, attach=j.jid) == ("epair0a", "epair0b")
    assert net.reclaim("epair0b", j) == "epair0b"
    assert names() == ["lo0", "em0", "epair0b"]
    j.remove()
    assert names() == ["lo0", "em0"]


def test_non_vnet_jail_is_eexist() -> None:
    need_root()
    j = Jail.create(name="plain")
    _, b = net.create_epair()
    assert errno_of(net.move_to, b, j) == errno.EEXIST
    assert errno_of(net.move_to, b, 424242) == errno.ENXIO
    assert errno_of(net.move_to, "nope0", j) == errno.ENXIO
    assert errno_of(net.reclaim, b, j) == errno.EEXIST


def test_vnet_move_writes_name_back_abi(abi: ctypes.CDLL, sock: socket.socket) -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")
    _, b = net.create_epair()
    buf = ifreq(b, struct.pack("i", j.jid))
    assert ioctl(abi, sock.fileno(), SIOCSIFVNET, buf) == 0
    assert buf.raw[:16].rstrip(b"\0") == b.encode()


# ---- privilege and jails ---------------------------------------------------------


def test_unprivileged_user_gets_eperm() -> None:
    need_root()
    _, b = net.create_epair()
    j = Jail.create(name="v", vnet="new")

    def attempts() -> list[int]:
        out = []
        for fn, args in ((net.add_address, ("em0", "192.0.2.1/24")),
                         (net.remove_address, ("em0", "192.0.2.1")),
                         (net.create_epair, ()), (net.destroy_interface, (b,)),
                         (net.rename_interface, (b, "x0")), (net.set_up, (b,)),
                         (net.move_to, (b, j.jid)), (net.reclaim, (b, j.jid))):
            try:
                fn(*args)  # type: ignore[operator]
                out.append(0)
            except InterfaceError as e:
                out.append(e.errno or -1)
        return out

    assert in_child(attempts, uid=NOBODY) == [errno.EPERM] * 8
    # Missing interface is ENXIO before the privilege check (ifioctl's ifunit_ref).
    missing = in_child(lambda: errno_of(net.add_address, "nope0", "192.0.2.1"), uid=NOBODY)
    assert missing == errno.ENXIO
    assert names() == ["lo0", "em0", "epair0a", b]


def test_non_vnet_jail_root_gets_eperm_and_sees_its_addresses() -> None:
    need_root()
    net.add_address("em0", "192.0.2.10/24")
    net.add_address("em0", "192.0.2.11/24")
    j = Jail.create(name="plain", ip4__addr=["192.0.2.11"])
    assert in_child(lambda: errno_of(net.add_address, "em0", "192.0.2.12/24"),
                    attach=j.jid) == errno.EPERM
    assert in_child(lambda: errno_of(net.create_epair), attach=j.jid) == errno.EPERM
    seen = in_child(lambda: {i.name: [str(a) for a in i.addresses] for i in net.interfaces()},
                    attach=j.jid)
    assert seen["em0"] == ["192.0.2.11/24"]
    assert "lo0" in seen


def test_vnet_jail_root_manages_its_own_interfaces() -> None:
    """Root in a jail with its own vnet has the VIMAGE privileges
    (prison_priv_check): it configures its interfaces and lends them to a
    vnet jail of its own; its own jid is no child of its (ENXIO)."""
    need_root()
    j = Jail.create(name="v", vnet="new", children__max=1)
    _, b = net.create_epair()
    net.move_to(b, j)

    def inside() -> tuple[list[str], str, str, int]:
        net.add_address(b, "198.51.100.9/24")
        net.set_up(b)
        seen = [str(a) for i in net.interfaces() for a in i.addresses]
        child = Jail.create(name="c", vnet="new", persist=True)
        assert errno_of(net.move_to, b, j.jid) == errno.ENXIO
        lent = net.move_to(b, child.jid)
        back = net.reclaim(b, child.jid)
        return seen, lent, back, len(net.interfaces())

    assert in_child(inside, attach=j.jid) == (["198.51.100.9/24"], b, b, 2)


def test_reclaim_does_not_look_for_the_name_here() -> None:
    """if_vmove_reclaim checks the jail, the interface in the jail's vnet and
    that the vnets differ; not that the name is free in the caller's."""
    need_root()
    j = Jail.create(name="v", vnet="new")
    a, b = net.create_epair()
    net.move_to(b, j)
    net.rename_interface(a, b)
    assert net.reclaim(b, j) == b
    assert names() == ["lo0", "em0", b, b]


def test_jailed_non_vnet_root_cannot_move_interfaces() -> None:
    need_root()
    parent = Jail.create(name="p", children__max=1, persist=True)
    _, b = net.create_epair()
    assert in_child(lambda: errno_of(net.move_to, b, 424242), attach=parent.jid) == errno.EPERM


# ---- a state file written by another process ----------------------------------


@pytest.mark.parametrize(("field", "data"), [
    ("if.naddr", struct.pack("=I", 1000)),
    ("if.name", b"x" * 16),
    ("if.name", b"\0"),
    ("if.peer", struct.pack("=i", 9999)),
    ("if.vnet", struct.pack("=i", -5)),
    ("if.addr", b"\x07"),  # an address family the table never holds
])
def test_tampered_interface_table_refuses_the_host(tmp_path: Path, field: str,
                                                   data: bytes) -> None:
    """An interface entry made malformed between two calls: the next call
    fails with EINVAL and the host is refused from then on."""
    path = tmp_path / "host"

    def child() -> tuple[object, ...]:
        jailcore.model.use_state_file(path)
        net.add_address("em0", "192.0.2.1/24")
        assert names() == ["lo0", "em0"]
        write_state(path, [(state_offset(field, "net.ifs", 1, "sizeof.if"), data)])  # em0
        with pytest.raises(jailcore.ModelHostError) as first_exc:
            net.interfaces()
        first = first_exc.value.errno
        with pytest.raises(jailcore.ModelHostError) as exc:
            jailcore.model.reset()
        return first, exc.value.errno

    assert in_child(child) == (errno.EINVAL, errno.EINVAL)


def test_new_vnet_has_its_own_lo0() -> None:
    need_root()
    j = Jail.create(name="v", vnet="new")
    plain = Jail.create(name="p")

    def look() -> tuple[list[tuple[str, int, list[str]]], int]:
        found = [(i.name, i.flags, [str(a) for a in i.addresses]) for i in net.interfaces()]
        return found, errno_of(net.destroy_interface, "lo0")

    found, err = in_child(look, attach=j.jid)
    assert found == [("lo0", 0x8008, [])] and err == errno.EINVAL  # LOOPBACK|MULTICAST, down
    assert [i.name for i in in_child(net.interfaces, attach=plain.jid)] == ["lo0", "em0"]
    j.remove()
    assert names() == ["lo0", "em0"]


def test_a_vnet_lists_its_interfaces_in_the_order_they_arrived() -> None:
    """getifaddrs walks the vnet's interface list, to which an interface is
    appended when it arrives (if_attach_internal, after a move too): an epair
    made before the jail comes after the jail's own lo0; one that returns
    home comes last on the host."""
    _, b = net.create_epair()
    j = Jail.create(name="v", vnet="new", persist=True)
    net.move_to(b, j)
    assert [i.name for i in net.interfaces(j)] == ["lo0", b]
    net.create_interface("lo")
    net.reclaim(b, j)
    assert names() == ["lo0", "em0", "epair0a", "lo1", b]
