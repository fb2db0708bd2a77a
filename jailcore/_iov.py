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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from jailcore import _backend
from jailcore._backend import ffi
from jailcore.errors import JailError, JailNotFoundError, jail_error
from jailcore.flags import JailFlag
from jailcore.params import Access, Kind, ParamSpec, spec
from jailcore.params import on_clear as params_on_clear

ERRMSG_LEN = 1024
ARRAY_GUESS = 16  # addresses tried before asking the kernel for the size
ARRAY_SLACK = 5  # spare addresses after a size query, as libjail allows
ARRAY_RETRIES = 5

_INT = struct.Struct("i")
_CREATE = int(JailFlag.CREATE)

_ERRMSG_PAIR = b"errmsg\0" + bytes(ERRMSG_LEN)


class IovecBuilder:
    """Name/value pairs for one jail_set(2) or jail_get(2) call.

    At call time every name and value goes into one buffer, which the iovec
    array points into (set up in C); values the kernel writes back are read
    from that same buffer.
    """

    __slots__ = ("_blob", "_data", "_names", "_offsets", "_sizes")

    def __init__(self) -> None:
        self._names: list[bytes] = []
        self._data: list[bytes] = []
        self._sizes: list[int] = []
        self._blob: Any = None
        self._offsets: list[int] | None = None

    def __len__(self) -> int:
        return len(self._names)

    def add(self, name: str, data: bytes | None) -> int:
        """An input pair; ``None`` is a value of length zero.  Returns its index."""
        data = data or b""
        return self._append(name, data, len(data))

    def add_buffer(self, name: str, size: int, fill: bytes = b"") -> int:
        """An output pair: a zeroed buffer of ``size`` bytes (``fill`` first)."""
        return self._append(name, fill[:size], size)

    def resize(self, index: int, size: int) -> None:
        """Give an output pair a new zeroed buffer of ``size`` bytes."""
        self._data[index] = b""
        self._sizes[index] = size

    def _append(self, name: str, data: bytes, size: int) -> int:
        self._names.append(name.encode("utf-8", "surrogateescape") + b"\0")
        self._data.append(data)
        self._sizes.append(size)
        return len(self._names) - 1

    def call(self, operation: str, flags: int) -> tuple[int, Any, list[int]]:
        """Make the call: (jid, the iovec array, the value lengths after it).
        Raises JailError."""
        names, sizes = self._names, self._sizes
        parts: list[bytes] = []
        for name, data, size in zip(names, self._data, sizes, strict=True):
            parts.append(name)
            parts.append(data if len(data) == size else data.ljust(size, b"\0"))
        parts.append(_ERRMSG_PAIR)
        lens = [x for pair in zip(map(len, names), sizes, strict=True) for x in pair]
        lens += (7, ERRMSG_LEN)
        n = len(lens)
        blob = ffi.new("char[]", b"".join(parts))
        iov = ffi.new("struct iovec[]", n)
        _backend.lib.jc_iov_pack(iov, n, blob, ffi.new("size_t[]", lens))
        self._blob = blob
        self._offsets = None
        if operation == "jail_set":
            jid, err = _backend.jail_set(iov, n, int(flags))
        else:
            jid, err = _backend.jail_get(iov, n, int(flags))
        if jid == -1:
            msg = ffi.string(blob + (sum(lens) - ERRMSG_LEN)).decode(
                "utf-8", "surrogateescape") or None
            raise jail_error(err, msg, operation)
        if operation == "jail_set":
            return jid, iov, list(sizes)  # jail_set writes no length back
        return jid, iov, [int(iov[2 * i + 1].iov_len) for i in range(len(names))]

    def value(self, index: int, length: int) -> bytes:
        """Bytes the last call left in value ``index`` (``length`` of them)."""
        if length == 0 or self._blob is None:
            return b""
        if self._offsets is None:  # where each value starts, worked out once
            offsets, off = [], 0
            for name, size in zip(self._names, self._sizes, strict=True):
                offsets.append(off + len(name))
                off += len(name) + size
            self._offsets = offsets
        return bytes(ffi.unpack(self._blob + self._offsets[index], length))


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
    b = encode_params(params, creating=bool(int(flags) & _CREATE))
    return b.call("jail_set", flags)[0]


# ---- jail_get -------------------------------------------------------------------


def _key_int(kname: str, value: Any) -> bytes:
    """A key's C int: ValueError (not struct.error or OverflowError) when it
    does not fit."""
    try:
        n = int(value)
    except OverflowError:
        raise ValueError(f"{kname}: {value!r} is not a C int") from None
    if not -(2**31) <= n < 2**31:
        raise ValueError(f"{kname}: {n} is out of range for a C int")
    return _INT.pack(n)


def key_pair(key: int | str | Mapping[str, Any]) -> tuple[str, bytes]:
    """The key pair of a jail_get(2): a jid, a name, or ``{"lastjid": n}``/``{"desc": fd}``."""
    if type(key) is int:
        if -(2**31) <= key < 2**31:
            return "jid", _INT.pack(key)
        return "jid", _key_int("jid", key)
    if type(key) is dict and len(key) == 1 and "lastjid" in key:
        return "lastjid", _key_int("lastjid", key["lastjid"])
    if isinstance(key, bool):
        raise TypeError("a jail is named by its jid (int) or name (str), not a bool")
    if isinstance(key, int):
        return "jid", _key_int("jid", key)
    if isinstance(key, str):
        return "name", _key_name(key)
    if isinstance(key, Mapping) and len(key) == 1:
        (k, v), = key.items()
        if k in ("jid", "lastjid", "desc"):
            return k, _key_int(k, v)
        if k == "name":
            return k, _key_name(str(v))
    raise TypeError(f"a jail_get key is a jid, a name or {{'lastjid': n}}, not {key!r}")


def _key_name(name: str) -> bytes:
    data = name.encode("utf-8", "surrogateescape")
    if b"\0" in data:
        # The kernel would read the name up to the NUL: another jail's.
        raise ValueError(f"name: a NUL character cannot be part of a jail name: {name!r}")
    return data + b"\0"


def jail_get(
    key: int | str | Mapping[str, Any], names: Iterable[str], flags: int = 0
) -> tuple[int, dict[str, Any]]:
    """One jail_get(2) of every name in ``names``; (jid, {name: value}).

    Keys by jid, name or lastjid go through a prepared query (see below)."""
    kname, kdata = key_pair(key)
    if kname in ("jid", "name", "lastjid"):
        return _prepared(key, kname, kdata, tuple(names), flags)
    return _jail_get(key, names, flags)


def _jail_get(
    key: int | str | Mapping[str, Any], names: Iterable[str], flags: int = 0,
    guess: bool = True,
) -> tuple[int, dict[str, Any]]:
    """jail_get(2) with one buffer per value, negotiating address buffers
    (``guess``: first try with room for ARRAY_GUESS addresses)."""
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
    if not guess:
        for i, _s in arrays:
            b.resize(i, 0)
    jid, lengths = _get_with_arrays(b, arrays, flags, guess)
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
    b: IovecBuilder, arrays: list[tuple[int, ParamSpec]], flags: int, guess: bool = True
) -> tuple[int, list[int]]:
    """The call, growing address buffers as jailparam_get does when they are too small
    (``guess`` False: the guess already failed, start with the size query)."""
    for attempt in range(ARRAY_RETRIES + 1):
        if guess or attempt > 0:
            try:
                jid, _, lengths = b.call("jail_get", flags)
                return jid, lengths
            except JailError as exc:
                if (not arrays or exc.errno != errno.EINVAL or exc.errmsg
                        or attempt == ARRAY_RETRIES):
                    raise
        # Too small (or resized meanwhile): ask for the sizes, then allow some slack.
        for i, _s in arrays:
            b.resize(i, 0)
        _, _, sizes = b.call("jail_get", flags)
        for i, s in arrays:
            b.resize(i, sizes[i] + ARRAY_SLACK * s.size)
    raise AssertionError("unreachable")



# ---- prepared queries ------------------------------------------------------------
#
# Reading the same names again and again (Jail.get, jails()) is the hot path.  A
# plan is made once per (key kind, names): the parameter names in one immutable
# C block, a template iovec whose value entries hold offsets into one buffer,
# and a decoder per value.  A call then costs one buffer, one iovec copied from
# the template in C, the system call, and the decoding.  Plans are immutable, so
# threads share them; each call has its own buffer.


class _GetPlan:
    __slots__ = ("_decoders", "_keep", "_key_off", "_key_size", "_n", "_size", "_tmpl",
                 "has_arrays")

    def __init__(self, kname: str, key_size: int, specs: list[ParamSpec]) -> None:
        names: list[bytes] = [kname.encode()]
        sizes: list[int] = [key_size]
        self._decoders: list[tuple[str, int, int, int, bool, Any]] = []
        slots: dict[str, int] = {kname: 0} if kname in ("jid", "name") else {}
        for s in specs:
            slot = _slot(s)
            if slot not in slots:
                if s.is_array:
                    size = ARRAY_GUESS * s.size
                elif s.kind in (Kind.STRING, Kind.KEYVALUE, Kind.KEY, Kind.OPAQUE):
                    size = max(s.size, 1)
                else:
                    size = s.size
                slots[slot] = len(names)
                names.append(slot.encode("utf-8", "surrogateescape"))
                sizes.append(size)
            elif slot == kname and kname == "name":
                sizes[0] = max(sizes[0], s.size)
        names.append(b"errmsg")
        sizes.append(ERRMSG_LEN)
        self._n = 2 * len(names)
        blob = ffi.new("char[]", b"\0".join(names) + b"\0")
        tmpl = ffi.new("struct iovec[]", self._n)
        offsets = []
        pos = noff = 0
        for i, (name, size) in enumerate(zip(names, sizes, strict=True)):
            tmpl[2 * i].iov_base = blob + noff
            tmpl[2 * i].iov_len = len(name) + 1
            noff += len(name) + 1
            tmpl[2 * i + 1].iov_base = ffi.cast("void *", pos)
            tmpl[2 * i + 1].iov_len = size
            offsets.append(pos)
            pos += (size + 7) & ~7
        self._keep = blob
        self._tmpl = tmpl
        self._size = pos
        self._key_off = offsets[0]
        self._key_size = sizes[0]
        self.has_arrays = any(s.is_array for s in specs)
        for s in specs:
            i = slots[_slot(s)]
            fixed, decode = _fast_decoder(s)
            self._decoders.append((s.name, 2 * i + 1, offsets[i], sizes[i], fixed, decode))

    def call(self, kdata: bytes, flags: int) -> tuple[int, dict[str, Any]]:
        buf = ffi.new("char[]", self._size)
        ffi.memmove(buf + self._key_off, kdata, min(len(kdata), self._key_size))
        iov = ffi.new("struct iovec[]", self._n)
        _backend.lib.jc_iov_rebase(iov, self._tmpl, self._n, buf)
        return self.decode_call(buf, iov, flags)

    def decode_call(self, buf: Any, iov: Any, flags: int) -> tuple[int, dict[str, Any]]:
        """The system call on a prepared buffer, and its values decoded."""
        jid, err = _backend.jail_get(iov, self._n, flags)
        if jid == -1:
            msg = ffi.string(buf + (self._size - ERRMSG_LEN)).decode(
                "utf-8", "surrogateescape") or None
            raise jail_error(err, msg, "jail_get")
        raw = ffi.buffer(buf, self._size - ERRMSG_LEN)[:]
        values: dict[str, Any] = {}
        for name, vi, off, size, fixed, decode in self._decoders:
            # Variable-length values report their length in the iovec.
            values[name] = decode(raw, off, size if fixed else iov[vi].iov_len)
        return jid, values


def _fast_decoder(s: ParamSpec) -> tuple[bool, Any]:
    """(fixed length, decoder from a position in the call's buffer) of one
    parameter: the common kinds without a copy, the rest by ParamSpec.decode."""
    k = s.kind
    unpack = _INT.unpack_from
    if k is Kind.BOOL:
        if s.nobool:
            return True, lambda raw, off, n: unpack(raw, off)[0] == 0
        return True, lambda raw, off, n: unpack(raw, off)[0] != 0
    if k is Kind.INT:
        return True, lambda raw, off, n: unpack(raw, off)[0]
    if k is Kind.STRING:
        def text(raw: bytes, off: int, n: int) -> str:
            end = raw.find(b"\0", off, off + n)
            return raw[off : end if end >= 0 else off + n].decode("utf-8", "surrogateescape")

        return True, text
    fixed = not (s.is_array or k in (Kind.KEY, Kind.OPAQUE))
    return fixed, lambda raw, off, n: s.decode(raw[off : off + n])


def iterate(names: tuple[str, ...], flags: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every visible jail in jid order, with ``names`` read in one jail_get(2)
    each (keyed by ``lastjid``, as jls does).  One buffer and one iovec serve the
    whole walk: each value is decoded before the next call overwrites it."""
    plan = _plans.get(("lastjid", names))
    if plan is None:
        plan = _GetPlan("lastjid", 4, [spec(n) for n in dict.fromkeys(names)])
        _plans[("lastjid", names)] = plan
    buf = ffi.new("char[]", plan._size)
    iov = ffi.new("struct iovec[]", plan._n)
    last = 0
    while True:
        _backend.lib.jc_iov_rebase(iov, plan._tmpl, plan._n, buf)  # lengths back to size
        _INT.pack_into(ffi.buffer(buf, 4 + plan._key_off), plan._key_off, last)
        try:
            jid, values = plan.decode_call(buf, iov, flags)
        except JailNotFoundError:
            return
        except JailError as exc:
            if not (plan.has_arrays and exc.errno == errno.EINVAL and not exc.errmsg):
                raise
            try:
                jid, values = _jail_get({"lastjid": last}, names, flags, guess=False)
            except JailNotFoundError:
                return
        yield jid, values
        last = jid


_plans: dict[tuple[str, tuple[str, ...]], _GetPlan] = {}


def prepared_get(
    key: int | str | Mapping[str, Any], names: tuple[str, ...], flags: int = 0
) -> tuple[int, dict[str, Any]]:
    """jail_get(2) of ``names`` through a cached plan; the same as :func:`jail_get`."""
    kname, kdata = key_pair(key)
    return _prepared(key, kname, kdata, names, flags)


def _prepared(
    key: Any, kname: str, kdata: bytes, names: tuple[str, ...], flags: int
) -> tuple[int, dict[str, Any]]:
    plan = _plans.get((kname, names))
    if plan is None:
        specs = [spec(n) for n in dict.fromkeys(names)]
        ksize = spec("name").size if kname == "name" else len(kdata)
        if kname == "name" and len(kdata) > ksize:
            return _jail_get(key, names, flags)
        plan = _GetPlan(kname, ksize, specs)
        if len(_plans) > 256:
            _plans.clear()
        _plans[(kname, names)] = plan
    elif kname == "name" and len(kdata) > plan._key_size:
        return _jail_get(key, names, flags)
    try:
        return plan.call(kdata, flags)
    except JailError as exc:
        # Addresses beyond the guess: negotiate the sizes, as jail_get does.
        if plan.has_arrays and exc.errno == errno.EINVAL and not exc.errmsg:
            return _jail_get(key, names, flags, guess=False)
        raise


def clear_plans() -> None:
    _plans.clear()


params_on_clear.append(clear_plans)
