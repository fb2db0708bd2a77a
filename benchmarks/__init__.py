"""jailcore's benchmark suite (issues 6 and 18): ``python -m benchmarks`` or ``tox -e bench``.

Each operation (B1-B6) is measured on the kernel model backend, side by side in
one run, for jailcore's public API and its baselines: **C** (a C program
calling the model's C ABI with prepared iovecs, timing its own loop: the
floor), **ctypes** (the same calls written as a careful ctypes author would,
the iovec built per call), **py-jail** (PyPI's ``jail`` on B4, when installed)
and **subprocess** (a one-shot C tool sharing the model's state file, spawned
once per operation, as shelling out to jls(8) or jail(8) would).  **M** times
the model alone, in C, as its host fills to 10,000 jails.  It prints a table
and the issue's targets (PASS/MISS, each ratio with its spread) and writes the
results as JSON.  See docs/performance.rst.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.suite import main as _main

    return _main(argv)
