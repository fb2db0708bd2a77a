"""The ctypes baseline: jail calls written as a careful ctypes author would.

This is how a Python binding built on :mod:`ctypes` drives jail_set(2) and
jail_get(2) when it is written with care but without the tricks of a
prepared call: every call builds its ``struct iovec`` array anew.  Names and
input values are ``bytes`` that the iovec points at directly (its
``iov_base`` is a ``c_char_p``, which takes bytes and keeps them alive), so
nothing is copied into a buffer of its own; numbers are packed with
:mod:`struct`; each output value gets one ``create_string_buffer``, and
values are decoded from its bytes (``struct``, ``bytes.split``,
:func:`socket.inet_ntop`).  The function pointers are looked up and typed once.
The type of each parameter comes from a table made once (here from jailcore's
discovered specs, before anything is timed), as such bindings carry a static
table.  There is no caching of buffers or values between calls.
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct
from collections.abc import Iterable, Mapping
from typing import Any

JAIL_CREATE = 0x01
JAIL_UPDATE = 0x02
ERRMSG_LEN = 1024
ADDR_GUESS = 16
_INT = struct.Struct("=i")
_ULONG = struct.Struct("=L" if ctypes.sizeof(ctypes.c_ulong) == 4 else "=Q")


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_char_p), ("iov_len", ctypes.c_size_t)]


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

    # ---- the calls ---------------------------------------------------------

    def _call(self, fn: Any, pairs: list[tuple[bytes, Any, int]], flags: int) -> tuple[
        int, Any
    ]:
        """The call with ``pairs`` (name, bytes or an output buffer's address
        or None, length) and an errmsg buffer: its result and the iovec array."""
        errbuf = ctypes.create_string_buffer(ERRMSG_LEN)
        n = len(pairs)
        iov = (Iovec * (2 * n + 2))()
        for i, (name, value, size) in enumerate(pairs):
            iov[2 * i].iov_base = name
            iov[2 * i].iov_len = len(name)
            iov[2 * i + 1].iov_base = value
            iov[2 * i + 1].iov_len = size
        iov[2 * n].iov_base = b"errmsg\0"
        iov[2 * n].iov_len = 7
        iov[2 * n + 1].iov_base = ctypes.addressof(errbuf)
        iov[2 * n + 1].iov_len = ERRMSG_LEN
        ret = fn(iov, 2 * n + 2, flags)
        if ret == -1:
            err = ctypes.get_errno()
            raise CtypesError(err, errbuf.value.decode() or os.strerror(err))
        return ret, iov

    def get(self, key: int | dict[str, int], names: Iterable[str], flags: int = 0) -> dict[
        str, Any
    ]:
        """jail_get(2) of ``names`` for a jid (or ``{"lastjid": n}``)."""
        if isinstance(key, dict):
            (kname, kval), = key.items()
        else:
            kname, kval = "jid", key
        keybuf = ctypes.create_string_buffer(_INT.pack(kval), 4)
        pairs: list[tuple[bytes, Any, int]] = [
            (kname.encode() + b"\0", ctypes.addressof(keybuf), 4)]
        bufs: list[tuple[str, str, Any, int]] = []  # name, kind, buffer, pair index
        for name in names:
            if name == kname:
                bufs.append((name, "i", keybuf, 0))
                continue
            kind, size = self.types[name]
            if kind in ("4", "6"):
                size = ADDR_GUESS * size
            buf = ctypes.create_string_buffer(size)
            bufs.append((name, kind, buf, len(pairs)))
            pairs.append((name.encode() + b"\0", ctypes.addressof(buf), size))
        _, iov = self._call(self.lib.jailmodel_jail_get, pairs, flags)
        out: dict[str, Any] = {}
        for name, kind, buf, i in bufs:
            raw = buf.raw[: iov[2 * i + 1].iov_len]
            if kind == "i":
                out[name] = _INT.unpack(raw)[0]
            elif kind == "b":
                out[name] = _INT.unpack(raw)[0] != 0
            elif kind == "u":
                out[name] = _ULONG.unpack(raw)[0]
            elif kind == "s":
                out[name] = raw.split(b"\0", 1)[0].decode()
            elif kind in ("4", "6"):
                fam, el = (socket.AF_INET, 4) if kind == "4" else (socket.AF_INET6, 16)
                out[name] = [socket.inet_ntop(fam, raw[k : k + el])
                             for k in range(0, len(raw), el)]
            else:
                out[name] = raw
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
                pairs.append((flag.encode() + b"\0", None, 0))
                continue
            if kind == "i":
                data = _INT.pack(value)
            elif kind == "s":
                data = value.encode() + b"\0"
            elif kind in ("4", "6"):
                fam = socket.AF_INET if kind == "4" else socket.AF_INET6
                addrs = [value] if isinstance(value, str) else value
                data = b"".join([socket.inet_pton(fam, a) for a in addrs])
            else:
                raise TypeError(f"{name}: unsupported in the ctypes baseline")
            pairs.append((name.encode() + b"\0", data, len(data)))
        return int(self._call(self.lib.jailmodel_jail_set, pairs, flags)[0])

    def remove(self, jid: int) -> None:
        ctypes.set_errno(0)
        if self.lib.jailmodel_jail_remove(jid) == -1:
            err = ctypes.get_errno()
            raise CtypesError(err, os.strerror(err))
