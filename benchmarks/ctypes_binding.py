"""The ctypes baseline: jail calls written the ordinary ctypes way.

This is how Python bindings built on :mod:`ctypes` drive jail_set(2) and
jail_get(2): every call builds its ``struct iovec`` array anew, makes a fresh
``create_string_buffer`` for each name and each value, appends an ``errmsg``
buffer, calls through ``ctypes.CDLL`` with ``use_errno`` and decodes the
values from the buffers (ints with ``from_buffer``, strings with ``.value``,
addresses with :func:`socket.inet_ntop`).  The type of each parameter comes
from a table made once (here from jailcore's discovered specs, before anything
is timed), as such bindings carry a static table.  It is deliberately plain:
no caching of buffers between calls, no prepared iovecs.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Iterable, Mapping
from typing import Any

JAIL_CREATE = 0x01
JAIL_UPDATE = 0x02
ERRMSG_LEN = 1024
ADDR_GUESS = 16


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class CtypesError(OSError):
    pass


class Binding:
    """jail_get/jail_set/jail_remove over the model's C ABI through ctypes."""

    def __init__(self, library: str, types: Mapping[str, tuple[str, int]]) -> None:
        self.lib = ctypes.CDLL(library, use_errno=True)
        for fn in ("jailmodel_jail_set", "jailmodel_jail_get"):
            f = getattr(self.lib, fn)
            f.argtypes = [ctypes.POINTER(Iovec), ctypes.c_uint, ctypes.c_int]
            f.restype = ctypes.c_int
        self.lib.jailmodel_jail_remove.argtypes = [ctypes.c_int]
        self.lib.jailmodel_jail_remove.restype = ctypes.c_int
        self.lib.jailmodel_open.argtypes = [ctypes.c_char_p]
        self.lib.jailmodel_open.restype = ctypes.c_int
        # name -> (kind, size): i int, u ulong, s string, 4/6 address arrays,
        # b boolean, x opaque (the letters of benchmarks/c/common.h).
        self.types = dict(types)

    def open(self, state_file: str) -> None:
        if self.lib.jailmodel_open(state_file.encode()) == -1:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), state_file)

    # ---- helpers, used per call -------------------------------------------

    def _call(self, fn: Any, pairs: list[tuple[bytes, Any, int]], flags: int) -> tuple[
        int, Any, Any
    ]:
        errbuf = ctypes.create_string_buffer(ERRMSG_LEN)
        pairs = [*pairs, (b"errmsg", errbuf, ERRMSG_LEN)]
        iov = (Iovec * (2 * len(pairs)))()
        keep = []
        for i, (name, buf, size) in enumerate(pairs):
            nbuf = ctypes.create_string_buffer(name)
            keep.append(nbuf)
            iov[2 * i].iov_base = ctypes.cast(nbuf, ctypes.c_void_p)
            iov[2 * i].iov_len = len(name) + 1
            iov[2 * i + 1].iov_base = None if buf is None else ctypes.cast(buf, ctypes.c_void_p)
            iov[2 * i + 1].iov_len = size
        ctypes.set_errno(0)
        ret = fn(iov, len(iov), flags)
        if ret == -1:
            err = ctypes.get_errno()
            raise CtypesError(err, errbuf.value.decode() or os.strerror(err))
        return ret, iov, keep

    def _decode(self, kind: str, buf: Any, length: int) -> Any:
        if kind == "i":
            return ctypes.c_int.from_buffer(buf).value
        if kind == "b":
            return ctypes.c_int.from_buffer(buf).value != 0
        if kind == "u":
            return ctypes.c_ulong.from_buffer(buf).value
        if kind == "s":
            return buf.value.decode()
        if kind in ("4", "6"):
            raw = buf.raw[:length]
            fam, el = (socket.AF_INET, 4) if kind == "4" else (socket.AF_INET6, 16)
            return [socket.inet_ntop(fam, raw[i : i + el]) for i in range(0, len(raw), el)]
        return buf.raw[:length]

    # ---- the calls ---------------------------------------------------------

    def get(self, key: int | dict[str, int], names: Iterable[str], flags: int = 0) -> dict[
        str, Any
    ]:
        """jail_get(2) of ``names`` for a jid (or ``{"lastjid": n}``)."""
        if isinstance(key, dict):
            (kname, kval), = key.items()
        else:
            kname, kval = "jid", key
        keybuf = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_int))
        ctypes.c_int.from_buffer(keybuf).value = kval
        pairs: list[tuple[bytes, Any, int]] = [(kname.encode(), keybuf, 4)]
        wanted: list[tuple[str, str, int]] = []
        for name in names:
            if name == kname:
                wanted.append((name, "i", 0))
                continue
            kind, size = self.types[name]
            if kind in ("4", "6"):
                size = ADDR_GUESS * size
            buf = ctypes.create_string_buffer(size)
            wanted.append((name, kind, len(pairs)))
            pairs.append((name.encode(), buf, size))
        _, iov, _ = self._call(self.lib.jailmodel_jail_get, pairs, flags)
        out: dict[str, Any] = {}
        for name, kind, i in wanted:
            out[name] = self._decode(kind, pairs[i][1], iov[2 * i + 1].iov_len)
        return out

    def jails(self, names: Iterable[str]) -> list[dict[str, Any]]:
        """Every jail, one jail_get(2) each, in the lastjid walk."""
        names = ["jid", *[n for n in names if n != "jid"]]
        out: list[dict[str, Any]] = []
        last = 0
        while True:
            try:
                values = self.get({"lastjid": last}, names)
            except CtypesError as exc:
                if exc.errno == 2:  # ENOENT: no jail after lastjid
                    return out
                raise
            out.append(values)
            last = values["jid"]

    def set(self, params: Mapping[str, Any], flags: int) -> int:
        """jail_set(2) of ``params``; returns the jid."""
        pairs: list[tuple[bytes, Any, int]] = []
        for name, value in params.items():
            kind, _size = self.types[name]
            if kind == "b":
                head, dot, last = name.rpartition(".")
                flag = name if value else f"{head}{dot}no{last}"
                pairs.append((flag.encode(), None, 0))
                continue
            if kind == "i":
                buf = ctypes.create_string_buffer(4)
                ctypes.c_int.from_buffer(buf).value = int(value)
                pairs.append((name.encode(), buf, 4))
            elif kind == "s":
                data = str(value).encode()
                pairs.append((name.encode(), ctypes.create_string_buffer(data), len(data) + 1))
            elif kind in ("4", "6"):
                fam = socket.AF_INET if kind == "4" else socket.AF_INET6
                addrs = [value] if isinstance(value, str) else list(value)
                data = b"".join(socket.inet_pton(fam, a) for a in addrs)
                pairs.append((name.encode(), ctypes.create_string_buffer(data, len(data)),
                              len(data)))
            else:
                raise TypeError(f"{name}: unsupported in the ctypes baseline")
        return int(self._call(self.lib.jailmodel_jail_set, pairs, flags)[0])

    def remove(self, jid: int) -> None:
        ctypes.set_errno(0)
        if self.lib.jailmodel_jail_remove(jid) == -1:
            err = ctypes.get_errno()
            raise CtypesError(err, os.strerror(err))
