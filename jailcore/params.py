"""Jail parameters: what each name means and how its value is encoded.

Nothing here is a fixed catalog: every parameter is discovered at run time from
the kernel's sysctl tree ``security.jail.param.*``, the way libjail does it
(its type from the oid's kind and format, a string's maximum length from the
oid's value, create-only and read-only access from its flags), and cached per
process.  A name the cache does not know is looked up again, loading the kernel
module that provides it when there is one (``sysvmsg``, ``allow.mount.nullfs``...),
so parameters of modules loaded while a program runs are found.

The codec of a parameter is chosen by its format, never by the Python value.
"""

from __future__ import annotations

import _thread
import errno
import os
import struct

from jailcore import _backend
from jailcore.errors import UnknownParameterError

# typing, collections.abc and the enum types are for the type checker only
# here (see jailcore/__init__.py and below).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeGuard

    from jailcore._kinds import Access, Kind

__all__ = [
    "Access",
    "Kind",
    "ParamSpec",
    "all_params",
    "clear_cache",
    "spec",
]

PARAM_PREFIX = "security.jail.param."

# sysctl(3) types and flags (<sys/sysctl.h>)
CTLTYPE = 0xF
CTLTYPE_NODE = 1
CTLTYPE_INT = 2
CTLTYPE_STRING = 3
CTLTYPE_S64 = 4
CTLTYPE_STRUCT = 5
CTLTYPE_UINT = 6
CTLTYPE_LONG = 7
CTLTYPE_ULONG = 8
CTLTYPE_U64 = 9
CTLFLAG_RD = 0x80000000
CTLFLAG_WR = 0x40000000
CTLFLAG_TUN = 0x00080000

_LONG = struct.calcsize("l")


# A ParamSpec keeps its kind and access as the values of the Kind and Access
# members they stand for: the enum types are made the first time a program
# uses them (ParamSpec.kind and .access, jailcore.params.Kind and .Access),
# since importing enum costs more than the rest of a first use of jailcore.
INT, UINT, LONG, ULONG, INT64, UINT64 = "int", "uint", "long", "ulong", "int64", "uint64"
BOOL, JAILSYS, STRING, KEYVALUE, KEY = "bool", "jailsys", "string", "keyvalue", "key"
IPV4, IPV6, OPAQUE = "ipv4", "ipv6", "opaque"
KINDS = frozenset({INT, UINT, LONG, ULONG, INT64, UINT64, BOOL, JAILSYS, STRING, KEYVALUE,
                   KEY, IPV4, IPV6, OPAQUE})
WRITABLE, CREATE_ONLY, READ_ONLY = "writable", "create-only", "read-only"
ACCESSES = frozenset({WRITABLE, CREATE_ONLY, READ_ONLY})
_CANONICAL = {v: v for v in KINDS | ACCESSES}


def __getattr__(name: str) -> Any:
    """Kind and Access, made on their first use (PEP 562)."""
    if name in ("Kind", "Access"):
        from jailcore import _kinds

        value = getattr(_kinds, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jailcore.params' has no attribute {name!r}")


_INT_FORMATS = {
    INT: ("i", -(2**31), 2**31 - 1),
    UINT: ("I", 0, 2**32 - 1),
    LONG: ("l", -(2 ** (8 * _LONG - 1)), 2 ** (8 * _LONG - 1) - 1),
    ULONG: ("L", 0, 2 ** (8 * _LONG) - 1),
    INT64: ("q", -(2**63), 2**63 - 1),
    UINT64: ("Q", 0, 2**64 - 1),
}


class ParamSpec:
    """What one jail parameter is, as discovered from the kernel.

    ``name`` is spelled as jail(8) spells it.  ``size`` is the value's size in
    bytes: a string's maximum length including its NUL, or one element of an
    address array.  ``nobool`` marks the ``no`` form of a boolean
    (``nopersist``), ``key`` the key of a ``meta.KEY``/``env.KEY`` name.

    Immutable and compared by value.  (A plain class rather than a dataclass:
    importing dataclasses costs more than the rest of jailcore's core.)
    """

    __slots__ = ("_access", "_kind", "description", "fmt", "key", "name", "nobool", "size")
    #: The fields in the order of the constructor's arguments.
    FIELDS = ("name", "kind", "fmt", "size", "access", "description", "nobool", "key")
    _SLOTS = ("name", "_kind", "fmt", "size", "_access", "description", "nobool", "key")

    name: str
    fmt: str
    size: int
    description: str
    nobool: bool
    key: str | None
    # The values of the Kind and Access members, as the constants above (the
    # same objects, so that `is` compares them).
    _kind: str
    _access: str

    def __init__(self, name: str, kind: Kind | str, fmt: str, size: int,
                 access: Access | str, description: str = "", nobool: bool = False,
                 key: str | None = None) -> None:
        k = _CANONICAL.get(kind if isinstance(kind, str) else kind.value)
        a = _CANONICAL.get(access if isinstance(access, str) else access.value)
        if k not in KINDS or a not in ACCESSES:
            raise ValueError(f"{name}: not a Kind and an Access: {kind!r}, {access!r}")
        for field, value in zip(self._SLOTS, (name, k, fmt, size, a, description,
                                              nobool, key), strict=True):
            object.__setattr__(self, field, value)

    @property
    def kind(self) -> Kind:
        """How the value is encoded."""
        from jailcore._kinds import Kind

        return Kind(self._kind)

    @property
    def access(self) -> Access:
        """When the parameter may be set."""
        from jailcore._kinds import Access

        return Access(self._access)

    def _values(self) -> tuple[Any, ...]:
        """The constructor's arguments (the kind and access as their values)."""
        return tuple(getattr(self, f) for f in self._SLOTS)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParamSpec):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.FIELDS)
        return f"ParamSpec({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ParamSpec, self._values())

    @property
    def is_array(self) -> bool:
        """Whether the value is an array of addresses (``ip4.addr``, ``ip6.addr``)."""
        return self._kind is IPV4 or self._kind is IPV6

    @property
    def writable(self) -> bool:
        """Whether jail_set(2) may change it on an existing jail (access RW)."""
        return self._access is WRITABLE

    @property
    def settable_at_create(self) -> bool:
        """Whether jail_set(2) takes it when creating a jail (not read-only)."""
        return self._access is not READ_ONLY

    @property
    def base(self) -> str:
        """The name the kernel knows: ``persist`` for ``nopersist``, ``meta`` for ``meta.k``."""
        if self.key is not None:
            return self.name[: len(self.name) - len(self.key) - 1]
        if self.nobool:
            return _without_no(self.name) or self.name
        return self.name

    def describe(self) -> str:
        """One paragraph: format, access and meaning, for help()."""
        what = {
            STRING: f"string of at most {self.size - 1} bytes",
            KEYVALUE: f"key=value text of at most {self.size - 1} bytes (a dict)",
            KEY: f"one key of {self.base} (a str, or None to remove it)",
            IPV4: "IPv4 addresses (a tuple)",
            IPV6: "IPv6 addresses (a tuple)",
            BOOL: "boolean",
            JAILSYS: "jailsys: disable, new or inherit",
        }.get(self._kind, f"{self._kind} ({self.size} bytes)")
        text = f"{self.name}: {what}; {self._access}; sysctl format {self.fmt!r}"
        if self.nobool:
            text += f"; the negation of {self.base}"
        if self.description:
            text += f".\n{self.description}"
        return text

    # ---- codecs -------------------------------------------------------------

    def encode(self, value: Any) -> bytes:
        """The bytes jail_set(2) takes for ``value`` (booleans: see :meth:`bool_name`).

        Raises TypeError or ValueError, naming the parameter, for a value the
        parameter cannot take.
        """
        k = self._kind
        try:
            if k in _INT_FORMATS:
                return _encode_int(k, value)
            if k is BOOL:
                _check_bool(value)
                return b""
            if k is JAILSYS:
                from jailcore.flags import JailSys

                return struct.pack("i", int(JailSys.parse(value)))
            if k is STRING:
                if self.name == "path" and not isinstance(value, str):
                    value = _fs_text(value)
                return _encode_text(value, self.size)
            if k is KEYVALUE:
                return _encode_keyvalue(value, self.size)
            if k is KEY:
                if value is None:
                    return b""
                return _encode_key_value(value, self.size)
            if k is IPV4 or k is IPV6:
                import ipaddress

                family: type[Any] = (ipaddress.IPv4Address if k is IPV4
                                     else ipaddress.IPv6Address)
                return b"".join(a.packed for a in _addresses(value, family))
            if isinstance(value, (bytes, bytearray, memoryview)):
                return bytes(value)
            raise TypeError(f"expected bytes, not {type(value).__name__}")
        except (TypeError, ValueError) as exc:
            # Not type(exc): subclasses such as UnicodeEncodeError take other arguments.
            cls = TypeError if isinstance(exc, TypeError) else ValueError
            raise cls(f"{self.name}: {exc}") from None

    def bool_name(self, value: Any) -> str:
        """The name jail_set(2) gets for a boolean set to ``value``: the
        parameter's own, or its ``no`` form (before the last dotted component)."""
        try:
            _check_bool(value)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None
        on = bool(value) != self.nobool
        return self.base if on else _with_no(self.base)

    def decode(self, data: bytes) -> Any:
        """The Python value of the bytes jail_get(2) returned."""
        k = self._kind
        if k in _INT_FORMATS:
            fmt = _INT_FORMATS[k][0]
            return struct.unpack(fmt, data[: struct.calcsize(fmt)])[0]
        if k is BOOL:
            return struct.unpack("i", data[:4])[0] != 0
        if k is JAILSYS:
            from jailcore.flags import JailSys

            v = struct.unpack("i", data[:4])[0]
            return JailSys(v) if v in (0, 1, 2) else v
        if k is STRING:
            return _text(data)
        if k is KEYVALUE:
            return _decode_keyvalue(_text(data))
        if k is KEY:
            return None if not data else _text(data)
        if k is IPV4:
            return _addresses_of(data, 4)
        if k is IPV6:
            return _addresses_of(data, 16)
        return bytes(data)

    def export(self, value: Any) -> Any:
        """The value as ``jls --libxo json -n`` shows it: strings for numbers,
        true/false for booleans, lists of strings for addresses."""
        k = self._kind
        if k is BOOL:
            return bool(value)
        if k is JAILSYS:
            from jailcore.flags import JailSys

            return str(value) if isinstance(value, JailSys) else str(int(value))
        if k in _INT_FORMATS:
            return str(value)
        if k in (IPV4, IPV6):
            return [str(a) for a in value]
        if k is KEYVALUE:
            return _keyvalue_text(value)
        if k is KEY:
            return "" if value is None else value
        if k is OPAQUE:
            return bytes(value).hex()
        return value


# ---- codec helpers ----------------------------------------------------------


def _check_bool(value: Any) -> None:
    if not isinstance(value, bool) and not (isinstance(value, int) and value in (0, 1)):
        raise TypeError(f"expected a bool, not {value!r}")


def _encode_int(kind: str, value: Any) -> bytes:
    fmt, lo, hi = _INT_FORMATS[kind]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{value} is out of range for a C {kind} ({lo}..{hi})")
    return struct.pack(fmt, value)


def _encode_text(value: Any, size: int) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"expected a str, not {type(value).__name__}")
    data = value.encode("utf-8", "surrogateescape")
    if b"\0" in data:
        raise ValueError("a NUL character cannot be part of the value")
    if size and len(data) + 1 > size:
        raise ValueError(f"{len(data)} bytes is longer than the maximum of {size - 1}")
    return data + b"\0"


def _fs_text(value: Any) -> Any:
    """A path given as :class:`os.PathLike` or bytes, as text (others unchanged)."""
    if isinstance(value, (bytes, os.PathLike)):
        return os.fsdecode(value)
    return value


def _text(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _encode_key_value(value: Any, size: int) -> bytes:
    data = _encode_text(value, size)
    if b"\n" in data:
        raise ValueError("a newline cannot be part of the value")
    return data


def _keyvalue_text(value: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in value.items())


def _encode_keyvalue(value: Any, size: int) -> bytes:
    if isinstance(value, str):
        return _encode_text(value, size)
    if not is_mapping(value):
        raise TypeError(f"expected a dict of str to str, not {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError("expected a dict of str to str")
        if not k or "=" in k or "\n" in k:
            raise ValueError(f"invalid key {k!r}: it must be non-empty, without '=' or newline")
        if "\n" in v:
            raise ValueError(f"the value of {k!r} has a newline")
    return _encode_text(_keyvalue_text(value), size)


def _decode_keyvalue(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.split("\n"):
        if line:
            k, _, v = line.partition("=")
            out[k] = v
    return out


def is_mapping(value: object) -> TypeGuard[Mapping[Any, Any]]:
    """``isinstance(value, collections.abc.Mapping)``, importing
    collections.abc (and collections) only for a value that is not a dict."""
    if isinstance(value, dict):
        return True
    from collections.abc import Mapping

    return isinstance(value, Mapping)


def _fast_address(cls: type[Any]) -> Callable[[bytes], Any]:
    """``cls(packed)`` for ipaddress's IPv4Address or IPv6Address, made
    without the checks its constructor makes of an argument that could be
    anything: the object and its integer, as ipaddress keeps them.  This
    reaches into ipaddress's slots, so the maker is first compared with the
    constructor on a probe; where they differ, the constructor is used."""
    import ipaddress

    new, from_bytes = object.__new__, int.from_bytes
    v4 = issubclass(cls, ipaddress.IPv4Address)

    def make4(packed: bytes) -> Any:
        a = new(cls)
        a._ip = from_bytes(packed, "big")
        return a

    def make6(packed: bytes) -> Any:
        a = new(cls)
        a._ip = from_bytes(packed, "big")
        a._scope_id = None
        return a

    make = make4 if v4 else make6
    probe = bytes(range(0xa1, 0xa1 + (4 if v4 else 16)))
    try:
        made, real = make(probe), cls(probe)
        same = (made == real and hash(made) == hash(real) and repr(made) == repr(real)
                and made.packed == probe and str(made) == str(real)
                and made.reverse_pointer == real.reverse_pointer)
    except Exception:  # any difference at all means: use the constructor
        same = False
    return make if same else cls


_makers: tuple[Callable[[bytes], Any], Callable[[bytes], Any]] | None = None


def address_makers() -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]]:
    """The makers of IPv4Address and IPv6Address objects from their packed
    bytes (see _fast_address).  ipaddress is imported, and the makers made,
    the first time an address is read, not at import: a program that never
    reads one does not pay for it."""
    global _makers
    if _makers is None:
        import ipaddress

        _makers = (_fast_address(ipaddress.IPv4Address),
                   _fast_address(ipaddress.IPv6Address))
    return _makers


def _addresses_of(data: bytes, size: int) -> tuple[Any, ...]:
    """Address objects of a packed array (``size`` 4 or 16 bytes each).
    Nothing is cached: a jail never read before costs what one read again
    does, and a lone address (the common case) is made without a loop."""
    v4, v6 = _makers or address_makers()
    make = v4 if size == 4 else v6
    if len(data) == size:
        return (make(data),)
    return tuple(make(data[i : i + size]) for i in range(0, len(data) - size + 1, size))


def _addresses(value: Any, cls: type[Any]) -> list[Any]:
    if isinstance(value, (str, cls)):
        value = [value]
    try:
        if isinstance(value, (bytes, bytearray)):
            raise TypeError
        items = iter(value)
    except TypeError:
        raise TypeError(f"expected {cls.__name__} addresses, "
                        f"not {type(value).__name__}") from None
    out = []
    for item in items:
        if isinstance(item, str):
            for part in item.split(","):
                if part.strip():
                    out.append(_address(cls, part.strip()))
        elif isinstance(item, cls):
            _no_zone(item)
            out.append(item)
        else:
            raise TypeError(f"expected {cls.__name__} addresses, not {item!r}")
    return out


def _address(cls: type[Any], text: str) -> Any:
    try:
        address = cls(text)
    except ValueError:
        if "|" in text:
            raise ValueError(f"{text}: {JAIL8_ADDRESS_NOTE}") from None
        raise
    _no_zone(address)
    return address


def _no_zone(address: Any) -> None:
    """An IPv6 address with a zone (fe80::1%em0) is refused: inet_pton(3), which
    libjail and jail(8) use, takes none, and the kernel's in6_addr has no room
    for it (storing the address without it would change its meaning)."""
    if getattr(address, "scope_id", None):
        raise ValueError(f"{address}: an IPv6 address with a zone (%{address.scope_id}) "
                         "is not one the kernel takes (inet_pton refuses it)")


#: Why "em0|192.0.2.10" is refused, for every place that parses addresses.
JAIL8_ADDRESS_NOTE = ("the interface|address form is jail(8)'s, which adds the address to "
                      "the interface itself; the kernel's parameter takes addresses only")


def _without_no(name: str) -> str | None:
    head, dot, last = name.rpartition(".")
    if not last.startswith("no") or len(last) == 2:
        return None
    return f"{head}{dot}{last[2:]}"


def _with_no(name: str) -> str:
    head, dot, last = name.rpartition(".")
    return f"{head}{dot}no{last}"


# ---- discovery ----------------------------------------------------------------

_SYNTHETIC = {
    "lastjid": ParamSpec("lastjid", INT, "I", 4, READ_ONLY, "Key: the jail after"),
    "desc": ParamSpec("desc", INT, "I", 4, WRITABLE, "Jail descriptor"),
}

_cache: dict[str, ParamSpec] = {}
_all: tuple[str, ...] | None = None
_lock = _thread.allocate_lock()  # threading.Lock(), without importing threading


#: Called by clear_cache(): caches built on specs (the prepared queries) register here.
on_clear: list[Callable[[], None]] = []


def clear_cache() -> None:
    """Forget every discovered parameter (the next use discovers them again)."""
    global _all
    with _lock:
        _cache.clear()
        _all = None
    for forget in on_clear:
        forget()


def _oidfmt(mib: list[int]) -> tuple[int, str] | None:
    err, data = _backend.sysctl([0, 4, *mib], 1024)
    if err or len(data) < 4:
        return None
    kind = struct.unpack("I", data[:4])[0]
    return kind, _text(data[4:])


def _oidname(mib: list[int]) -> str | None:
    err, data = _backend.sysctl([0, 1, *mib], 1024)
    return None if err else _text(data)


def _oiddescr(mib: list[int]) -> str:
    err, data = _backend.sysctl([0, 5, *mib], 4096)
    return "" if err else _text(data)


def _next_oid(mib: list[int]) -> list[int] | None:
    err, data = _backend.sysctl([0, 2, *mib], 4 * 24)
    if err or not data:
        return None
    return list(struct.unpack(f"{len(data) // 4}i", data))


def _lookup(name: str) -> tuple[list[int], int, str] | None:
    """(mib, kind, format) of security.jail.param.<name>, following a node to
    its empty-named child that carries the type."""
    err, mib = _backend.sysctlnametomib(PARAM_PREFIX + name)
    if err:
        return None
    fk = _oidfmt(mib)
    if fk is None:
        return None
    kind, fmt = fk
    if kind & CTLTYPE != CTLTYPE_NODE:
        return mib, kind, fmt
    # A node that is a parameter carries its type in an empty-named child.
    want = PARAM_PREFIX + name + "."
    cur: list[int] | None = mib
    for _ in range(256):
        cur = _next_oid(cur) if cur is not None else None
        if cur is None or cur[: len(mib)] != mib:
            return None
        if _oidname(cur) == want:
            child = _oidfmt(cur)
            return None if child is None else (cur, child[0], child[1])
    return None


# The file systems whose modules add an allow.mount.FS parameter (jail(8)'s
# list): the only modules an allow.mount.* name loads.  libjail's kldload_param
# (lib/libjail/jail.c) loads whatever module allow.mount.X names, so a typo
# run as root could load an unrelated module (allow.mount.ipfw: a firewall);
# jailcore stops at the file systems.
MOUNT_MODULES = frozenset({
    "devfs", "fdescfs", "fusefs", "lindebugfs", "linprocfs", "linsysfs", "nullfs",
    "procfs", "tmpfs", "zfs",
})


def _module_for(name: str) -> list[str]:
    """Kernel modules that may provide parameter ``name``, as libjail's
    kldload_param chooses them (``linux`` for linux and linux.*, the sysv
    modules for their own names, the file system of allow.mount.FS and of its
    no form), limited to :data:`MOUNT_MODULES` for allow.mount.*."""
    first = name.split(".", 1)[0]
    if first in ("sysvmsg", "sysvsem", "sysvshm") and name == first:
        return [first]
    if first == "linux":
        return ["linux"]
    if name.startswith("allow.mount."):
        fs = name[len("allow.mount.") :]
        return [m for m in (fs, fs[2:] if fs.startswith("no") else "") if m in MOUNT_MODULES]
    return []


def _module_not_loaded(name: str) -> str | None:
    """The module that might provide ``name`` but that jailcore does not load
    for it (libjail would not either, but for allow.mount.*): a MAC policy's
    ``mac.POLICY...`` (mac_POLICY), or allow.mount.X beyond the file systems."""
    parts = name.split(".")
    if parts[0] == "mac" and len(parts) > 1 and parts[1]:
        return "mac_" + parts[1]
    if name.startswith("allow.mount.") and len(parts) == 3 and parts[2]:
        fs = parts[2]
        if fs not in MOUNT_MODULES and not (fs.startswith("no") and fs[2:] in MOUNT_MODULES):
            return fs
    return None


def _access(kind: int) -> str:
    if kind & CTLFLAG_WR:
        return WRITABLE
    if kind & CTLFLAG_TUN:
        return CREATE_ONLY
    return READ_ONLY


def _make(name: str, mib: list[int], kind: int, fmt: str, nobool: bool) -> ParamSpec:
    ctl = kind & CTLTYPE
    access = _access(kind)
    descr = _oiddescr(mib)
    base_fmt = fmt[:-2] if fmt.endswith(",a") else fmt
    if nobool and not (ctl == CTLTYPE_INT and base_fmt.startswith("B")):
        raise unknown_parameter(name)
    if ctl in (CTLTYPE_INT, CTLTYPE_UINT):
        if base_fmt.startswith("B"):
            k = BOOL
        elif base_fmt == "E,jailsys":
            k = JAILSYS
        else:
            k = INT if ctl == CTLTYPE_INT else UINT
        return ParamSpec(name, k, fmt, 4, access, descr, nobool)
    if ctl in (CTLTYPE_LONG, CTLTYPE_ULONG):
        k = LONG if ctl == CTLTYPE_LONG else ULONG
        return ParamSpec(name, k, fmt, _LONG, access, descr)
    if ctl in (CTLTYPE_S64, CTLTYPE_U64):
        return ParamSpec(name, INT64 if ctl == CTLTYPE_S64 else UINT64, fmt, 8,
                         access, descr)
    if ctl == CTLTYPE_STRING:
        err, data = _backend.sysctl(mib, 64)
        try:
            size = int(_text(data)) if not err else 0
        except ValueError:
            size = 0
        k = KEYVALUE if base_fmt == "A,keyvalue" else STRING
        return ParamSpec(name, k, fmt, size, access, descr)
    if ctl == CTLTYPE_STRUCT:
        if base_fmt == "S,in_addr":
            return ParamSpec(name, IPV4, fmt, 4, access, descr)
        if base_fmt == "S,in6_addr":
            return ParamSpec(name, IPV6, fmt, 16, access, descr)
        err, data = _backend.sysctl(mib, 8)
        size = struct.unpack("N", data[:8].ljust(8, b"\0"))[0] if not err else 0
        return ParamSpec(name, OPAQUE, fmt, int(size), access, descr)
    raise ValueError(f"unknown type for {name}")


def _discover(name: str) -> ParamSpec:
    if name in _SYNTHETIC:
        return _SYNTHETIC[name]
    # sysctl resolves "host." to the node and "host.." to its type; no parameter is
    # spelled with an empty component, though a key may be ("meta.a..b").
    well_formed = "" not in name.split(".")
    found = _lookup(name) if well_formed else None
    if found is None and well_formed:
        for mod in _module_for(name):
            ret, err = _backend.kldload(mod)
            if ret != -1:
                global _all
                _all = None
            if ret != -1 or err == errno.EEXIST:
                found = _lookup(name)
                if found is not None:
                    break
    if found is not None:
        return _make(name, *found, nobool=False)
    plain = _without_no(name)
    if plain is not None and well_formed:
        found = _lookup(plain)
        if found is not None:
            return _make(name, *found, nobool=True)
    head, _, key = name.partition(".")
    if head and key:
        parent = _lookup(head)
        if parent is not None and parent[2] == "A,keyvalue":
            p = _make(head, *parent, nobool=False)
            return ParamSpec(name, KEY, p.fmt, p.size, p._access, p.description, key=key)
    raise unknown_parameter(name)


# jail(8)'s pseudo-parameters (jail(8) and jail.conf(5)): jail(8) acts on them
# itself and never passes them to jail_set(2).
_PSEUDO = frozenset({
    "command", "mount", "interface", "depend", "ip_hostname", "stop.timeout",
    "vnet.interface", "zfs.dataset", "allow.dying", "allow.nodying",
})
_PSEUDO_PREFIXES = ("exec.", "mount.")


def is_pseudo_parameter(name: str) -> bool:
    """Whether ``name`` is one of jail(8)'s pseudo-parameters (``exec.start``,
    ``command``, ``mount.devfs``, ``interface``, ``vnet.interface``, ``depend``...)."""
    return name in _PSEUDO or name.startswith(_PSEUDO_PREFIXES)


def unknown_parameter(name: str) -> UnknownParameterError:
    """The error for a name the kernel does not know: a note for jail(8)'s
    pseudo-parameters, else the closest names the kernel knows."""
    if is_pseudo_parameter(name):
        return UnknownParameterError(
            name, note="a jail(8) pseudo-parameter: jail(8) acts on it itself and never "
            "passes it to the kernel; jailcore will handle it in its jail.conf lifecycle, "
            "not in jail_set")
    module = _module_not_loaded(name)
    if module is not None:
        return UnknownParameterError(
            name, suggest(name), note=f"jailcore loads no module {module} for it: if that "
            "module provides it, load it first with kldload(8)")
    return UnknownParameterError(name, suggest(name))


def suggest(name: str, limit: int = 3) -> tuple[str, ...]:
    """The known parameter names closest to ``name``: those it is the last part
    of (``hostname``: ``host.hostname``), then the most alike."""
    import difflib

    try:
        known = all_params()
    except OSError:
        return ()
    tail = tuple(k for k in known if k.endswith("." + name))
    close = difflib.get_close_matches(name, known, n=limit, cutoff=0.75)
    return tuple(dict.fromkeys((*tail, *close)))[:limit]


def spec(name: str) -> ParamSpec:
    """The :class:`ParamSpec` of a parameter name, discovered from the kernel.

    Raises ValueError("unknown parameter: NAME") for a name the kernel does not
    know even after loading the module that would provide it.
    """
    if not isinstance(name, str):
        raise TypeError(f"a parameter name is a str, not {type(name).__name__}")
    found = _cache.get(name)
    if found is None:
        if "\0" in name:
            # The kernel reads a name up to its first NUL: "persist\0x" would be persist.
            raise ValueError(f"unknown parameter: {name!r} (a name cannot contain a NUL)")
        found = _discover(name)
        global _all
        with _lock:
            _cache[name] = found
            if _all is not None and found.base not in _all and name not in _SYNTHETIC:
                _all = None  # a module was loaded meanwhile: enumerate again
    return found


def all_params() -> tuple[str, ...]:
    """Every parameter the kernel offers now, as jailparam_all() lists them:
    the oids under ``security.jail.param``, in the kernel's order."""
    global _all
    if _all is not None:
        return _all
    err, top = _backend.sysctlnametomib(PARAM_PREFIX.rstrip("."))
    if err:
        raise OSError(err, "sysctl security.jail.param")
    names: list[str] = []
    cur: list[int] | None = top
    while True:
        cur = _next_oid(cur) if cur is not None else None
        if cur is None or cur[: len(top)] != top:
            break
        full = _oidname(cur)
        if full is None or not full.startswith(PARAM_PREFIX):
            break
        name = full[len(PARAM_PREFIX) :].rstrip(".")
        if name not in names:
            names.append(name)
    with _lock:
        _all = tuple(names)
    return _all


def describe(name: str) -> ParamSpec:
    """The :class:`ParamSpec` of ``name``, documented so that ``help()`` on it
    gives the parameter's format, access and meaning::

        >>> help(jailcore.describe("host.hostname"))  # doctest: +SKIP
    """
    s = spec(name)
    doc = s.describe()
    cls = type(f"ParamSpec[{name}]", (ParamSpec,), {"__doc__": doc, "__slots__": ()})
    return cls(*s._values())  # type: ignore[no-any-return]
