"""Reading a model jail back and checking a call's outcome, for the model's tests.

One home for what every test file of tests/model needs on top of ``modelabi``:
output buffers of the exact size jail_get wants, reading parameters back
(``fetch``/``values``/``read``), asserting a failure with its errno and errmsg
(``expect_fail``, also named ``failed``), listing the jails (``jail_list``), and
a jail_get over a hand-built iovec (``raw_jail_get``).
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from typing import Any

import pytest
from modelabi import (
    JAIL_DYING,
    JAIL_GET_DESC,
    LIB,
    Buf,
    I,
    Iovec,
    Result,
    jail_get,
    nametomib,
    sysctl,
)

ULONG_PARAMS = {"host.hostid"}
STRING_PARAMS = {
    "name": 256,
    "path": 1024,
    "host.hostname": 256,
    "host.domainname": 256,
    "host.hostuuid": 64,
    "osrelease": 32,
}
ADDR_PARAMS = {"ip4.addr": 4 * 255, "ip6.addr": 16 * 255}
ZERO_UUID = "00000000-0000-0000-0000-000000000000"

Key = int | str | tuple[str, Any]

# Creating jails takes PRIV_JAIL_SET, which the model grants from the real euid.
ROOT_ONLY = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: the model takes privilege from the real euid"
)


def _is_keyvalue(name: str) -> bool:
    return name.split(".", 1)[0] in ("meta", "env")


def out_buf(name: str) -> Buf:
    """An output buffer of exactly the size the kernel wants for `name`."""
    if name in ULONG_PARAMS:
        return Buf(ctypes.sizeof(ctypes.c_ulong))
    if name in STRING_PARAMS:
        return Buf(STRING_PARAMS[name])
    if name in ADDR_PARAMS:
        return Buf(ADDR_PARAMS[name])
    if _is_keyvalue(name):
        return Buf(4096)
    return Buf(4)


def key_pair(key: Key) -> tuple[str, Any]:
    """The key pair of a jail: a jid, a name, or a pair given as it is."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, int):
        return ("jid", I(key))
    return ("name", Buf(256, key.encode()))


def fetch(key: Key, *names: str, flags: int = 0) -> Result:
    """jail_get of `names` (each with its exact buffer) of the jail `key` names."""
    pairs: list[tuple[str, Any]] = [key_pair(key)]
    pairs += [(n, out_buf(n)) for n in names]
    return jail_get(pairs, flags)


def decode(r: Result, name: str) -> Any:
    if name in ULONG_PARAMS:
        return r.ulong(name)
    if name in STRING_PARAMS or _is_keyvalue(name):
        return r.str(name)
    if name == "ip4.addr":
        return r.ip4()
    if name == "ip6.addr":
        return r.ip6()
    return r.int(name)


def values(key: Key, *names: str, flags: int = 0) -> dict[str, Any]:
    """Read `names` of one jail; the call must succeed without touching errmsg."""
    r = fetch(key, *names, flags=flags)
    assert r.ret != -1, (key, r.errno, os.strerror(r.errno), r.errmsg)
    assert r.errmsg == ""
    return {n: decode(r, n) for n in names}


def read(key: Key, *names: str, flags: int = 0) -> Result:
    """jail_get `names` of the jail selected by `key` (the key's own name skipped); it must
    succeed."""
    own = key_pair(key)[0]
    r = fetch(key, *[n for n in names if n != own], flags=flags)
    assert r.ok, (key, names, errno.errorcode.get(r.errno), r.errmsg)
    return r


def rint(jid: int, name: str, flags: int = 0) -> int:
    return read(jid, name, flags=flags).int(name)


def rstr(jid: int, name: str) -> str:
    return read(jid, name).str(name)


def jid_of(name: str) -> int:
    return read(("name", name), "jid").int("jid")


def expect_fail(r: Result, err: int, msg: str = "") -> None:
    """The call failed with exactly errno `err` and errmsg `msg` ('' = untouched)."""
    assert (r.ret, errno.errorcode.get(r.errno, r.errno), r.errmsg) == (
        -1,
        errno.errorcode[err],
        msg,
    )


failed = expect_fail


def succeeded(r: Result, jid: int | None = None) -> int:
    """The call succeeded without an errmsg (and returned `jid`, when given); its return."""
    assert r.ok, (errno.errorcode.get(r.errno), r.errmsg)
    assert r.errmsg == ""
    if jid is not None:
        assert r.ret == jid
    return r.ret


def summary(r: Result) -> tuple[int, int, str]:
    return (r.ret, r.errno, r.errmsg)


def not_found(key: int | str, flags: int = 0) -> None:
    """jail_get of the jail `key` names (a jid or a name) fails: ENOENT "jail N not found" or
    'jail "NAME" not found'."""
    r = fetch(key, "name" if isinstance(key, int) else "jid", flags=flags)
    what = f'"{key}"' if isinstance(key, str) else key
    expect_fail(r, errno.ENOENT, f"jail {what} not found")


def jail_list(flags: int = 0) -> list[int]:
    """All jids visible to this process, by lastjid iteration (as jls does)."""
    out: list[int] = []
    last = 0
    while True:
        r = jail_get([("lastjid", I(last)), ("jid", Buf(4))], flags)
        if r.ret == -1:
            expect_fail(r, errno.ENOENT, f"no jail after {last}")
            return out
        assert r.int("jid") == r.ret
        out.append(r.ret)
        last = r.ret


def jails() -> list[int]:
    """All jids on the host (alive and dying), ascending."""
    return jail_list(JAIL_DYING)


def no_jails() -> None:
    """The host has no jail at all, dying ones included."""
    assert jails() == []


def raw_jail_get(entries: Sequence[tuple[bytes, ctypes.Array[ctypes.c_char] | None, int]],
                 flags: int = 0) -> tuple[int, int, ctypes.Array[Iovec]]:
    """jail_get over an iovec whose buffers and lengths are given separately."""
    iov = (Iovec * (2 * len(entries)))()
    keep: list[object] = []
    for k, (name, buf, length) in enumerate(entries):
        nb = ctypes.create_string_buffer(name + b"\0", len(name) + 1)
        keep.append(nb)
        iov[2 * k].iov_base = ctypes.addressof(nb)
        iov[2 * k].iov_len = len(name) + 1
        iov[2 * k + 1].iov_base = ctypes.addressof(buf) if buf is not None else None
        iov[2 * k + 1].iov_len = length
    ctypes.set_errno(0)
    ret = LIB.jailmodel_jail_get(iov, 2 * len(entries), flags)
    err = ctypes.get_errno() if ret == -1 else 0
    return ret, err, iov


def oidfmt(name: str) -> tuple[int, str]:
    """(kind, format) of a sysctl, through the {0,4} meta-sysctl."""
    mib = nametomib(name)
    ret, err, data, _ = sysctl([0, 4, *mib])
    assert (ret, err) == (0, 0)
    return int.from_bytes(data[:4], "little"), data[4:].split(b"\0", 1)[0].decode()


def new_desc(jid: int, flags: int = JAIL_GET_DESC) -> int:
    """A descriptor for jail `jid`, from jail_get with JAIL_GET_DESC or JAIL_OWN_DESC."""
    r = jail_get([("jid", I(jid)), ("desc", I(-1))], flags)
    assert (r.ret, r.errmsg) == (jid, ""), (r.errno, r.errmsg)
    fd = r.int("desc")
    assert fd >= 0
    return fd


def close_quietly(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
