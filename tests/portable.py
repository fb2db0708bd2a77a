"""What the tests need from the host, found by what the host has rather than by its name.

The suite runs on Linux and on FreeBSD, which keep programs in different places
(``true`` is ``/bin/true`` or ``/usr/bin/true`` on Linux, only ``/usr/bin/true``
on FreeBSD) and only Linux has ``/proc/self/fd``.  So programs are looked up on
``PATH``, and open descriptors are counted with ``os.fstat`` on each number.
``tools/hidden_linuxisms.sh`` runs the suite with ``/bin/true`` and ``/proc``
hidden to show that nothing else depends on them.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
from collections.abc import Iterable

import pytest


def program(name: str) -> str | None:
    """The absolute path of the program ``name`` as ``PATH`` finds it, or None.

    A jail whose path is "/" sees the host's files, so the path also names the
    program inside such a jail."""
    found = shutil.which(name)
    return None if found is None else os.path.abspath(found)


def _true_argv() -> list[str]:
    """A command that does nothing and exits 0: ``true`` where ``PATH`` has it, else
    ``sh -c :`` (the tests need a program that succeeds at once, not ``true``
    itself; every POSIX system has ``sh``)."""
    true = program("true")
    if true is not None:
        return [true]
    return [program("sh") or "/bin/sh", "-c", ":"]


#: argv of a program that exits 0 at once, absolute (see _true_argv).
TRUE: list[str] = _true_argv()


def fd_limit() -> int:
    """One more than the highest descriptor number this process can have open."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = os.sysconf("SC_OPEN_MAX")
    return int(min(soft, 1 << 20))


def open_among(fds: Iterable[int]) -> list[int]:
    """Those of ``fds`` that are open in this process, in their order (``os.fstat``
    on each: it opens nothing of its own)."""
    out = []
    for fd in fds:
        try:
            os.fstat(fd)
        except OSError:
            continue
        out.append(fd)
    return out


def open_fds() -> list[int]:
    """The descriptors open in this process, in order: every number below the
    limit that is open (``/proc/self/fd`` is Linux's only; this counts exactly
    what the process holds)."""
    return open_among(range(fd_limit()))


def _process_table_readable() -> bool:
    """Whether the model can measure processes: Linux's /proc with this
    process in it (FreeBSD's kern.proc.proc is always there)."""
    return not sys.platform.startswith("linux") or os.path.exists(f"/proc/{os.getpid()}/stat")


#: Skips a test of usage figures the model measures from the process table.
needs_ptable = pytest.mark.skipif(not _process_table_readable(),
                                  reason="the model measures usage from /proc, which is hidden")
