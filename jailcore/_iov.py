"""Marshalling: parameters to one iovec array, one system call, values back.

An :class:`IovecBuilder` owns every buffer it hands to the kernel until the
call returns, so values that jail_get(2) writes back are read from the very
buffers it wrote.  Each call gets a fresh 1024-byte ``errmsg`` buffer.  Nothing
is shared between calls, so builders can be used from many threads at once;
the GIL is released during the system call itself.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from jailcore import _backend
from jailcore._backend import ffi
from jailcore.errors import JailError, jail_error
from jailcore.flags import JailFlag
from jailcore.params import Access, Kind, ParamSpec, spec

ERRMSG_LEN = 1024
ARRAY_GUESS = 16  # addresses tried before asking the kernel for the size
ARRAY_SLACK = 5  # spare addresses after a size query, as libjail allows
ARRAY_RETRIES = 5

_NO_VALUE = ffi.NULL


class IovecBuilder:
    """Name/value pairs for one jail_set(2) or jail_get(2) call."""

    __slots__ = ("_keep", "_names", "_sizes", "_values")

    def __init__(self) -> None:
        self._names: list[bytes] = []
        self._values: list[Any] = []
        self._sizes: list[int] = []
        self._keep: list[Any] = []

    def __len__(self) -> int:
        return len(self._names)

    def add(self, name: str, data: bytes | None) -> int:
        """An input pair; ``None`` is a value of length zero.  Returns its index."""
        if data is None or len(data) == 0:
            buf = _NO_VALUE
            size = 0
        else:
            buf = ffi.new("char[]", len(data))
            ffi.memmove(buf, data, len(data))
            size = len(data)
        return self._append(name, buf, size)

    def add_buffer(self, name: str, size: int, fill: bytes = b"") -> int:
        """An output pair: a zeroed buffer of ``size`` bytes (``fill`` first)."""
        if size == 0:
            return self._append(name, _NO_VALUE, 0)
        buf = ffi.new("char[]", size)
        if fill:
            ffi.memmove(buf, fill, min(len(fill), size))
        return self._append(name, buf, size)

    def resize(self, index: int, size: int) -> None:
        """Give an output pair a new zeroed buffer."""
        self._values[index] = ffi.new("char[]", size) if size else _NO_VALUE
        self._sizes[index] = size

    def _append(self, name: str, buf: Any, size: int) -> int:
        self._names.append(name.encode("utf-8", "surrogateescape"))
        self._values.append(buf)
        self._sizes.append(size)
        return len(self._names) - 1

    def call(self, operation: str, flags: int) -> tuple[int, Any, list[int]]:
        """Make the call: (jid, the iovec array, returned lengths).  Raises JailError."""
        n = len(self._names)
        iov = ffi.new("struct iovec[]", 2 * n + 2)
        keep = []
        for i in range(n):
            name = ffi.new("char[]", self._names[i])
            keep.append(name)
            iov[2 * i].iov_base = name
            iov[2 * i].iov_len = len(self._names[i]) + 1
            iov[2 * i + 1].iov_base = self._values[i]
            iov[2 * i + 1].iov_len = self._sizes[i]
        errname = ffi.new("char[]", b"errmsg")
        errbuf = ffi.new("char[]", ERRMSG_LEN)
        iov[2 * n].iov_base = errname
        iov[2 * n].iov_len = 7
        iov[2 * n + 1].iov_base = errbuf
        iov[2 * n + 1].iov_len = ERRMSG_LEN
        fn = _backend.jail_set if operation == "jail_set" else _backend.jail_get
        jid, err = fn(iov, 2 * n + 2, int(flags))
        if jid == -1:
            msg = ffi.string(errbuf).decode("utf-8", "surrogateescape") or None
            raise jail_error(err, msg, operation)
        return jid, iov, [int(iov[2 * i + 1].iov_len) for i in range(n)]

    def value(self, index: int, length: int) -> bytes:
        buf = self._values[index]
        return b"" if buf == _NO_VALUE or length == 0 else ffi.unpack(buf, length)


# ---- jail_set ------------------------------------------------------------------


def encode_params(params: Mapping[str, Any], creating: bool) -> IovecBuilder:
    """The pairs of a jail_set(2) call for ``params`` (dotted names)."""
    b = IovecBuilder()
    vnet_new = False
    restricted: list[str] = []
    for name, value in params.items():
        s = spec(name)
        if s.access is Access.READ_ONLY:
            raise ValueError(f"{name}: read-only parameter")
        if s.kind is Kind.BOOL:
            b.add(s.bool_name(value), None)
            continue
        data = s.encode(value)
        if s.kind in (Kind.IPV4, Kind.IPV6):
            if not data and creating:
                continue  # no addresses: the default of a new jail, and a vnet conflict
            if data:
                restricted.append(name)
        if name == "vnet" and struct.unpack("i", data)[0] == 1:
            vnet_new = True
        b.add(name, data if data or s.kind is Kind.KEY else None)
    if vnet_new and restricted:
        raise ValueError(
            f"{', '.join(restricted)}: vnet jails cannot have IP address restrictions"
        )
    return b


def jail_set(params: Mapping[str, Any], flags: int) -> int:
    """jail_set(2) with ``params``; returns the jid."""
    b = encode_params(params, creating=bool(flags & JailFlag.CREATE))
    return b.call("jail_set", flags)[0]


# ---- jail_get -------------------------------------------------------------------


def key_pair(key: int | str | Mapping[str, Any]) -> tuple[str, bytes]:
    """The key pair of a jail_get(2): a jid, a name, or ``{"lastjid": n}``/``{"desc": fd}``."""
    if isinstance(key, bool):
        raise TypeError("a jail is named by its jid (int) or name (str), not a bool")
    if isinstance(key, int):
        return "jid", struct.pack("i", key)
    if isinstance(key, str):
        return "name", key.encode("utf-8", "surrogateescape") + b"\0"
    if isinstance(key, Mapping) and len(key) == 1:
        (k, v), = key.items()
        if k in ("jid", "lastjid", "desc"):
            return k, struct.pack("i", int(v))
        if k == "name":
            return k, str(v).encode("utf-8", "surrogateescape") + b"\0"
    raise TypeError(f"a jail_get key is a jid, a name or {{'lastjid': n}}, not {key!r}")


def jail_get(
    key: int | str | Mapping[str, Any], names: Iterable[str], flags: int = 0
) -> tuple[int, dict[str, Any]]:
    """One jail_get(2) of every name in ``names``; (jid, {name: value})."""
    kname, kdata = key_pair(key)
    wanted = list(dict.fromkeys(names))
    specs = [spec(n) for n in wanted]
    b = IovecBuilder()
    index: dict[str, int] = {}
    arrays: list[tuple[int, ParamSpec]] = []
    if kname in wanted and kname in ("jid", "name"):
        # The key slot doubles as the output slot (the kernel writes it back).
        size = spec(kname).size if kname == "name" else 4
        index[kname] = b.add_buffer(kname, max(size, len(kdata)), kdata)
    else:
        b.add(kname, kdata)
    for s in specs:
        slot = _slot(s)
        if slot in index:
            continue
        if s.is_array:
            i = b.add_buffer(slot, ARRAY_GUESS * s.size)
            arrays.append((i, s))
        elif s.kind in (Kind.STRING, Kind.KEYVALUE, Kind.KEY, Kind.OPAQUE):
            i = b.add_buffer(slot, max(s.size, 1))
        else:
            i = b.add_buffer(slot, s.size)
        index[slot] = i
    jid, lengths = _get_with_arrays(b, arrays, flags)
    values: dict[str, Any] = {}
    for s in specs:
        i = index[_slot(s)]
        value = s.decode(b.value(i, lengths[i]))
        values[s.name] = value != s.nobool if s.kind is Kind.BOOL else value
    return jid, values


def _slot(s: ParamSpec) -> str:
    """The name asked of the kernel.  A boolean is always asked by its plain name:
    the kernel keeps only the last of ``persist`` and ``nopersist``, leaving the
    other's buffer unwritten, so both forms must share one slot."""
    return s.base if s.kind is Kind.BOOL else s.name


def _get_with_arrays(
    b: IovecBuilder, arrays: list[tuple[int, ParamSpec]], flags: int
) -> tuple[int, list[int]]:
    """The call, growing address buffers as jailparam_get does when they are too small."""
    for attempt in range(ARRAY_RETRIES + 1):
        try:
            jid, _, lengths = b.call("jail_get", flags)
            return jid, lengths
        except JailError as exc:
            if not arrays or exc.errno != errno.EINVAL or exc.errmsg or attempt == ARRAY_RETRIES:
                raise
        # Too small (or resized meanwhile): ask for the sizes, then allow some slack.
        for i, _s in arrays:
            b.resize(i, 0)
        _, _, sizes = b.call("jail_get", flags)
        for i, s in arrays:
            b.resize(i, sizes[i] + ARRAY_SLACK * s.size)
    raise AssertionError("unreachable")

