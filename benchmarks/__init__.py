"""jailcore's benchmark suite (issue 6): ``python -m benchmarks`` or ``tox -e bench``.

Each operation (B1-B6) is measured on the kernel model backend, side by side in
one run, for jailcore's public API and three baselines: **C** (a C program
calling the model's C ABI with prepared iovecs, timing its own loop: the
floor), **ctypes** (the same calls written the ordinary ctypes way, buffers
allocated per call) and **subprocess** (a one-shot C tool sharing the model's
state file, spawned once per operation, as shelling out to jls(8) or jail(8)
would).  It prints a table and the issue's targets (PASS/MISS) and writes the
results as JSON.  See docs/performance.rst.
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from benchmarks.suite import main as _main

    return _main(argv)
