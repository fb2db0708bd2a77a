"""The seam, watched: every jail_set(2) and jail_get(2) iovec that reaches
jailcore._backend, as the kernel sees it on entry (spec section 2).

``seam`` (in conftest.py) wraps jailcore._backend.jail_set/jail_get for one
test and records each call here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from jailcore import _backend

ffi = _backend.ffi


@dataclass
class Pair:
    name: str
    value: bytes | None  # None: a NULL pointer
    length: int
    address: int


@dataclass
class Call:
    pairs: list[Pair]
    flags: int
    result: tuple[int, int] = (0, 0)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.pairs]

    def pair(self, name: str) -> Pair:
        (found,) = [p for p in self.pairs if p.name == name]
        return found


def read_iov(iov: Any, niov: int) -> list[Pair]:
    out = []
    for i in range(0, niov, 2):
        name = ffi.string(ffi.cast("char *", iov[i].iov_base)).decode("utf-8", "surrogateescape")
        base, length = iov[i + 1].iov_base, int(iov[i + 1].iov_len)
        value = None if base == ffi.NULL else ffi.unpack(ffi.cast("char *", base), length)
        out.append(Pair(name, value, length, int(ffi.cast("uintptr_t", base))))
    return out


@dataclass
class Recorder:
    """The calls that reached _backend, as the kernel saw them on entry."""

    sets: list[Call] = field(default_factory=list)
    gets: list[Call] = field(default_factory=list)
    after_get: Callable[[Any, int, Call], None] | None = None


def install(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    real_set, real_get = _backend.jail_set, _backend.jail_get

    def jail_set(iov: Any, niov: int, flags: int) -> tuple[int, int]:
        call = Call(read_iov(iov, niov), flags)
        rec.sets.append(call)
        call.result = real_set(iov, niov, flags)
        return call.result

    def jail_get(iov: Any, niov: int, flags: int) -> tuple[int, int]:
        call = Call(read_iov(iov, niov), flags)
        rec.gets.append(call)
        call.result = real_get(iov, niov, flags)
        if rec.after_get is not None:
            rec.after_get(iov, niov, call)
        return call.result

    monkeypatch.setattr(_backend, "jail_set", jail_set)
    monkeypatch.setattr(_backend, "jail_get", jail_get)
    return rec
