"""Marshalling: parameters to one iovec array, one system call, values back.

Two paths lead to the seam (jailcore._backend).  Calls go through a plan
(:class:`_SetPlan`, :class:`_GetPlan`), made on first use once per set of
names, whose iovec is laid out in C (csrc/prepared.c).  What a plan does not
take (a value it does not encode, a mapping other than a dict, a descriptor
key) goes through an :class:`IovecBuilder`, the general path, which also
explains refusals.

Either way the memory handed to the kernel is the call's own until the call
returns, so values that jail_get(2) writes back are read from the very
buffers it wrote, and each call gets a zeroed 1024-byte ``errmsg`` buffer.
Calls share only plans, which do not change once made, and a get plan's
spare buffers, each taken off its list by one call at a time (list.pop and
list.append are atomic), so threads can call at once; the GIL is released
during the system call itself.
"""

from __future__ import annotations

import errno
import operator
import struct
import sys

from jailcore import _backend
from jailcore._backend import ffi, lib
from jailcore._backend import get_call as _get_call
from jailcore._backend import set_call as _set_call
from jailcore._backend import set_plan as _set_plan
from jailcore._backend import values as _values
from jailcore._backend import values_plan as _values_plan
from jailcore.errors import JailError, JailNotFoundError, jail_error, path_error
from jailcore.params import (
    _INT_FORMATS,
    BOOL,
    INT,
    INT64,
    IPV4,
    IPV6,
    JAILSYS,
    KEY,
    KEYVALUE,
    LONG,
    OPAQUE,
    READ_ONLY,
    STRING,
    UINT,
    UINT64,
    ULONG,
    ParamSpec,
    address_makers,
    is_mapping,
    spec,
)
from jailcore.params import _LONG as LONG_SIZE
from jailcore.params import _decode_keyvalue as decode_keyvalue
from jailcore.params import on_clear as params_on_clear

TYPE_CHECKING = False  # typing is for the type checker only (see jailcore/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any, TypeVar

# The seam as jailcore defines it: while _backend.jail_set and jail_get are
# these functions, prepared calls make their system call in C; when something
# has wrapped them, every call goes through the wrapper instead.
_SEAM_SET = _backend.jail_set
_SEAM_GET = _backend.jail_get

ERRMSG_LEN: int = lib.JC_ERRMSG_LEN
ARRAY_GUESS = 16  # addresses tried before asking the kernel for the size
ARRAY_SLACK = 5  # spare addresses after a size query, as libjail allows
ARRAY_RETRIES = 5

_INT = struct.Struct("i")
# The flags and jailsys values of <sys/jail.h>, which JailFlag and JailSys
# name: jailcore.flags, and enum with it, is imported only where a program
# uses those types or reads a jailsys value.
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

_ERRMSG_PAIR = b"errmsg\0" + bytes(ERRMSG_LEN)

_PLANS_KEPT = 256
if TYPE_CHECKING:
    _K = TypeVar("_K")
    _V = TypeVar("_V")


def _remember(cache: dict[_K, _V], key: _K, plan: _V) -> _V:
    """Keep ``plan`` in ``cache``, which holds at most _PLANS_KEPT plans and is
    emptied when full: programs use a few sets of names, and one that makes up
    names as it goes must not grow the cache without end."""
    if len(cache) >= _PLANS_KEPT:
        cache.clear()
    cache[key] = plan
    return plan


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
            path = self._data[names.index(_PATH)] if _PATH in names else None
            raise _kernel_error(err, blob + (sum(lens) - ERRMSG_LEN), operation, path)
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


_PATH = b"path\0"
# namei(9)'s errors, which jail_set(2) returns for a path it cannot look up
# (kern_jail.c, kern_jail_set: no errmsg); ENAMETOOLONG only when the path is
# the long one (a name over 256 bytes gives it too).
_PATH_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.ELOOP})


def _kernel_error(err: int, errmsg: Any, operation: str, path: bytes | None = None) -> JailError:
    """The JailError of a failed call: its errno and the message the kernel left
    in the call's errmsg buffer (``errmsg``, a char pointer, or its bytes), if
    any.  A jail_set that sent ``path`` (its bytes) and failed its lookup gives a
    JailPathError."""
    raw_msg = errmsg if type(errmsg) is bytes else ffi.string(errmsg)
    msg = raw_msg.decode("utf-8", "surrogateescape")
    if path is not None and not msg and operation == "jail_set":
        raw = path.split(b"\0", 1)[0]
        if err in _PATH_ERRNOS or (err == errno.ENAMETOOLONG and (
                len(raw) >= 1023 or any(len(c) > 255 for c in raw.split(b"/")))):
            return path_error(err, raw.decode("utf-8", "surrogateescape"), operation)
    return jail_error(err, msg or None, operation)


# All that one jail_get(2) may carry: every option's name, value and the kernel's
# own record of it together (VFS_MOUNTARG_SIZE_MAX and sizeof(struct vfsopt) on
# LP64, vfs_buildopts); more is EINVAL.
_CALL_MAX = 65536
_OPT_OVERHEAD = 48
# Kept free for address buffers, which grow after the size query.
_ARRAY_ROOM = 16384


def _first_sizes(key: tuple[str, int], specs: list[ParamSpec]) -> dict[str, int]:
    """The first buffer of each slot of a jail_get(2) of ``specs`` keyed by
    ``key`` (name, value size): :func:`_first_size`, unless the call would then
    exceed what the kernel accepts, which meta and env can make it do once
    security.jail.meta_maxbufsize is raised: their buffers then share what
    the other values leave (a text is never longer than one value can be),
    and room for addresses besides."""
    sizes: dict[str, int] = {}
    texts: set[str] = set()
    room = 0
    for s in specs:
        if s.is_array:
            room = _ARRAY_ROOM
        slot = _slot(s)
        sizes.setdefault(slot, _first_size(s))
        if s._kind in (KEYVALUE, KEY):
            texts.add(slot)
    total = sum(_OPT_OVERHEAD + len(n.encode("utf-8", "surrogateescape")) + 1 + v
                for n, v in [key, ("errmsg", ERRMSG_LEN), *sizes.items()])
    if total + room > _CALL_MAX and texts:
        share = (_CALL_MAX - room - total + sum(sizes[t] for t in texts)) // len(texts)
        for t in texts:
            sizes[t] = max(min(sizes[t], share), 1)
    return sizes


def _first_size(s: ParamSpec) -> int:
    """The buffer a jail_get(2) first offers for ``s``: room for ARRAY_GUESS
    addresses, a text's maximum (at least one byte), or the value's size."""
    if s.is_array:
        return ARRAY_GUESS * s.size
    if s._kind in (STRING, KEYVALUE, KEY, OPAQUE):
        return max(s.size, 1)
    return s.size


# ---- jail_set ------------------------------------------------------------------


def encode_params(params: Mapping[str, Any], creating: bool) -> IovecBuilder:
    """The pairs of a jail_set(2) call for ``params`` (dotted names)."""
    if not is_mapping(params):
        raise TypeError("jail_set: parameters are a mapping of dotted names to values, "
                        f"not {type(params).__name__}")
    b = IovecBuilder()
    vnet_new = False
    restricted: list[str] = []
    for name, value in params.items():
        s = spec(name)
        if s._access is READ_ONLY:
            raise ValueError(f"{name}: read-only parameter")
        if s._kind is BOOL:
            b.add(s.bool_name(value), None)
            continue
        data = s.encode(value)
        if s._kind in (IPV4, IPV6):
            if not data and creating:
                continue  # no addresses: the default of a new jail, and a vnet conflict
            if data:
                restricted.append(name)
        if name == "vnet" and struct.unpack("i", data)[0] == 1:
            vnet_new = True
        b.add(name, data if data or s._kind is KEY else None)
    if vnet_new and restricted:
        raise ValueError(
            f"{', '.join(restricted)}: vnet jails cannot have IP address restrictions"
        )
    return b


def jail_set(params: Mapping[str, Any], flags: int) -> int:
    """jail_set(2) with ``params``; returns the jid.

    The same names again (Jail.create, Jail.update in a loop) go through a
    prepared plan; what a plan cannot take, including every value it would
    refuse, goes the general way, which explains the refusal."""
    creating = flags & JAIL_CREATE != 0
    if type(params) is dict:  # a dict's keys and values come in one order
        plans = _create_plans if creating else _update_plans
        names = tuple(params)
        try:
            plan = plans[names]
        except KeyError:
            plan = _remember(plans, names, _SetPlan.make(names, creating))
        if plan is not None:
            jid = plan.call(params.values(), flags)
            if jid is not None:
                return jid
    return encode_params(params, creating).call("jail_set", flags)[0]


def create_from_keywords(kwargs: dict[str, Any]) -> int | None:
    """Jail.create's path for keywords alone: their spelling (``host__hostname``)
    is resolved once per set of keywords, ``persist`` added when neither it nor
    ``nopersist`` is given, and no dict of dotted names is built per call.  None
    when the general path must run (it also explains every refusal)."""
    keys = tuple(kwargs)
    try:
        plan = _keyword_plans[keys]
    except KeyError:
        names = tuple(k.replace("__", ".") for k in keys)
        defaults: dict[str, Any] = {}
        if "persist" not in names and "nopersist" not in names:
            defaults["persist"] = True
        plan = None
        if len(set(names)) == len(names):
            plan = _SetPlan.make((*names, *defaults), True, tuple(defaults.values()))
        _remember(_keyword_plans, keys, plan)
    if plan is None:
        return None
    return plan.call(kwargs.values(), JAIL_CREATE)


def update_plan(keys: tuple[str, ...]) -> _SetPlan | None:
    """Jail.update's plan for keywords alone (``keys``, as spelled), as
    create_from_keywords is Jail.create's, made once per spelling: the jid's
    value comes first, already packed (:data:`pack_jid`), and its ``stale``
    are the names the change makes stale in a Jail's values (each dotted name
    and its boolean base).  None when the general path must run (it also
    explains every refusal).  :data:`update_plans` holds those made."""
    try:
        return update_plans[keys]
    except KeyError:
        pass
    names = tuple(k.replace("__", ".") for k in keys)
    plan = None
    if "jid" not in names and len(set(names)) == len(names):
        plan = _SetPlan.make(("jid", *names), False, given=1)
        if plan is not None:
            plan.stale = tuple(dict.fromkeys(n for name in names for n in (name, spec(name).base)))
    return _remember(update_plans, keys, plan)


pack_jid = _INT.pack  # a jid that is a C int (a Jail's), as a plan's first value


# ---- prepared jail_set -----------------------------------------------------------
#
# A plan per set of names, for creating or updating: the names in a C block (see
# csrc/prepared.c), and an encoder per value.  Strings, integers and booleans
# have encoders of their own that take the common case (a str, an int in range,
# True or False) and raise for anything else; addresses are encoded once per
# value seen; other kinds use the parameter's own encoder.
# A call encodes the values, joins them with NULs (which end the strings), has C
# lay out the iovec around them and makes the system call through the seam.
# Checks that need the bytes (a NUL inside a string, a string too long) are made
# in C; when a value fails any check, the general path runs instead.


class _SetPlan:
    __slots__ = ("_c", "_encoders", "_iov_len", "_keep", "_n", "_path_at", "_set", "_tail",
                 "stale")

    def __init__(
        self, specs: list[ParamSpec], creating: bool, defaults: tuple[Any, ...] = (),
        given: int = 0,
    ) -> None:
        """``defaults``: the values of the last specs, the same in every call
        (encoded here, once).  ``given``: how many of the first specs have
        their values handed to :meth:`call` already encoded."""
        self._n = len(specs)
        self._path_at = next((i for i, s in enumerate(specs) if s.name == "path"), -1)
        # The pairs and errmsg, then the message's bytes in the same array.
        self._iov_len = 2 * self._n + 2 + -(-ERRMSG_LEN // ffi.sizeof("struct iovec"))
        c = ffi.new("struct jc_set_slot[]", self._n)
        keep: list[Any] = [c]
        self._encoders: list[Callable[[Any], bytes]] = []
        # The same encoders as C does them (csrc/values.c's set_plan).
        c_encoders: list[tuple[int, int, int, int, Any]] = []
        encode: Callable[[Any], bytes]
        for i, s in enumerate(specs):
            c_encoder: tuple[int, int, int, int, Any] = (lib.JE_FN, 0, 0, 0, s.encode)
            if s._kind is BOOL:
                # True sends the first name, False the other (nopersist, or for
                # nopersist itself, persist).
                names = (s.bool_name(True), s.bool_name(False))
                kind, encode = lib.JC_SET_BOOL, _encode_bool
                c_encoder = (lib.JE_BOOL, 0, 0, 0, None)
            else:
                names = (s.name, s.name)
                if s._kind is STRING:
                    kind, encode = lib.JC_SET_STRING, str.encode
                    c[i].size = s.size
                    c_encoder = (lib.JE_STR, 0, 0, 0, None)
                elif s.is_array:
                    # Text here, packed with inet_pton(3) in C.
                    kind = lib.JC_SET_ADDR6 if s._kind is IPV6 else lib.JC_SET_ADDR4
                    if creating:
                        kind |= lib.JC_SET_ADDR_OPTIONAL
                    encode = _address_text
                    c_encoder = (lib.JE_ADDR, 0, 0, 0, None)
                else:
                    kind = lib.JC_SET_RAW
                    encode = _int_encoder(s) if s._kind in _INT_KINDS else s.encode
                    if s._kind in _INT_KINDS:
                        fmt, lo, hi = _INT_FORMATS[s._kind]
                        c_encoder = (lib.JE_SINT if lo < 0 else lib.JE_UINT,
                                     struct.calcsize(fmt), lo, hi, None)
            name, alt = (ffi.new("char[]", n.encode("utf-8", "surrogateescape")) for n in names)
            keep += (name, alt)
            c[i].name, c[i].name_len = name, len(name)
            c[i].alt, c[i].alt_len = alt, len(alt)
            c[i].kind = kind
            self._encoders.append(encode)
            c_encoders.append(c_encoder)
        self._c = c
        self._keep = keep
        fixed = len(specs) - len(defaults)
        self._tail = [f(v) for f, v in zip(self._encoders[fixed:], defaults, strict=True)]
        self._tail.append(b"")  # the NUL after the last value
        del self._encoders[fixed:]
        del self._encoders[:given]
        self._set = _set_plan(int(ffi.cast("uintptr_t", c)), self._n,
                              tuple(c_encoders[given:fixed]), tuple(self._tail))
        self.stale: tuple[str, ...] = ()  # see update_plan

    @classmethod
    def make(
        cls, names: tuple[str, ...], creating: bool, defaults: tuple[Any, ...] = (),
        given: int = 0,
    ) -> _SetPlan | None:
        """A plan for ``names``, or None where the general path must decide:
        unknown and read-only names, and vnet (its address rule looks at values)."""
        if "vnet" in names:
            return None
        try:
            specs = [spec(n) for n in names]
        except (OSError, ValueError, TypeError):
            return None
        if any(s._access is READ_ONLY for s in specs):
            return None
        return cls(specs, creating, defaults, given)

    def call(self, values: Iterable[Any], flags: int, head: tuple[bytes, ...] = ()) -> int | None:
        """The jid, or None when a value needs the general path.  ``head``: the
        values of the first specs, already encoded (as many as ``given``).
        ``values`` is read once, or twice when the call fails."""
        if _backend.jail_set is _SEAM_SET:
            # Encoded, laid out and made in one C call (csrc/values.c's
            # set_call and csrc/prepared.c's jc_set_call).
            done: int | tuple[int, bytes] | None = _set_call(
                self._set, values, head, _backend.BACKEND, flags)
            if isinstance(done, int):
                return None if done == lib.JC_SET_FALLBACK else done
            if done is None:
                return None
            err, msg = done  # read in C right after the call
            _backend._failed(-err)
            raise _kernel_error(err, msg, "jail_set", self._path(values, head))
        # The seam is wrapped (a tracer, the tests' recorder): the values
        # encoded here, the same layout, and the call through
        # _backend.jail_set, where the wrapper sees it.
        try:
            data = [*head, *map(_apply, self._encoders, values), *self._tail]
        except (TypeError, ValueError):
            return None
        blob = b"\0".join(data)  # the iovec points into it: it lives until the call returns
        lens = list(map(len, data))
        scratch = ffi.new("unsigned char[]", lib.jc_set_scratch(self._c, self._n, lens, len(lens)))
        iov = ffi.new("struct iovec[]", self._iov_len)
        niov = lib.jc_set_iov(iov, self._c, self._n, blob, lens, len(lens), scratch, len(scratch))
        if niov < 0:
            return None
        jid, err = _backend.jail_set(iov, niov, flags)
        if jid == -1:
            path = data[self._path_at] if self._path_at >= 0 else None
            raise _kernel_error(err, ffi.cast("char *", iov + 2 * self._n + 2), "jail_set", path)
        return jid

    def _path(self, values: Iterable[Any], head: tuple[bytes, ...]) -> bytes | None:
        """The value of ``path`` in a call that failed, as it was sent."""
        if self._path_at < 0:
            return None
        data = [*head, *map(_apply, self._encoders, values), *self._tail]
        return data[self._path_at]


# Plans by names, for creating (addresses left out when empty) and for updating.
_create_plans: dict[tuple[str, ...], _SetPlan | None] = {}
_update_plans: dict[tuple[str, ...], _SetPlan | None] = {}
_keyword_plans: dict[tuple[str, ...], _SetPlan | None] = {}  # Jail.create's, by spelling
# Jail.update's, by spelling (update_plan).
update_plans: dict[tuple[str, ...], _SetPlan | None] = {}
_INT_KINDS = frozenset(_INT_FORMATS)
# f(v), without a comprehension's frame (operator.call is new in Python 3.11).
_apply: Callable[[Callable[[Any], bytes], Any], bytes] = getattr(
    operator, "call", lambda f, v: f(v)
)
_ON, _OFF = b"\0", b"\1"


def _encode_bool(value: Any) -> bytes:
    if value is True:
        return _ON
    if value is False:
        return _OFF
    raise TypeError  # 0, 1 and the like: the general path


def _int_encoder(s: ParamSpec) -> Callable[[Any], bytes]:
    fmt, lo, hi = _INT_FORMATS[s._kind]
    pack = struct.Struct(fmt).pack

    def encode(value: Any) -> bytes:
        if type(value) is not int or not lo <= value <= hi:
            raise TypeError  # bools, other ints, out of range: the general path
        return pack(value)

    return encode


def _address_text(value: Any) -> bytes:
    """Addresses given as text ("192.0.2.1", "192.0.2.1,192.0.2.2", or a list
    or tuple of such texts), as UTF-8 for C to pack.  Anything else (address
    objects, an iterator, which the general path must read only once) raises
    TypeError: the general path takes it."""
    if type(value) is str:
        return value.encode()
    if type(value) is list or type(value) is tuple:
        if all(type(v) is str for v in value):
            return ",".join(value).encode()
    raise TypeError


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
    if is_mapping(key) and len(key) == 1:
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
    _no_lastjid(specs)
    b = IovecBuilder()
    index: dict[str, int] = {}
    arrays: list[tuple[int, ParamSpec]] = []
    sizes = _first_sizes((kname, len(kdata)), specs)
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
        i = b.add_buffer(slot, sizes[slot])
        if s.is_array:
            arrays.append((i, s))
        index[slot] = i
    if not guess:
        for i, _s in arrays:
            b.resize(i, 0)
    jid, lengths = _get_with_arrays(b, arrays, flags, guess)
    values: dict[str, Any] = {}
    for s in specs:
        i = index[_slot(s)]
        value = s.decode(b.value(i, lengths[i]))
        values[s.name] = value != s.nobool if s._kind is BOOL else value
    return jid, values


def _no_lastjid(specs: list[ParamSpec]) -> None:
    """lastjid is only ever a key: asked for as a value too, its pair would
    come after the key's, and the kernel, which keeps the last of two pairs of
    one name, would take that zeroed buffer for the key."""
    if any(s.name == "lastjid" for s in specs):
        raise ValueError("lastjid is a key (the jail before the one read), not a value to read")


def _slot(s: ParamSpec) -> str:
    """The name asked of the kernel.  A boolean is always asked by its plain name:
    the kernel keeps only the last of ``persist`` and ``nopersist``, leaving the
    other's buffer unwritten, so both forms must share one slot."""
    return s.base if s._kind is BOOL else s.name


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
# plan is made once per (key kind, names): the names and the layout of one buffer
# in a C block (see csrc/prepared.c), and where each value lies in that buffer and
# how it is made (csrc/values.c).  A call is then one C call: a buffer the plan
# keeps, the iovec laid out at its start, the system call through the seam, the
# returned lengths gathered, and the dict of values made.  Plans are immutable,
# so threads share them; a buffer is one call's at a time.


# How each kind is made (csrc/jc_api.h's JV_*), with the function it calls.
_MAKE: dict[str, tuple[int, Any]] = {
    INT: (lib.JV_I32, None), UINT: (lib.JV_U32, None),
    INT64: (lib.JV_I64, None), UINT64: (lib.JV_U64, None),
    LONG: (lib.JV_I64 if LONG_SIZE == 8 else lib.JV_I32, None),
    ULONG: (lib.JV_U64 if LONG_SIZE == 8 else lib.JV_U32, None),
    BOOL: (lib.JV_BOOL, None), STRING: (lib.JV_STR, None),
    KEYVALUE: (lib.JV_STRFN, decode_keyvalue),
}


def _make_of(s: ParamSpec) -> tuple[int, Any]:
    """How the value of ``s`` is made: the JV_* kind and what it calls.  The
    JailSys members and the address makers are looked up the first time a
    plan reads such a value, so that the enum and ipaddress modules are
    imported then, not at import."""
    made = _MAKE.get(s._kind)
    if made is not None:
        return made
    if s._kind is JAILSYS:
        from jailcore.flags import JailSys

        made = (lib.JV_JAILSYS, (JailSys(0), JailSys(1), JailSys(2)))
    elif s._kind is IPV4 or s._kind is IPV6:
        import ipaddress

        # Made in C as params._fast_address makes them, where its probe found
        # that way equal to the constructor's; else by its maker.
        v4, v6 = address_makers()
        cls: type[Any]
        if s._kind is IPV4:
            cls, make, in_c = ipaddress.IPv4Address, v4, lib.JV_V4
        else:
            cls, make, in_c = ipaddress.IPv6Address, v6, lib.JV_V6
        made = (in_c, cls) if make is not cls else (lib.JV_ADDRS, make)
    else:
        return (lib.JV_BYTESFN, s.decode)
    _MAKE[s._kind] = made
    return made


# A boolean is a C int of 0 or 1: its low byte says it all.
_BOOL_BYTE = 0 if sys.byteorder == "little" else 3


class _GetPlan:
    __slots__ = ("_c", "_errmsg", "_keep", "_niov", "_spares", "_values", "has_arrays",
                 "key_size", "size")

    def __init__(self, kname: str, key_size: int, specs: list[ParamSpec]) -> None:
        _no_lastjid(specs)
        # Slots: what the kernel is asked.  Slot 0 is the key, which doubles as
        # the output of a jid or name asked for.
        slot_of: dict[str, int] = {}
        slots: list[tuple[str, int]] = [(kname, key_size)]
        sizes = _first_sizes((kname, key_size), specs)
        for s in specs:
            slot = _slot(s)
            if slot in slot_of:
                continue
            if slot == kname and kname in ("jid", "name"):
                slot_of[slot] = 0
                if kname == "name":
                    slots[0] = (kname, max(key_size, s.size))
                continue
            slot_of[slot] = len(slots)
            slots.append((slot, sizes[slot]))

        # The buffer: the iovec, the values (8-byte aligned), the returned
        # lengths, the error message.
        n = len(slots)
        names = [name.encode("utf-8", "surrogateescape") + b"\0" for name, _ in slots]
        blob = ffi.new("char[]", b"".join(names))
        c_slots = ffi.new("struct jc_get_slot[]", n)
        self._niov = 2 * n + 2
        offsets: list[int] = []
        pos = self._niov * ffi.sizeof("struct iovec")
        noff = 0
        for i, (_name, size) in enumerate(slots):
            c_slots[i].name = blob + noff
            c_slots[i].name_len = len(names[i])
            c_slots[i].offset = pos
            c_slots[i].size = size
            noff += len(names[i])
            offsets.append(pos)
            pos += (size + 7) & ~7
        lengths = pos
        self._errmsg = lengths + 4 * n
        self.size = self._errmsg + ERRMSG_LEN
        plan = ffi.new("struct jc_get_plan *")
        plan.slots = c_slots
        plan.nslots = n
        plan.lengths = lengths
        plan.errmsg = self._errmsg
        self._c = plan
        self._keep = (blob, c_slots)
        self.key_size = slots[0][1]
        self.has_arrays = any(s.is_array for s in specs)

        # Each value: where it lies, where its returned length lies, and how
        # it is made (csrc/values.c), in the order of the names.
        entries = []
        for s in specs:
            i = slot_of[_slot(s)]
            off = offsets[i]
            kind, fn = _make_of(s)
            if s._kind is BOOL:
                off += _BOOL_BYTE
                kind = lib.JV_NOBOOL if s.nobool else lib.JV_BOOL
            entries.append((s.name, kind, off, lengths + 4 * i, s.size, fn))
        self._values = _values_plan(tuple(entries), int(ffi.cast("uintptr_t", plan)), self.size)
        self._spares: list[tuple[Any, int]] = []

    def call(self, kdata: bytes | int, flags: int) -> tuple[int, dict[str, Any]]:
        """The system call with the key ``kdata`` (its bytes, or for a jid or
        lastjid plan that C int), and its values."""
        if _backend.jail_get is _SEAM_GET:
            # Laid out, made, gathered and its values made in one C call
            # (csrc/values.c's get_call, csrc/prepared.c's jc_get_call), in
            # one of the buffers the plan keeps in C.
            done = _get_call(self._values, kdata, _backend.BACKEND, flags)
            if type(done) is tuple:
                if done[0] >= 0:
                    return done
                _, err = _backend._failed(done[0])
                raise _kernel_error(err, done[1], "jail_get")
            # (callers keep keys within key_size)
            size = 4 if isinstance(kdata, int) else len(kdata)
            raise ValueError(f"a key of {size} bytes does not fit this plan")
        key = pack_jid(kdata) if isinstance(kdata, int) else kdata
        # The seam is wrapped: the call goes through _backend.jail_get, in a
        # buffer of the plan's spares (a new one when none is free), each used
        # by one call at a time: taken off the list before the call and put
        # back once its values are made (a failed call drops it).
        try:
            spare = self._spares.pop()
        except IndexError:
            spare = self.buffer()
        buf = spare[0]
        iov = lib.jc_get_iov(self._c, buf, key, len(key))
        if iov == ffi.NULL:
            raise ValueError(f"a key of {len(key)} bytes does not fit this plan")
        jid, err = _backend.jail_get(iov, self._niov, flags)
        if jid == -1:
            raise _kernel_error(err, buf + self._errmsg, "jail_get")
        lib.jc_get_gather(self._c, buf)
        values = _values(self._values, spare[1])
        self._spares.append(spare)
        return jid, values

    def buffer(self) -> tuple[Any, int]:
        """A new buffer for calls through the plan, and its address."""
        buf = _new_buffer("char[]", self.size)
        return buf, int(ffi.cast("uintptr_t", buf))


# A buffer need not be zeroed: what is read from it is what the call wrote
# (the returned lengths say how much), and the C side clears errmsg.
_new_buffer = ffi.new_allocator(should_clear_after_alloc=False)


def iterate(names: tuple[str, ...], flags: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every visible jail in jid order, with ``names`` read in one jail_get(2)
    each (keyed by ``lastjid``, as jls does).  The plan's spare buffer serves
    the whole walk: each value is decoded before the next call reuses it."""
    plan = _plans.get(("lastjid", names))
    if plan is None:
        plan = _GetPlan("lastjid", 4, [spec(n) for n in dict.fromkeys(names)])
        _remember(_plans, ("lastjid", names), plan)
    last = 0
    while True:
        try:
            jid, values = plan.call(last, flags)  # a C int, as the jids are
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


jid_plans: dict[tuple[str, ...], _GetPlan] = {}  # by names, for a jid key (Jail.get's)


def get_jid(jid: int, names: tuple[str, ...], flags: int = 0) -> tuple[int, dict[str, Any]]:
    """jail_get(2) of ``names`` for a jid that is a C int (a Jail's): the
    shortest way to a plan made before, else :func:`jail_get`."""
    plan = jid_plans.get(names)
    if plan is None:
        return jail_get(jid, names, flags)
    try:
        return plan.call(jid, flags)
    except JailError as exc:
        return get_again(plan, exc, jid, names, flags)


def get_again(plan: _GetPlan, exc: JailError, key: Any, names: tuple[str, ...],
              flags: int) -> tuple[int, dict[str, Any]]:
    """After ``plan`` failed with ``exc``: when addresses were beyond its
    guess, negotiate the sizes as jail_get does; else raise ``exc``."""
    if plan.has_arrays and exc.errno == errno.EINVAL and not exc.errmsg:
        return _jail_get(key, names, flags, guess=False)
    raise exc


def _prepared(
    key: Any, kname: str, kdata: bytes, names: tuple[str, ...], flags: int
) -> tuple[int, dict[str, Any]]:
    plan = jid_plans.get(names) if kname == "jid" else _plans.get((kname, names))
    if plan is None:
        specs = [spec(n) for n in dict.fromkeys(names)]
        ksize = spec("name").size if kname == "name" else len(kdata)
        if kname == "name" and len(kdata) > ksize:
            return _jail_get(key, names, flags)
        plan = _GetPlan(kname, ksize, specs)
        if kname == "jid" and len(kdata) == 4:
            _remember(jid_plans, names, plan)
        else:
            _remember(_plans, (kname, names), plan)
    elif kname == "name" and len(kdata) > plan.key_size:
        return _jail_get(key, names, flags)
    try:
        return plan.call(kdata, flags)
    except JailError as exc:
        return get_again(plan, exc, key, names, flags)


def clear_plans() -> None:
    _plans.clear()
    jid_plans.clear()
    _create_plans.clear()
    _update_plans.clear()
    _keyword_plans.clear()
    update_plans.clear()


params_on_clear.append(clear_plans)
