"""Network interfaces, as ifconfig(8) drives them, by ioctl(2).

The calls are those FreeBSD's ifconfig makes on a socket: ``SIOCAIFADDR`` and
``SIOCDIFADDR`` (``_IN6`` for IPv6) for addresses, ``SIOCIFCREATE2`` and
``SIOCIFDESTROY`` for cloned interfaces (``epair``, ``lo``), ``SIOCSIFNAME``,
``SIOCGIFFLAGS``/``SIOCSIFFLAGS``, ``SIOCSIFVNET``/``SIOCSIFRVNET`` for vnet
jails, and getifaddrs(3) for the listing.  On the model (Linux) they change
the model's host only: nothing touches the machine's own interfaces.

>>> import jailcore.net as net
>>> [i.name for i in net.interfaces()][:2]
['lo0', 'em0']
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jailcore import _backend
from jailcore._backend import BACKEND, ffi, lib
from jailcore.errors import InterfaceError, host_error

if TYPE_CHECKING:
    from jailcore.jail import Jail

__all__ = [
    "Interface",
    "add_address",
    "create_epair",
    "create_interface",
    "destroy_interface",
    "interfaces",
    "move_to",
    "parse_address",
    "reclaim",
    "remove_address",
    "rename_interface",
    "set_up",
]

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

#: The IFF_* flags of net/if.h that ifconfig(8) names, by bit, with its
#: names (sbin/ifconfig/ifconfig.c, IFFBITS): the kernel's internal ones
#: (KNOWSEPOCH, CANTCONFIG, DYING, RENAMING, ...) are not shown.
IFF_NAMES: dict[int, str] = {
    0x1: "UP",
    0x2: "BROADCAST",
    0x4: "DEBUG",
    0x8: "LOOPBACK",
    0x10: "POINTOPOINT",
    0x40: "RUNNING",
    0x80: "NOARP",
    0x100: "PROMISC",
    0x200: "ALLMULTI",
    0x400: "OACTIVE",
    0x800: "SIMPLEX",
    0x1000: "LINK0",
    0x2000: "LINK1",
    0x4000: "LINK2",
    0x8000: "MULTICAST",
    0x20000: "PPROMISC",
    0x40000: "MONITOR",
    0x80000: "STATICARP",
    0x100000: "STICKYARP",
}
IFF_UP = 0x1
IFT_ETHER = 0x06
IFT_LOOP = 0x18
_AF_LINK, _AF_INET, _AF_INET6 = lib.JC_AF_LINK, lib.JC_AF_INET, lib.JC_AF_INET6


@dataclass
class Interface:
    """One network interface as getifaddrs(3) reports it.

    ``flags`` is the IFF_* word (:attr:`flag_names` gives ifconfig's names),
    ``mac`` the link-level address (``"02:4a:..."``, ``None`` for loopback),
    ``addresses`` the IPv4 and IPv6 addresses in the kernel's order, each an
    :class:`ipaddress.IPv4Interface` or :class:`~ipaddress.IPv6Interface`
    (address and prefix), ``broadcast`` the IPv4 broadcast address of each
    IPv4 address that has one, and ``vnet`` the jid of the vnet it was read
    in (0: the caller's own, the host's for a process outside any jail).
    """

    name: str
    index: int
    flags: int
    type: int
    mtu: int
    mac: str | None
    addresses: list[IPInterface] = field(default_factory=list)
    broadcast: dict[ipaddress.IPv4Address, ipaddress.IPv4Address] = field(default_factory=dict)
    scopes: dict[ipaddress.IPv6Address, int] = field(default_factory=dict)
    vnet: int = 0

    @property
    def flag_names(self) -> list[str]:
        """The set flags' names, low bit first, as ifconfig prints them."""
        return [n for bit, n in IFF_NAMES.items() if self.flags & bit]

    @property
    def up(self) -> bool:
        """Whether IFF_UP is set."""
        return bool(self.flags & IFF_UP)

    def to_json(self) -> dict[str, Any]:
        """A dict of plain values, for ``jailcore net ls --json``."""
        return {
            "name": self.name,
            "index": self.index,
            "flags": self.flags,
            "flag_names": self.flag_names,
            "type": self.type,
            "mtu": self.mtu,
            "mac": self.mac,
            "vnet": self.vnet,
            "addresses": [
                {
                    "family": "inet" if a.version == 4 else "inet6",
                    "address": str(a.ip),
                    "prefixlen": a.network.prefixlen,
                    **({"broadcast": str(self.broadcast[a.ip])}
                       if a.version == 4 and a.ip in self.broadcast else {}),
                }
                for a in self.addresses
            ],
        }


def _fail(err: int, operation: str, target: str) -> InterfaceError:
    """The InterfaceError of a failed call; on the model, a ModelHostError
    instead when the failure is the model's host being unusable."""
    if BACKEND == _backend.BACKEND_MODEL:
        _backend.check_model_host(err)
    return host_error(InterfaceError, err, operation, target)  # type: ignore[return-value]


def _ifname(name: str) -> bytes:
    """The interface name as ifr_name holds it: shorter than IFNAMSIZ (16)."""
    if not isinstance(name, str):
        raise TypeError(f"interface name must be str, not {type(name).__name__}")
    raw = name.encode()
    if not raw or len(raw) >= lib.JC_IFNAMSIZ or b"\0" in raw:
        raise ValueError(f"interface name {name!r}: 1 to 15 bytes, no NUL")
    return raw


def interfaces(jail: Jail | int | str | None = None) -> list[Interface]:
    """The interfaces of the caller's vnet and their addresses (getifaddrs(3)).

    With ``jail``, those of that jail's vnet, read from a child process
    attached to it (:meth:`Jail.call`); ``vnet`` is then the jail's jid.  In a
    jail without its own vnet, as on FreeBSD, only the addresses the jail may
    use are listed.
    """
    if jail is not None:
        j = _jail(jail)
        found = j.call(interfaces)
        for i in found:
            i.vnet = j.jid
        return found
    n = 32
    while True:
        rows = ffi.new("struct jc_ifrow[]", n)
        total = lib.jc_if_list(BACKEND, rows, n)
        if total < 0:
            raise _fail(-total, "getifaddrs", "")
        if total <= n:
            break
        n = total + 8
    out: list[Interface] = []
    byname: dict[str, Interface] = {}
    for r in rows[0:total]:
        name = ffi.string(r.name).decode(errors="replace")
        if r.family == _AF_LINK:
            mac = bytes(r.mac[0:r.maclen]).hex(":") if r.maclen else None
            iface = Interface(name, r.index, r.flags, r.type, r.mtu, mac)
            out.append(iface)
            byname[name] = iface
            continue
        owner = byname.get(name)
        if owner is None:
            continue
        iface = owner
        if r.family == _AF_INET:
            ip4 = ipaddress.IPv4Interface((bytes(r.addr[0:4]), r.prefixlen))
            iface.addresses.append(ip4)
            if r.has_dst:
                iface.broadcast[ip4.ip] = ipaddress.IPv4Address(bytes(r.dst[0:4]))
        elif r.family == _AF_INET6:
            ip6 = ipaddress.IPv6Interface((bytes(r.addr[0:16]), r.prefixlen))
            iface.addresses.append(ip6)
            if r.scope:
                iface.scopes[ip6.ip] = r.scope
    return out


_NETMASK = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def parse_address(text: str | IPInterface) -> tuple[IPInterface, bool]:
    """An address in one of jail(8)'s forms, and whether a mask was given.

    ``"192.0.2.10/24"`` (``/N``), ``"192.0.2.10/255.255.255.0"`` (a netmask,
    IPv4 only) and ``"192.0.2.10"`` (no mask: /32, or /128 for IPv6, as jail(8)
    passes ``netmask 255.255.255.255`` and ``prefixlen 128``).
    """
    if isinstance(text, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return text, True
    if not isinstance(text, str):
        raise TypeError(f"address must be str, not {type(text).__name__}")
    addr, slash, mask = text.strip().partition("/")
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None
    if not slash:
        return ipaddress.ip_interface((ip, ip.max_prefixlen)), False
    try:
        if ip.version == 4 and _NETMASK.match(mask):
            return ipaddress.IPv4Interface(f"{ip}/{mask}"), True
        if not mask.isdigit():
            raise ValueError(mask)
        return ipaddress.ip_interface((ip, int(mask))), True
    except ValueError:
        raise ValueError(f"{text!r}: bad mask {mask!r}") from None


def _addr_req(name: str, address: str | IPInterface, broadcast: str | None) -> Any:
    iface, _ = parse_address(address)
    req = ffi.new("struct jc_ifaddr_req *")
    req.name = _ifname(name)
    packed = iface.ip.packed
    req.family = _AF_INET if iface.version == 4 else _AF_INET6
    ffi.memmove(req.addr, packed, len(packed))
    req.prefixlen = iface.network.prefixlen
    if broadcast is not None:
        if iface.version != 4:
            raise ValueError("a broadcast address is for IPv4 only")
        ffi.memmove(req.dst, ipaddress.IPv4Address(broadcast).packed, 4)
        req.has_dst = 1
    return req, iface


def add_address(name: str, address: str | IPInterface, broadcast: str | None = None) -> None:
    """``ifconfig NAME inet|inet6 ADDRESS alias``: SIOCAIFADDR or
    SIOCAIFADDR_IN6.  Adding an address the interface has replaces it."""
    req, iface = _addr_req(name, address, broadcast)
    r = lib.jc_if_addr(BACKEND, 1, req)
    if r < 0:
        op = "SIOCAIFADDR" if iface.version == 4 else "SIOCAIFADDR_IN6"
        raise _fail(-r, op, f"{name} {iface}")


def remove_address(name: str, address: str | IPInterface) -> None:
    """``ifconfig NAME inet|inet6 ADDRESS -alias``: SIOCDIFADDR or
    SIOCDIFADDR_IN6 (the mask, if any, is not looked at)."""
    req, iface = _addr_req(name, address, None)
    r = lib.jc_if_addr(BACKEND, 0, req)
    if r < 0:
        op = "SIOCDIFADDR" if iface.version == 4 else "SIOCDIFADDR_IN6"
        raise _fail(-r, op, f"{name} {iface.ip}")


def _op(op: int, operation: str, name: str, arg: int = 0, new: bytes | None = None,
        target: str | None = None) -> tuple[int, str]:
    buf = ffi.new("char[16]", _ifname(name))
    r = lib.jc_if_op(BACKEND, op, buf, arg, ffi.NULL if new is None else ffi.new("char[]", new))
    if r < 0:
        raise _fail(-r, operation, target or name)
    return r, ffi.string(buf).decode()


def create_interface(name: str) -> str:
    """``ifconfig NAME create``: SIOCIFCREATE2 for a cloner (``"lo"``,
    ``"lo3"``, ``"epair"``, ``"epair5"``); returns the name made (for an
    epair, the a end)."""
    return _op(lib.JC_IF_CREATE, "SIOCIFCREATE2", name)[1]


def create_epair(unit: int | None = None) -> tuple[str, str]:
    """``ifconfig epair create``: a new epair(4), its ends' names (a, b)."""
    a = create_interface("epair" if unit is None else f"epair{unit}")
    return a, a[:-1] + "b"


def destroy_interface(name: str) -> None:
    """``ifconfig NAME destroy``: SIOCIFDESTROY (either end of an epair
    destroys both)."""
    _op(lib.JC_IF_DESTROY, "SIOCIFDESTROY", name)


def rename_interface(name: str, new: str) -> str:
    """``ifconfig NAME name NEW``: SIOCSIFNAME; returns the new name."""
    raw = new.encode() if isinstance(new, str) else new
    if not isinstance(raw, bytes) or b"\0" in raw:
        raise TypeError("the new name must be a str without NUL")
    _op(lib.JC_IF_RENAME, "SIOCSIFNAME", name, 0, raw, f"{name} to {new}")
    return new


def flags(name: str) -> int:
    """SIOCGIFFLAGS: the interface's IFF_* word."""
    return _op(lib.JC_IF_GETFLAGS, "SIOCGIFFLAGS", name)[0]


def set_up(name: str, up: bool = True) -> None:
    """``ifconfig NAME up`` (or ``down``): SIOCSIFFLAGS with IFF_UP set or
    cleared."""
    current = flags(name)
    new = current | IFF_UP if up else current & ~IFF_UP
    _op(lib.JC_IF_SETFLAGS, "SIOCSIFFLAGS", name, new)


def _jail(jail: Jail | int | str) -> Jail:
    from jailcore.jail import Jail

    if isinstance(jail, Jail):
        return jail
    if isinstance(jail, bool) or not isinstance(jail, (int, str)):
        raise TypeError(f"jail must be a Jail, jid or name, not {type(jail).__name__}")
    return Jail.get(jail)


def _jid(jail: Jail | int | str) -> int:
    """The jid as ifconfig's jail_getid(3) finds it: a jid, or a name."""
    if isinstance(jail, int) and not isinstance(jail, bool):
        return jail
    return _jail(jail).jid


def move_to(name: str, jail: Jail | int | str) -> str:
    """``ifconfig NAME vnet JAIL``: SIOCSIFVNET lends the interface to the
    jail's vnet; returns its name there."""
    jid = _jid(jail)
    return _op(lib.JC_IF_VNET, "SIOCSIFVNET", name, jid, target=f"{name} to jail {jid}")[1]


def reclaim(name: str, jail: Jail | int | str) -> str:
    """``ifconfig NAME -vnet JAIL``: SIOCSIFRVNET takes the interface the
    jail knows as ``name`` back to the caller's vnet; returns its name."""
    jid = _jid(jail)
    return _op(lib.JC_IF_RVNET, "SIOCSIFRVNET", name, jid, target=f"{name} from jail {jid}")[1]
