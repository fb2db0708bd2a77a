"""A ctypes driver for the kernel model's exported C ABI, for the model's tests.

It speaks to ``jailcore.model.library_path()`` exactly as a C program would:
iovec arrays of name/value pairs, a flags word, ``-1`` and ``errno``.  Values:

* ``None``: a zero-length value (booleans on set; size queries on get);
* ``str``: the text with its NUL; ``bytes``: exactly those bytes;
* ``I(n)``: a 4-byte int; ``UL(n)``: an unsigned long;
* ``Buf(n, fill=b"")``: an n-byte output buffer, optionally pre-filled;
* ``Null(n)``: a NULL pointer with length n;
* ``IP4(...)``/``IP6(...)``: address arrays.

An ``errmsg`` pair with a 1024-byte zeroed buffer is appended unless the call
passes ``errmsg=None`` or its own ``("errmsg", Buf(...))``.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jailcore.model

JAIL_CREATE = 0x01
JAIL_UPDATE = 0x02
JAIL_ATTACH = 0x04
JAIL_DYING = 0x08
JAIL_USE_DESC = 0x10
JAIL_AT_DESC = 0x20
JAIL_GET_DESC = 0x40
JAIL_OWN_DESC = 0x80

JAIL_SYS_DISABLE = 0
JAIL_SYS_NEW = 1
JAIL_SYS_INHERIT = 2


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


@dataclass(frozen=True)
class I:
    value: int


@dataclass(frozen=True)
class UL:
    value: int


@dataclass(frozen=True)
class Buf:
    size: int
    fill: bytes = b""


@dataclass(frozen=True)
class Null:
    size: int


class IP4(bytes):
    def __new__(cls, *addrs: str) -> IP4:
        return super().__new__(cls, b"".join(ipaddress.IPv4Address(a).packed for a in addrs))


class IP6(bytes):
    def __new__(cls, *addrs: str) -> IP6:
        return super().__new__(cls, b"".join(ipaddress.IPv6Address(a).packed for a in addrs))


Value = None | str | bytes | I | UL | Buf | Null


def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(jailcore.model.library_path(), use_errno=True)
    for fn in ("jailmodel_jail_set", "jailmodel_jail_get"):
        f = getattr(lib, fn)
        f.argtypes = [ctypes.POINTER(Iovec), ctypes.c_uint, ctypes.c_int]
        f.restype = ctypes.c_int
    for fn in (
        "jailmodel_jail_attach",
        "jailmodel_jail_remove",
        "jailmodel_jail_attach_jd",
        "jailmodel_jail_remove_jd",
        "jailmodel_set_version",
        "jailmodel_hold",
        "jailmodel_release",
        "jailmodel_kldunload",
    ):
        f = getattr(lib, fn)
        f.argtypes = [ctypes.c_int]
        f.restype = ctypes.c_int
    for fn in ("jailmodel_kldload", "jailmodel_kldfind", "jailmodel_open"):
        f = getattr(lib, fn)
        f.argtypes = [ctypes.c_char_p]
        f.restype = ctypes.c_int
    lib.jailmodel_sysctl.argtypes = [
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    lib.jailmodel_sysctlbyname.argtypes = [
        ctypes.c_char_p,
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.c_void_p,
        ctypes.c_size_t,
    ]
    lib.jailmodel_sysctlnametomib.argtypes = [
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.jailmodel_reset.restype = ctypes.c_int
    lib.jailmodel_version.restype = ctypes.c_int
    lib.jailmodel_current_jid.restype = ctypes.c_int
    lib.jailmodel_state_path.restype = ctypes.c_char_p
    return lib


LIB = _lib()
LIB.jailmodel_test_offset.argtypes = [ctypes.c_char_p]
LIB.jailmodel_test_offset.restype = ctypes.c_long


def state_offset(field: str, table: str | None = None, entry: int = 0,
                 sizeof: str | None = None) -> int:
    """Where `field` of the host is in a state file (jailmodel_test_offset); with
    `table` and `sizeof`, the field of entry `entry` of that table."""
    where = int(LIB.jailmodel_test_offset(field.encode()))
    assert where >= 0, field
    if table is not None:
        assert sizeof is not None
        base, size = (int(LIB.jailmodel_test_offset(n.encode())) for n in (table, sizeof))
        assert base >= 0 and size > 0, (table, sizeof)
        where += base + entry * size
    return where


def write_state(path: str | os.PathLike[str], writes: Iterable[tuple[int, bytes]]) -> None:
    """Write into a model state file as another process could: each (offset, bytes)."""
    fd = os.open(path, os.O_RDWR)
    try:
        for where, data in writes:
            assert os.pwrite(fd, data, where) == len(data)
    finally:
        os.close(fd)


@dataclass
class Result:
    """What one jail_set/jail_get call returned and wrote."""

    ret: int
    errno: int
    names: list[bytes]
    iov: ctypes.Array[Iovec]
    buffers: list[ctypes.Array[ctypes.c_char] | None]

    @property
    def errmsg(self) -> str:
        """The errmsg buffer up to its first NUL ('' when nothing was written)."""
        for i, n in enumerate(self.names):
            if n == b"errmsg":
                buf = self.buffers[i]
                return b"" if buf is None else buf.raw.split(b"\0", 1)[0].decode()  # type: ignore[return-value]
        raise KeyError("no errmsg in this call")

    def _slot(self, name: str) -> int:
        found = [i for i, n in enumerate(self.names) if n == name.encode()]
        if not found:
            raise KeyError(name)
        return found[-1]

    def len(self, name: str, which: int = -1) -> int:
        """The returned iov_len of the value of `name` (the last pair so named)."""
        idx = [i for i, n in enumerate(self.names) if n == name.encode()][which]
        return int(self.iov[2 * idx + 1].iov_len)

    def raw(self, name: str) -> bytes:
        """The value buffer's bytes, up to the returned iov_len."""
        i = self._slot(name)
        buf = self.buffers[i]
        n = int(self.iov[2 * i + 1].iov_len)
        return b"" if buf is None else buf.raw[:n]

    def int(self, name: str) -> int:
        return int.from_bytes(self.raw(name)[:4], "little", signed=True)

    def ulong(self, name: str) -> int:
        return int.from_bytes(self.raw(name)[: ctypes.sizeof(ctypes.c_ulong)], "little")

    def str(self, name: str) -> str:
        return self.raw(name).split(b"\0", 1)[0].decode()

    def ip4(self, name: str = "ip4.addr") -> list[str]:
        b = self.raw(name)
        return [str(ipaddress.IPv4Address(b[i : i + 4])) for i in range(0, len(b), 4)]

    def ip6(self, name: str = "ip6.addr") -> list[str]:
        b = self.raw(name)
        return [str(ipaddress.IPv6Address(b[i : i + 16])) for i in range(0, len(b), 16)]

    @property
    def ok(self) -> bool:
        return self.ret != -1


def _encode(v: Value) -> tuple[ctypes.Array[ctypes.c_char] | None, int, int | None]:
    """(buffer, length, explicit address) for one value."""
    if v is None:
        return None, 0, None
    if isinstance(v, Null):
        return None, v.size, 0
    if isinstance(v, Buf):
        b = ctypes.create_string_buffer(v.fill.ljust(v.size, b"\0")[: v.size], v.size)
        return b, v.size, None
    if isinstance(v, I):
        data = int(v.value).to_bytes(4, "little", signed=True)
    elif isinstance(v, UL):
        data = int(v.value).to_bytes(ctypes.sizeof(ctypes.c_ulong), "little")
    elif isinstance(v, str):
        data = v.encode() + b"\0"
    elif isinstance(v, bytes):
        data = bytes(v)
    else:
        raise TypeError(f"unsupported value {v!r}")
    b = ctypes.create_string_buffer(data, max(len(data), 1))
    return b, len(data), None


def _call(fn: str, pairs: Sequence[tuple[str | bytes, Value]], flags: int,
          errmsg: Value | str = "auto", niov: int | None = None) -> Result:
    plist = list(pairs)
    if errmsg == "auto":
        plist.append(("errmsg", Buf(1024)))
    elif errmsg is not None:
        plist.append(("errmsg", errmsg))  # type: ignore[arg-type]
    iov = (Iovec * max(2 * len(plist), 1))()
    names: list[bytes] = []
    keep: list[object] = []
    buffers: list[ctypes.Array[ctypes.c_char] | None] = []
    for k, (name, value) in enumerate(plist):
        nb = name.encode() + b"\0" if isinstance(name, str) else bytes(name)
        nbuf = ctypes.create_string_buffer(nb, max(len(nb), 1))
        keep.append(nbuf)
        iov[2 * k].iov_base = ctypes.addressof(nbuf)
        iov[2 * k].iov_len = len(nb)
        vbuf, vlen, addr = _encode(value)
        keep.append(vbuf)
        iov[2 * k + 1].iov_base = addr if addr is not None else (
            ctypes.addressof(vbuf) if vbuf is not None else None)
        iov[2 * k + 1].iov_len = vlen
        names.append(nb.rstrip(b"\0") if isinstance(name, str) else nb.split(b"\0", 1)[0])
        buffers.append(vbuf)
    count = 2 * len(plist) if niov is None else niov
    ctypes.set_errno(0)
    ret = getattr(LIB, fn)(iov, count, flags)
    err = ctypes.get_errno() if ret == -1 else 0
    r = Result(ret, err, names, iov, buffers)
    r._keep = keep  # type: ignore[attr-defined]
    return r


def jail_set(
    pairs: Sequence[tuple[str | bytes, Value]], flags: int = JAIL_CREATE, **kw: object
) -> Result:
    return _call("jailmodel_jail_set", pairs, flags, **kw)  # type: ignore[arg-type]


def jail_get(pairs: Sequence[tuple[str | bytes, Value]], flags: int = 0, **kw: object) -> Result:
    return _call("jailmodel_jail_get", pairs, flags, **kw)  # type: ignore[arg-type]


def create(*pairs: tuple[str, Value], flags: int = JAIL_CREATE) -> int:
    """Create a jail (persist added unless given) and return its jid; fail loudly."""
    names = {p[0] for p in pairs}
    plist = list(pairs)
    if "persist" not in names and "nopersist" not in names and not flags & JAIL_ATTACH:
        plist.append(("persist", None))
    r = jail_set(plist, flags)
    assert r.ok, (r.errno, os.strerror(r.errno), r.errmsg)
    return r.ret


INT_PARAMS = frozenset({
    "jid", "parent", "securelevel", "children.cur", "children.max", "enforce_statfs",
    "devfs_ruleset", "osreldate", "cpuset.id", "persist", "nopersist", "dying", "nodying",
    "host", "vnet", "ip4", "ip6", "ip4.saddrsel", "ip4.nosaddrsel", "ip6.saddrsel",
    "ip6.nosaddrsel", "sysvmsg", "sysvsem", "sysvshm", "lastjid", "desc",
})


def buffer_size(name: str) -> int:
    """The exact buffer size jail_get wants for `name` (strings and arrays: generous)."""
    if name in INT_PARAMS or name.startswith("allow."):
        return 4
    if name == "host.hostid":
        return ctypes.sizeof(ctypes.c_ulong)
    if name.split(".")[0] in ("meta", "env"):
        return 8192
    return 4096


def get(key: tuple[str, Value], *names: str, flags: int = 0) -> Result:
    """jail_get of `names`, each with a buffer of the right size for its type."""
    pairs: list[tuple[str, Value]] = [key]
    for n in names:
        pairs.append((n, Buf(buffer_size(n))))
    return jail_get(pairs, flags)


def errno_of(fn: str, *args: object) -> tuple[int, int]:
    """(return value, errno) of a plain-int model call."""
    ctypes.set_errno(0)
    ret = getattr(LIB, fn)(*args)
    return ret, (ctypes.get_errno() if ret == -1 else 0)


def attach(jid: int) -> tuple[int, int]:
    return errno_of("jailmodel_jail_attach", jid)


def remove(jid: int) -> tuple[int, int]:
    return errno_of("jailmodel_jail_remove", jid)


def sysctlbyname(name: str, size: int = 4096, new: bytes | None = None) -> tuple[int, int, bytes]:
    """(ret, errno, value bytes) of a sysctlbyname read (and write, with `new`)."""
    buf = ctypes.create_string_buffer(size) if size else None
    ln = ctypes.c_size_t(size)
    nb = ctypes.create_string_buffer(new, len(new)) if new is not None else None
    ctypes.set_errno(0)
    ret = LIB.jailmodel_sysctlbyname(
        name.encode(), buf, ctypes.byref(ln), nb, len(new) if new is not None else 0)
    err = ctypes.get_errno() if ret == -1 else 0
    return ret, err, (buf.raw[: ln.value] if buf is not None else b"")


def sysctl(
    mib: Iterable[int], size: int = 4096, new: bytes | None = None
) -> tuple[int, int, bytes, int]:
    """(ret, errno, value bytes, returned length) of a sysctl by MIB."""
    m = list(mib)
    arr = (ctypes.c_int * len(m))(*m)
    buf = ctypes.create_string_buffer(size) if size else None
    ln = ctypes.c_size_t(size)
    nb = ctypes.create_string_buffer(new, len(new)) if new is not None else None
    ctypes.set_errno(0)
    ret = LIB.jailmodel_sysctl(arr, len(m), buf, ctypes.byref(ln), nb,
                               len(new) if new is not None else 0)
    err = ctypes.get_errno() if ret == -1 else 0
    return ret, err, (buf.raw[: ln.value] if buf is not None else b""), ln.value


def nametomib(name: str) -> list[int]:
    arr = (ctypes.c_int * 24)()
    ln = ctypes.c_size_t(24)
    ctypes.set_errno(0)
    ret = LIB.jailmodel_sysctlnametomib(name.encode(), arr, ctypes.byref(ln))
    if ret == -1:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), name)
    return list(arr[: ln.value])
