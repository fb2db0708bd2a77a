"""atheris harness: arbitrary Python values into jailcore's encoders.

Targets, one per input (the first byte chooses):

- ``ParamSpec.encode`` and ``ParamSpec.bool_name`` of every discovered
  parameter (all of ``security.jail.param.*`` with every model module loaded,
  their ``no`` forms, ``meta.KEY``/``env.KEY``, ``desc``, ``lastjid``) and of
  fuzzed names;
- ``jailcore._iov.encode_params`` with fuzzed mappings;
- ``jailcore.Jail.create`` and ``Jail.update`` with fuzzed mappings and
  keywords (on the kernel model: the jails are real there);
- ``jailcore._iov.key_pair`` with any value.

The only acceptable outcomes are success, or TypeError, ValueError or
JailError (an OSError) with a message.  Anything else -- another exception
type, an empty message, a crash, a hang (libFuzzer's -timeout) -- fails.

The model host is reset every FUZZ_RESET_EVERY inputs (default 200), so the
jails Jail.create makes do not pile up.

Run it through fuzz/run.py, or directly:
    python fuzz/py_encoders_fuzzer.py CORPUS_DIR -max_total_time=60
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import atheris

# The harness runs from the source tree or against an installed jailcore.
if os.environ.get("FUZZ_FROM_TREE"):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

with atheris.instrument_imports(include=["jailcore"]):
    import jailcore
    from jailcore import _iov, model, params
    from jailcore.errors import JailError
    from jailcore.flags import JailSys

ACCEPTED = (TypeError, ValueError, JailError)
RESET_EVERY = int(os.environ.get("FUZZ_RESET_EVERY", "200"))


def _no_form(name: str) -> str:
    head, dot, last = name.rpartition(".")
    return f"{head}{dot}no{last}"


def _discover_names() -> list[str]:
    model.reset()
    for mod in model.MODULES:
        try:
            model.kldload(mod)
        except OSError:
            pass
    params.clear_cache()
    found = list(params.all_params())
    assert len(found) > 20, found
    names = list(found)
    names += [_no_form(n) for n in found]
    names += ["meta.k", "env.k", "meta.a.b", "meta.", "desc", "lastjid", "errmsg", "jid",
              "name", "nojid", "ro", "persist.", ".persist", "host..hostname", "allow.mount.x",
              "sysvmsg.x", "allow.mount.nonullfs", "mac.x.y"]
    model.reset()
    return list(dict.fromkeys(names))


NAMES = _discover_names()


class IntSub(int):
    pass


class StrSub(str):
    pass


class Color(enum.Enum):
    RED = 1


SPECIAL_STRINGS = [
    "", "\0", "a\0b", "new", "inherit", "DISABLE", " new ", "NeW", "disable\0",
    "10.0.0.1", "10.0.0.1,10.0.0.2", " 10.0.0.3 , ,", "0.0.0.0", "255.255.255.255",
    "256.0.0.1", "::1", "fd00::1", "fd00::1,fd00::2", "::ffff:1.2.3.4", "fe80::1%eth0",
    "1.2.3.4/24", "k=v", "a\nb", "=v", "\udcff", "\ud800", "\U0001f600", "1e3", "0x10",
    "a.b", "a..b", "a.b.", ".", "*", "/", "/tmp", "/nonexistent", "-1", "0", "1",
]

INTS = [0, 1, -1, 2, 3, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**32 - 1, 2**32,
        2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 999999, 1000000]


def value(fdp: Any, depth: int = 0) -> Any:
    k = fdp.ConsumeIntInRange(0, 27)
    if depth > 3 and k >= 18:
        k = 0
    if k == 0:
        return None
    if k == 1:
        return fdp.ConsumeBool()
    if k == 2:
        return fdp.ConsumeIntInRange(-3, 3)
    if k == 3:
        return fdp.PickValueInList(INTS)
    if k == 4:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 20))
    if k == 5:
        return fdp.PickValueInList([math.nan, math.inf, -math.inf, -0.0, 1.0, 1.5, 1e300])
    if k == 6:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))
    if k == 7:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 64))
    if k == 8:
        return fdp.PickValueInList(SPECIAL_STRINGS)
    if k == 9:
        return fdp.PickValueInList(["x", "\u00e9", "ab"]) * fdp.PickValueInList(
            [255, 256, 1023, 1024, 1025, 4095, 4096, 4097, 70000])
    if k == 10:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64))
    if k == 11:
        return bytearray(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16)))
    if k == 12:
        return memoryview(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 16)))
    if k == 13:
        return ipaddress.IPv4Address(fdp.ConsumeIntInRange(0, 2**32 - 1))
    if k == 14:
        return ipaddress.IPv6Address(fdp.ConsumeIntInRange(0, 2**128 - 1))
    if k == 15:
        return fdp.PickValueInList(list(JailSys))
    if k == 16:
        return fdp.PickValueInList([IntSub(1), IntSub(2**40), StrSub("new"), StrSub("10.0.0.9"),
                                    Color.RED, 1j, object(), range(3), ipaddress.ip_network(
                                        "10.0.0.0/30"), Ellipsis, NotImplemented, type, len])
    if k == 17:
        return fdp.PickValueInList(NAMES)
    n = fdp.ConsumeIntInRange(0, 5)
    if k in (18, 19):
        return [value(fdp, depth + 1) for _ in range(n)]
    if k in (20, 21):
        return tuple(value(fdp, depth + 1) for _ in range(n))
    if k in (22, 23):
        return {key(fdp): value(fdp, depth + 1) for _ in range(n)}
    if k == 24:
        return {_hashable(value(fdp, depth + 1)): "v" for _ in range(n)}  # keys not str
    if k == 25:
        return frozenset(_hashable(value(fdp, depth + 1)) for _ in range(n))
    if k == 26:
        # An address list as users write them.
        return [fdp.PickValueInList(SPECIAL_STRINGS[9:21]) for _ in range(n)]
    return (x for x in [value(fdp, depth + 1) for _ in range(n)])  # a generator


def _hashable(v: Any) -> Any:
    try:
        hash(v)
    except TypeError:
        return repr(v)
    return v


def key(fdp: Any) -> str:
    k = fdp.ConsumeIntInRange(0, 3)
    if k == 0:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 16))
    if k == 1:
        return fdp.PickValueInList(SPECIAL_STRINGS)
    return fdp.PickValueInList(NAMES)


def name(fdp: Any) -> str:
    k = fdp.ConsumeIntInRange(0, 9)
    if k < 6:
        return fdp.PickValueInList(NAMES)
    if k == 6:
        return fdp.PickValueInList(["meta.", "env."]) + key(fdp)
    if k == 7:
        return fdp.PickValueInList(NAMES) + fdp.PickValueInList(["\0", "\0x", ".", "..", "\n",
                                                                 "\udcff", " "])
    return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 24))


def mapping(fdp: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        k: Any = name(fdp) if fdp.ConsumeIntInRange(0, 15) else value(fdp, 3)
        try:
            out[k] = value(fdp)
        except TypeError:
            pass  # an unhashable key: not something to feed
    return out


def keywords(fdp: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(fdp.ConsumeIntInRange(0, 3)):
        out[name(fdp).replace(".", "__")] = value(fdp)
    return out


runs = 0
target_jail: jailcore.Jail | None = None


def _target_jail() -> jailcore.Jail:
    global target_jail
    if target_jail is None:
        target_jail = jailcore.Jail.create({"name": "fuzz", "persist": True})
    return target_jail


def _reset() -> None:
    global target_jail
    model.reset()
    target_jail = None


def _check(fn: Callable[[], Any], what: str) -> None:
    try:
        fn()
    except ACCEPTED as exc:
        if not str(exc).strip():
            raise AssertionError(f"{what}: {type(exc).__name__} without a message") from exc


def TestOneInput(data: bytes) -> None:
    global runs
    runs += 1
    if runs % RESET_EVERY == 0:
        _reset()
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 7)
    if target in (0, 1):
        nm = fdp.PickValueInList(NAMES) if fdp.ConsumeIntInRange(0, 7) else name(fdp)
        v = value(fdp)
        try:
            s = params.spec(nm)
        except ACCEPTED as exc:
            assert str(exc), nm
            return
        if target == 0:
            _check(lambda: s.encode(v), f"{nm}.encode({v!r})")
        else:
            _check(lambda: s.bool_name(v), f"{nm}.bool_name({v!r})")
    elif target == 2:
        m = mapping(fdp)
        creating = fdp.ConsumeBool()

        def encode() -> None:
            b = _iov.encode_params(m, creating)
            for n in b._names:
                # One NUL, the terminator: the kernel must see the whole name.
                assert n.index(b"\0") == len(n) - 1, (m, n)

        _check(encode, f"encode_params({m!r})")
    elif target in (3, 4):
        m = mapping(fdp)
        kw = keywords(fdp)
        arg: Any = m if fdp.ConsumeIntInRange(0, 7) else value(fdp)

        def create() -> None:
            j = jailcore.Jail.create(arg, **kw)
            if fdp.ConsumeBool():
                j.remove()

        _check(create, f"Jail.create({arg!r}, **{kw!r})")
    elif target in (5, 6):
        m = mapping(fdp)
        kw = keywords(fdp)
        j = _target_jail()
        _check(lambda: j.update(m, **kw), f"Jail.update({m!r}, **{kw!r})")
    else:
        v = value(fdp)

        def pair() -> None:
            kname, data = _iov.key_pair(v)
            if kname == "name":
                assert data.index(b"\0") == len(data) - 1, (v, data)
            else:
                assert len(data) == 4, (v, data)

        _check(pair, f"key_pair({v!r})")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
