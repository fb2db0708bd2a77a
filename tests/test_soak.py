"""Soak: long create/get/update/remove cycles leak neither memory nor descriptors.

By default a few thousand cycles, so that the suite stays quick; with the
environment variable ``JAILCORE_LONG=1`` (tox environment ``long``) 100,000 of
each kind.  Memory is the resident set size from ``/proc/self/statm`` (or the
peak from :mod:`resource` where there is no ``/proc``), measured after a
warm-up that lets caches and allocator pools reach their size; it must grow by
less than 1 MiB.  Open descriptors are counted by ``os.fstat`` on each number
(tests/portable.py) and must not grow, and the model's own descriptor files must not
pile up either.
"""

from __future__ import annotations

import gc
import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest
from portable import open_fds

import jailcore
from jailcore import Jail, JailDescriptor, JailNotFoundError
from jailcore.testing import JailHost

LONG = os.environ.get("JAILCORE_LONG", "") not in ("", "0")
CYCLES = 100_000 if LONG else 3_000
WARMUP = 2_000 if LONG else 500
MIB = 1 << 20


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # no /proc (FreeBSD): the peak RSS, in kilobytes
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def soak(cycle: Callable[[int], None]) -> tuple[int, int, int]:
    """Run ``cycle`` WARMUP times, then CYCLES times; the growth of the RSS and
    of the number of open descriptors over the measured part, and its cycles."""
    for i in range(WARMUP):
        cycle(i)
    gc.collect()
    rss0, fds0 = rss_bytes(), len(open_fds())
    for i in range(WARMUP, WARMUP + CYCLES):
        cycle(i)
    gc.collect()
    return rss_bytes() - rss0, len(open_fds()) - fds0, CYCLES


def check_rss(grew: int, n: int) -> None:
    """RSS must not grow: except under AddressSanitizer (tools/sanitize.py), whose
    quarantine keeps freed memory by design; there only the other checks hold."""
    if os.environ.get("JAILCORE_SANITIZER_RUN"):
        return
    assert grew < MIB, f"RSS grew by {grew} bytes in {n} cycles"


def test_create_get_update_remove_cycles_leak_nothing() -> None:
    def cycle(i: int) -> None:
        name = f"soak{i % 7}"
        jail = Jail.create(name=name, host__hostname="before", children__max=1)
        assert Jail.get(name).jid == jail.jid
        jail.update(host__hostname=f"h{i % 13}", securelevel=1)
        assert jail.get("host.hostname", "securelevel") == {
            "host.hostname": f"h{i % 13}", "securelevel": 1,
        }
        child = Jail.create(name=f"{name}.c")
        assert [j.jid for j in jailcore.jails()] == [jail.jid, child.jid]
        jail.remove()
        with pytest.raises(JailNotFoundError):
            Jail.get(name)

    grew, fds, n = soak(cycle)
    assert fds <= 0, f"{fds} descriptors leaked in {n} cycles"
    check_rss(grew, n)
    assert list(jailcore.jails(dying=True)) == []


def test_descriptor_cycles_leak_no_descriptor(jail_host: JailHost) -> None:
    descdir = Path(f"{jail_host.state_file}.jd")

    def cycle(i: int) -> None:
        name = f"soak{i % 7}"
        with JailDescriptor.create(name=name, host__hostname="d", owning=True) as desc:
            assert desc.get("name") == {"name": name}
            desc.update(host__hostname=f"h{i % 13}")
            other = JailDescriptor.open(name)  # a second, non-owning one
            assert other.jid == desc.jid
            other.close()
        # The owning descriptor is closed: the jail is gone at the next call.
        with pytest.raises(JailNotFoundError):
            Jail.get(name)

    grew, fds, n = soak(cycle)
    assert fds <= 0, f"{fds} descriptors leaked in {n} cycles"
    check_rss(grew, n)
    assert list(jailcore.jails(dying=True)) == []
    # Nor do the model's descriptor files pile up.
    left = list(descdir.iterdir()) if descdir.is_dir() else []
    assert len(left) <= 1, left
