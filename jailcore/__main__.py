"""``python -m jailcore tour``: the jail lifecycle, one system call at a time.

Off FreeBSD it runs on jailcore's kernel model.  On FreeBSD it refuses to touch
the real kernel unless given ``--real``.  Each step prints the call it makes
and what the kernel answered.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from jailcore import _backend
from jailcore._backend import ffi, lib

JAIL_CREATE, JAIL_UPDATE = 0x01, 0x02


class _Call:
    """One jail_set/jail_get: owned buffers, the call, errno and errmsg kept."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.keep: list[Any] = []
        self.pairs = [*pairs, ("errmsg", ffi.new("char[]", 1024))]
        self.iov = ffi.new("struct iovec[]", 2 * len(self.pairs))
        for i, (name, value) in enumerate(self.pairs):
            nbuf = ffi.new("char[]", name.encode())
            if value is None:
                vbuf, vlen = ffi.NULL, 0
            elif isinstance(value, int):
                vbuf, vlen = ffi.new("int *", value), 4
            elif isinstance(value, str):
                vbuf = ffi.new("char[]", value.encode())
                vlen = len(value.encode()) + 1
            else:  # an output buffer made by the caller
                vbuf, vlen = value, ffi.sizeof(value)
            self.keep += [nbuf, vbuf]
            self.iov[2 * i] = {"iov_base": nbuf, "iov_len": len(name) + 1}
            self.iov[2 * i + 1] = {"iov_base": vbuf, "iov_len": vlen}

    def run(self, fn: Any, flags: int) -> int:
        err = ffi.new("int *")
        jid: int = fn(_backend.BACKEND, self.iov, len(self.iov), flags, err)
        if jid == -1:
            msg = ffi.string(self.pairs[-1][1]).decode() or os.strerror(err[0])
            raise OSError(err[0], msg)
        return jid


def _show(call: str) -> None:
    print(f"  -> {call}")


def tour() -> None:
    print(f"jailcore tour on the {_backend.NAME} backend")
    print("1. create a persistent jail named 'web' with a hostname")
    _show('jail_set(name="web", host.hostname="web.example", persist, JAIL_CREATE)')
    jid = _Call([("name", "web"), ("host.hostname", "web.example"), ("persist", None)]).run(
        lib.jc_jail_set, JAIL_CREATE
    )
    print(f"     jid {jid}")

    print("2. read it back")
    name, host = ffi.new("char[]", 256), ffi.new("char[]", 256)
    _show(f"jail_get(jid={jid}, name, host.hostname)")
    _Call([("jid", jid), ("name", name), ("host.hostname", host)]).run(lib.jc_jail_get, 0)
    print(f"     name={ffi.string(name).decode()} host.hostname={ffi.string(host).decode()}")

    print("3. change the hostname")
    _show(f'jail_set(jid={jid}, host.hostname="www.example", JAIL_UPDATE)')
    _Call([("jid", jid), ("host.hostname", "www.example")]).run(lib.jc_jail_set, JAIL_UPDATE)

    print("4. create a child jail 'web.db'")
    _show('jail_set(name="web.db", persist, JAIL_CREATE)')
    child = _Call([("name", "web.db"), ("persist", None)]).run(lib.jc_jail_set, JAIL_CREATE)
    print(f"     jid {child}")

    print("5. remove the parent: the child goes with it")
    err = ffi.new("int *")
    _show(f"jail_remove({jid})")
    if lib.jc_jail_remove(_backend.BACKEND, jid, err) == -1:
        raise OSError(err[0], os.strerror(err[0]))
    try:
        _Call([("jid", child)]).run(lib.jc_jail_get, 0)
    except OSError as exc:
        print(f"     jail_get(jid={child}): {exc.strerror}")
    print("done")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jailcore")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tour", help="walk the jail lifecycle, one system call at a time")
    t.add_argument("--real", action="store_true", help="on FreeBSD, use the real kernel")
    args = parser.parse_args(argv)
    if args.command == "tour":
        if _backend.BACKEND == _backend.BACKEND_KERNEL and not args.real:
            print("refusing to touch the real kernel without --real", file=sys.stderr)
            return 2
        tour()
    return 0


if __name__ == "__main__":
    sys.exit(main())
