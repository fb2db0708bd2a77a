"""FreeBSD build check for ``jailcore._native``, run from Linux (or anywhere).

Cross-compiles the extension with ``zig cc`` (the PyPI package ``ziglang``),
which carries FreeBSD's headers and libc stubs with symbol versions, for
x86_64 and aarch64 against the FreeBSD 14.0 and 15.0 ABIs, and inspects each
shared object with ``readelf``:

* every C file compiles with ``-Wall -Wextra -Werror`` against FreeBSD headers;
* the object links as an extension module (``-shared``, Python's symbols left
  undefined) and exports ``PyInit__native``;
* it references jail_set, jail_get, jail_attach, jail_remove, sysctl,
  sysctlbyname, sysctlnametomib, kldload and kldfind at the FBSD_* symbol
  versions FreeBSD's libc.so.7 gives them, i.e. the FreeBSD branch of
  csrc/kernel.c was compiled and the prototypes resolved against real libc;
* the 15.0 builds reference jail_attach_jd and jail_remove_jd (FBSD_1.8),
  the 14.0 builds do not (they must load on a 14 kernel's libc);
* no undefined symbol is left unversioned other than Python's own (an
  unversioned one is missing from the target's libc or from our sources,
  and would make the import fail under RTLD_NOW);
* the ELF is for the right machine and for FreeBSD.

It proves the code builds and links for FreeBSD; it does not run it.

Usage: ``python tools/xbuild.py [--out DIR] [--jobs N]``.  Needs ``cffi`` and
``ziglang`` (``pip install ziglang cffi``), binutils' ``readelf``, and the
running interpreter's C headers (``Python.h``).  Exit status 0 when every
check of every build passes, 1 otherwise, 2 when a tool is missing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYCONFIG = ROOT / "tools" / "freebsd-pyconfig" / "pyconfig.h"

ARCHES = ("x86_64", "aarch64")
RELEASES = ("14.0", "15.0")
MACHINE = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64"}

# The flags every C file is compiled with.  -O2 -DNDEBUG as CPython passes to
# extensions (so code used only in assert() is checked as released);
# -fno-sanitize=all because zig cc otherwise builds in Debug mode with its
# UBSan runtime linked into the shared object.
BASE_CFLAGS = [
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-fPIC",
    "-D_GNU_SOURCE",
    "-Icsrc",
    "-Icsrc/model",
    "-O2",
    "-DNDEBUG",
    "-fno-sanitize=all",
]

# libc.so.7 symbol versions (lib/libc/sys/Symbol.map, lib/libc/gen/Symbol.map).
LIBC_SYMBOLS = {
    "jail_set": "FBSD_1.1",
    "jail_get": "FBSD_1.1",
    "jail_attach": "FBSD_1.0",
    "jail_remove": "FBSD_1.1",
    "sysctl": "FBSD_1.0",
    "sysctlbyname": "FBSD_1.0",
    "sysctlnametomib": "FBSD_1.0",
    "kldload": "FBSD_1.0",
    "kldfind": "FBSD_1.0",
}
JAILDESC_SYMBOLS = {"jail_attach_jd": "FBSD_1.8", "jail_remove_jd": "FBSD_1.8"}
JAILDESC_CHECK = "jail_attach_jd, jail_remove_jd: referenced by 15.0, not by 14.0"
PYTHON_SYMBOL = re.compile(r"_?Py[A-Z_]")


@dataclass
class Build:
    arch: str
    release: str
    so: Path | None = None
    size: int = 0
    error: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def target(self) -> str:
        return f"{self.arch}-freebsd.{self.release}"

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append((name, ok, detail))


def load_builder() -> object:
    """Import csrc/build.py as the real build does and return its ``ffibuilder``."""
    # The sanitizer flags are for host builds; they mean nothing to FreeBSD.
    os.environ.pop("JAILCORE_SANITIZE", None)
    spec = importlib.util.spec_from_file_location("_jailcore_build", ROOT / "csrc" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def builder_cflags(ffibuilder: object) -> tuple[list[str], list[str]]:
    """The compile flags and libraries that csrc/build.py gives cffi for the extension.

    Read back from set_source() so that a define or include directory added
    there (and used by the sources) reaches this check too.
    """
    kwds = getattr(ffibuilder, "_assigned_source", (None, None, None, {}))[3]
    flags: list[str] = []
    for name, value in kwds.get("define_macros", []):
        flags.append(f"-D{name}" if value is None else f"-D{name}={value}")
    for name in kwds.get("undef_macros", []):
        flags.append(f"-U{name}")
    flags += [f"-I{d}" for d in kwds.get("include_dirs", [])]
    flags += [f for f in kwds.get("extra_compile_args", []) if not f.startswith("-fsanitize")]
    out: list[str] = []
    for f in BASE_CFLAGS + flags:
        if f not in out:
            out.append(f)
    libs = [f"-l{lib}" for lib in kwds.get("libraries", [])]
    return out, libs


def python_headers(dest: Path) -> Path:
    """A copy of this interpreter's include directory with the FreeBSD pyconfig.h."""
    src = Path(sysconfig.get_paths()["include"])
    if not (src / "Python.h").is_file():
        raise SystemExit(
            f"xbuild: no Python.h in {src}; install this interpreter's C headers "
            "(Debian: python3-dev)"
        )
    inc = dest / "pyinclude"
    shutil.copytree(src, inc, ignore=lambda d, names: ["pyconfig.h"] if d == str(src) else [])
    shutil.copy(PYCONFIG, inc / "pyconfig.h")
    return inc


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def zig_cc(target: str) -> list[str]:
    return [sys.executable, "-m", "ziglang", "cc", "-target", target]


def build_one(
    b: Build, generated: Path, sources: list[str], cflags: list[str], libs: list[str], out: Path
) -> Build:
    start = time.monotonic()
    objdir = out / b.target
    objdir.mkdir(parents=True, exist_ok=True)
    objects = []
    for src in [str(generated), *sources]:
        obj = objdir / (Path(src).stem + ".o")
        r = run([*zig_cc(b.target), *cflags, "-c", src, "-o", str(obj)])
        if r.returncode != 0:
            b.error = f"compile {src}:\n{r.stderr.strip() or r.stdout.strip()}"
            b.seconds = time.monotonic() - start
            return b
        objects.append(str(obj))
    so = objdir / "_native.so"
    r = run([*zig_cc(b.target), "-shared", "-fPIC", "-fno-sanitize=all", "-o", str(so),
             *objects, *libs])
    if r.returncode != 0:
        b.error = f"link:\n{r.stderr.strip() or r.stdout.strip()}"
    else:
        b.so, b.size = so, so.stat().st_size
        inspect(b)
    b.seconds = time.monotonic() - start
    return b


def readelf(*args: str) -> str:
    r = run(["readelf", "-W", *args])
    if r.returncode != 0:
        raise RuntimeError(f"readelf {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def inspect(b: Build) -> None:
    assert b.so is not None
    so = str(b.so)
    # The needed versions, by index: which library each one is taken from.
    needs: dict[str, tuple[str, str]] = {}  # index -> (version, file)
    current = ""
    for line in readelf("-V", so).splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
        m = re.search(r"Name: (\S+)\s.*Version: (\d+)", line)
        if m and current:
            needs[m.group(2)] = (m.group(1), current)

    undefined: dict[str, str] = {}  # name -> "VERSION in FILE", "" when unversioned
    defined: set[str] = set()
    for line in readelf("--dyn-syms", so).splitlines():
        cols = line.split()
        if len(cols) < 8 or not cols[0].endswith(":"):
            continue
        name = cols[7].split("@")[0]
        if cols[6] != "UND":
            defined.add(name)
        elif name:
            index = cols[8].strip("()") if len(cols) > 8 else ""
            version, file = needs.get(index, ("", ""))
            undefined[name] = f"{version} in {file}" if version else ""
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf("-d", so))

    b.check("exports PyInit__native", "PyInit__native" in defined)

    bad = [
        f"{n}: {undefined.get(n, 'absent') or 'unversioned'} (want {v} in libc.so.7)"
        for n, v in LIBC_SYMBOLS.items()
        if undefined.get(n) != f"{v} in libc.so.7"
    ]
    b.check("libc jail/sysctl/kld calls at FBSD_* versions", not bad, ", ".join(bad))

    if b.release == "15.0":
        bad = [
            f"{n}: {undefined.get(n, 'absent') or 'unversioned'} (want {v} in libc.so.7)"
            for n, v in JAILDESC_SYMBOLS.items()
            if undefined.get(n) != f"{v} in libc.so.7"
        ]
        b.check(JAILDESC_CHECK, not bad, ", ".join(bad) or "referenced")
    else:
        bad = [f"{n}: {undefined[n] or 'unversioned'}" for n in JAILDESC_SYMBOLS if n in undefined]
        b.check(JAILDESC_CHECK, not bad, ", ".join(bad) or "not referenced")

    stray = sorted(n for n, v in undefined.items() if not v and not PYTHON_SYMBOL.match(n))
    b.check(
        "no unversioned undefined symbol but Python's",
        not stray,
        ", ".join(stray[:12]) + (f" (+{len(stray) - 12})" if len(stray) > 12 else ""),
    )

    linux = [n for n in needed if n.startswith(("ld-linux", "libc.so.6", "libpthread.so.0"))]
    b.check("needs libc.so.7, no Linux library", "libc.so.7" in needed and not linux,
            "NEEDED: " + ", ".join(needed))

    header = readelf("-h", so)
    machine = re.search(r"Machine:\s+(.+)", header)
    elf64 = re.search(r"Class:\s+ELF64", header) is not None
    got = machine.group(1).strip() if machine else "?"
    b.check("ELF64 for the target machine", elf64 and got == MACHINE[b.arch], got)

    # FreeBSD's brand: OS/ABI, or the NT_FREEBSD_ABI_TAG note that crtbrand
    # puts in executables.  Shared objects usually carry neither (lld leaves
    # OS/ABI at SYSV, and FreeBSD's crti.o has no brand note), so their
    # FreeBSD-ness shows in what they need: FBSD_* versions of libc.so.7.
    osabi = re.search(r"OS/ABI:\s+(.+)", header)
    osabi_s = osabi.group(1).strip() if osabi else "?"
    notes = readelf("-n", so)
    fbsd = sorted({v for v, f in needs.values() if f == "libc.so.7" and v.startswith("FBSD_")})
    if "FreeBSD" in osabi_s:
        evidence = f"OS/ABI {osabi_s}"
    elif re.search(r"^\s*FreeBSD\s+0x", notes, re.M):
        evidence = ".note.tag owner FreeBSD"
    elif fbsd:
        evidence = f"OS/ABI {osabi_s}, no .note.tag; libc.so.7 versions {', '.join(fbsd)}"
    else:
        evidence = ""
    b.check("FreeBSD ELF (OS/ABI, .note.tag or libc.so.7 FBSD_* needs)", bool(evidence),
            evidence or f"OS/ABI {osabi_s}, no .note.tag, no FBSD_* version of libc.so.7")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="keep the objects and .so files here")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check's detail")
    args = ap.parse_args(argv)

    if importlib.util.find_spec("ziglang") is None:
        print("xbuild: the 'ziglang' package is missing: pip install ziglang", file=sys.stderr)
        return 2
    if shutil.which("readelf") is None:
        print("xbuild: 'readelf' (binutils) is missing", file=sys.stderr)
        return 2

    os.chdir(ROOT)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jailcore-xbuild-") as tmp:
        out = args.out.resolve() if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        build = load_builder()
        ffibuilder = build.ffibuilder  # type: ignore[attr-defined]
        sources: list[str] = build.c_sources()  # type: ignore[attr-defined]
        generated = out / "_native.c"
        ffibuilder.emit_c_code(str(generated))
        cflags, libs = builder_cflags(ffibuilder)
        cflags.append("-I" + str(python_headers(Path(tmp))))
        print(f"xbuild: {len(sources)} C source(s) + generated {generated.name}; "
              f"zig {run([sys.executable, '-m', 'ziglang', 'version']).stdout.strip()}")

        builds = [Build(a, r) for a in ARCHES for r in RELEASES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(lambda b: build_one(b, generated, sources, cflags, libs, out), builds))

        report(builds, args.verbose)
        if args.out:
            print(f"xbuild: objects and shared objects kept in {out}")
    failed = [b for b in builds if not b.ok]
    print(f"xbuild: {len(builds) - len(failed)} of {len(builds)} builds passed "
          f"in {time.monotonic() - start:.0f}s")
    return 1 if failed else 0


def report(builds: list[Build], verbose: bool) -> None:
    rows = [("target", "result", "checks", "size", "time")]
    for b in builds:
        passed = sum(ok for _, ok, _ in b.checks)
        rows.append((
            b.target,
            "ok" if b.ok else ("BUILD FAILED" if b.error else "CHECK FAILED"),
            f"{passed}/{len(b.checks)}" if b.checks else "-",
            f"{b.size // 1024} KiB" if b.size else "-",
            f"{b.seconds:.0f}s",
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    names = []
    for b in builds:
        for name, _, _ in b.checks:
            if name not in names:
                names.append(name)
    for name in names:
        marks = []
        for b in builds:
            hit = [(ok, d) for n, ok, d in b.checks if n == name]
            marks.append("-" if not hit else ("pass" if hit[0][0] else "FAIL"))
        print(f"  {' '.join(m.ljust(4) for m in marks)}  {name}")
    print(f"  ({', '.join(b.target for b in builds)})")
    for b in builds:
        if b.error:
            print(f"\n{b.target}: {b.error}")
        for name, ok, detail in b.checks:
            if detail and (verbose or not ok):
                print(f"{b.target}: {'ok' if ok else 'FAILED'}: {name}: {detail}")


if __name__ == "__main__":
    sys.exit(main())
