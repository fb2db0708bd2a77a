"""The tests' own helpers for what differs between Linux and FreeBSD hosts: ldd's
listings (read by populate_root to build a jail root), programs found on PATH and
open descriptors counted without /proc (tests/portable.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kernel.spawn_scenarios import ldd_paths
from portable import TRUE, fd_limit, open_fds, program

GLIBC_SH = """\
\tlinux-vdso.so.1 (0x00007ffd4b5f1000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c1f9a4000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c1fbb9000)
"""

GLIBC_LS = """\
\tlinux-vdso.so.1 (0x00007fda676a4000)
\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007fda6763f000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fda6745d000)
\tlibpcre2-8.so.0 => /lib/x86_64-linux-gnu/libpcre2-8.so.0 (0x00007fda673c3000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fda676a6000)
"""

FREEBSD_SH = """\
/bin/sh:
\tlibedit.so.8 => /lib/libedit.so.8 (0x2e0b7a3b0000)
\tlibc.so.7 => /lib/libc.so.7 (0x2e0b7b4c1000)
\tlibtinfow.so.9 => /lib/libtinfow.so.9 (0x2e0b7c62e000)
\tlibsys.so.7 => /lib/libsys.so.7 (0x2e0b7d0f2000)
\t[vdso] (0x2e0b79bd2000)
"""

# ldd on two programs: each listing under a header, on both systems.
FREEBSD_TWO = """\
/bin/cat:
\tlibc.so.7 => /lib/libc.so.7 (0x1c0e3a8d9000)
/usr/bin/id:
\tlibutil.so.9 => /lib/libutil.so.9 (0x2b6cdd9d5000)
\tlibc.so.7 => /lib/libc.so.7 (0x2b6cdec0f000)
"""

MISSING = """\
/usr/local/bin/prog:
\tlibgone.so.1 => not found (0)
\tlibc.so.7 => /lib/libc.so.7 (0x1c0e3a8d9000)
"""

GLIBC_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd4b5f1000)
\tlibgone.so.1 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c1f9a4000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f0c1fbb9000)
"""


@pytest.mark.parametrize(
    ("listing", "paths", "missing"),
    [
        (GLIBC_SH, ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"], []),
        (GLIBC_LS, ["/lib/x86_64-linux-gnu/libselinux.so.1", "/lib/x86_64-linux-gnu/libc.so.6",
                    "/lib/x86_64-linux-gnu/libpcre2-8.so.0", "/lib64/ld-linux-x86-64.so.2"], []),
        (FREEBSD_SH, ["/lib/libedit.so.8", "/lib/libc.so.7", "/lib/libtinfow.so.9",
                      "/lib/libsys.so.7"], []),
        (FREEBSD_TWO, ["/lib/libc.so.7", "/lib/libutil.so.9"], []),
        (MISSING, ["/lib/libc.so.7"], ["libgone.so.1"]),
        (GLIBC_MISSING, ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"],
         ["libgone.so.1"]),
        ("\tstatically linked\n", [], []),
        ("", [], []),
    ],
    ids=["glibc-sh", "glibc-ls", "freebsd-sh", "freebsd-two-programs", "freebsd-missing",
         "glibc-missing", "static", "empty"],
)
def test_ldd_listing(listing: str, paths: list[str], missing: list[str]) -> None:
    assert ldd_paths(listing) == (paths, missing)


def test_freebsd_header_is_not_a_library() -> None:
    """The program's own line "/bin/sh:" names no file to copy (issue 13)."""
    got, _ = ldd_paths(FREEBSD_SH)
    assert "/bin/sh:" not in got and "/bin/sh" not in got


def test_program_found_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = str(tmp_path / "jc-tool")
    with open(tool, "w") as f:
        f.write("#!/bin/sh\n")
    os.chmod(tool, 0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert program("jc-tool") == tool
    assert program("jc-no-such-program-here") is None
    os.chmod(tool, 0o644)  # not executable: not a program
    assert program("jc-tool") is None


def test_true_argv_is_absolute_and_succeeds() -> None:
    assert os.path.isabs(TRUE[0])
    assert subprocess.run(TRUE).returncode == 0


def test_open_fds_sees_exactly_what_is_opened_and_closed() -> None:
    before = open_fds()
    high = min(fd_limit() - 1, 1000)
    r, w = os.pipe()
    os.dup2(r, high)
    try:
        assert open_fds() == sorted({*before, r, w, high})
    finally:
        os.close(high)
        os.close(r)
        os.close(w)
    assert open_fds() == before
