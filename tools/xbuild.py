"""FreeBSD build check for ``jailcore._native``, run from Linux (or anywhere).

Cross-compiles the extension with ``zig cc`` (the PyPI package ``ziglang``),
which carries FreeBSD's headers and libc stubs with symbol versions, for
x86_64 and aarch64 against the FreeBSD 14.0 and 15.0 ABIs, and inspects each
shared object with ``readelf``:

* every C file compiles with ``-Wall -Wextra -Werror`` against FreeBSD headers;
* the 14.0 builds compile against FreeBSD 14's ``<sys/jail.h>``: zig has one
  header set, 15's, for every release (only ``__FreeBSD_version`` follows the
  target: zig defines it, 1400500 for 14.0), so those builds put
  ``tools/freebsd14-shim/`` first on the include path, whose ``sys/jail.h``
  includes zig's and takes away what 15 added (JAIL_USE_DESC, JAIL_AT_DESC,
  JAIL_GET_DESC, JAIL_OWN_DESC undefined, 14's JAIL_SET_MASK and
  JAIL_GET_MASK, jail_attach_jd and jail_remove_jd undeclared), and every C
  file that includes ``<sys/jail.h>`` must have read it through the shim
  (``-MD`` dependency lists): a direct call of a descriptor function, or a
  use of a descriptor flag, fails the 14.0 compile, which proves that the
  dlsym(3) fallback of csrc/kernel.c is what those builds take and that it
  builds;
* the object links as an extension module (``-shared``, Python's symbols left
  undefined) and exports ``PyInit__native``;
* it references jail_set, jail_get, jail_attach, jail_remove, sysctl,
  sysctlbyname, sysctlnametomib, kldload and kldfind at the FBSD_* symbol
  versions FreeBSD's libc.so.7 gives them, i.e. the FreeBSD branch of
  csrc/kernel.c was compiled and the prototypes resolved against real libc;
* it references the host side's calls, nmount, unmount, getfsstat
  (FBSD_1.5), ioctl, socket, getifaddrs and freeifaddrs, at their versions:
  the FreeBSD branches of csrc/net.c and csrc/mount.c were compiled;
* the 15.0 builds reference jail_attach_jd and jail_remove_jd (FBSD_1.8),
  the 14.0 builds do not (they must load on a 14 kernel's libc);
* no undefined symbol is left unversioned other than Python's own (an
  unversioned one is missing from the target's libc or from our sources,
  and would make the import fail under RTLD_NOW);
* the ELF is for the right machine and for FreeBSD;
* the kernel model's host-side structures and constants (csrc/model/
  jailmodel.h: struct jailmodel_ifreq, jailmodel_in_aliasreq, ...,
  jailmodel_statfs, jailmodel_devfs_rule, the SIOC* and DEVFSIO_* request
  numbers) are FreeBSD's: tools/freebsd-probes/layouts.c, which asserts each
  member's offset and size against FreeBSD's headers, compiles for the
  target (the self-test shows that a wrong value fails it);
* ``jailcore-jexec`` (csrc/jexec.c, the program the spawn helper runs to look
  a user up as jexec(8) does) links as a FreeBSD program against libc.so.7
  and libutil (libutil.so.9 on 14.0, unversioned; libutil.so.10 on 15.0, at
  FBSD_1.8), takes jail_attach, getpwnam and the rest from libc.so.7 at
  their versions (initgroups at FBSD_1.0 on 14.0, FBSD_1.8 on 15.0), and
  login_getpwclass, setusercontext and login_close from libutil: its
  FreeBSD branch, with the login class, was compiled.

Before the builds, a self-test of the 14.x shim compiles small probes for
x86_64-freebsd.14.0, each expected to compile or to fail naming the right
identifier: direct calls of jail_attach_jd and jail_remove_jd and uses of
the four descriptor flags fail; 14's masks, ``__FreeBSD_version`` 14.x,
14's jail calls and the dlsym(3) lookup compile; without the shim zig's
headers do declare what it hides (so the shim is what hides it); the shim
refuses a 15.0 target; and csrc/kernel.c itself, with a direct
jail_attach_jd call appended or with JC_DIRECT_JAILDESC forced to 1, fails.

It proves the code builds and links for FreeBSD; it does not run it.  The
14.x check covers ``<sys/jail.h>`` only: the other headers are still 15's,
so a 15-only macro or type elsewhere would go unnoticed by the compiler (a
15-only libc function would not: it is left unversioned in a 14.0 link and
fails the symbol check), and the shim is written from FreeBSD 14's
``sys/sys/jail.h``, not taken from a 14 system.

Usage: ``python tools/xbuild.py [--out DIR] [--jobs N] [--self-test]``
(``--self-test``: the shim's self-test only, in seconds).  Needs
``cffi`` and ``ziglang`` (``pip install ziglang cffi``), binutils'
``readelf``, and the running interpreter's C headers (``Python.h``).  Exit
status 0 when every check of every build passes, 1 otherwise, 2 when a tool
is missing.
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
# FreeBSD 14's <sys/jail.h> over zig's (15's), first on the 14.x builds' include path.
SHIM14 = ROOT / "tools" / "freebsd14-shim"
SHIM14_JAIL_H = SHIM14 / "sys" / "jail.h"
KERNEL_C = "csrc/kernel.c"
# Asserts, member by member, that the model's host-side structures and
# constants (csrc/model/jailmodel.h) are FreeBSD's: it compiles only if so.
LAYOUTS_C = ROOT / "tools" / "freebsd-probes" / "layouts.c"

ARCHES = ("x86_64", "aarch64")
RELEASES = ("14.0", "15.0")
MODEL_LIB = "jailmodel"
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
# kqueue(2) and kevent(2) (csrc/kernel.c jc_kqueue, jc_kevent): kevent took
# a new version with the 64-bit struct kevent of FreeBSD 12 (FBSD_1.5).
KQUEUE_SYMBOLS = {"kqueue": "FBSD_1.0", "kevent": "FBSD_1.5"}
# rctl(2) (csrc/kernel.c jc_rctl): the five calls of RACCT/RCTL, in libc since
# FreeBSD 9.0 (FBSD_1.2).
RCTL_SYMBOLS = {"rctl_get_racct": "FBSD_1.2", "rctl_get_rules": "FBSD_1.2",
                "rctl_get_limits": "FBSD_1.2", "rctl_add_rule": "FBSD_1.2",
                "rctl_remove_rule": "FBSD_1.2"}
# The host side's calls (csrc/net.c, csrc/mount.c, csrc/devfs.c): what
# ifconfig(8), mount(8), umount(8) and devfs(8) call.  getfsstat took a new
# version with the 64-bit inode ABI of FreeBSD 12 (FBSD_1.5).
HOST_SYMBOLS = {
    "nmount": "FBSD_1.0",
    "unmount": "FBSD_1.0",
    "getfsstat": "FBSD_1.5",
    "ioctl": "FBSD_1.0",
    "socket": "FBSD_1.0",
    "getifaddrs": "FBSD_1.0",
    "freeifaddrs": "FBSD_1.0",
}
# jailcore-jexec (csrc/jexec.c): libc's calls it needs at their versions, and
# libutil's login class calls, which libutil versions from 15.0 (FBSD_1.8 in
# libutil.so.10; 14's libutil.so.9 has no versions).
# initgroups took a new version in 15.0 (FBSD_1.8), with setgroups(2)'s change
# of meaning; the 14.0 builds must keep the old one.
JEXEC_LIBC = {"jail_attach": "FBSD_1.0", "getpwnam": "FBSD_1.0", "getpwuid": "FBSD_1.0",
              "setgid": "FBSD_1.0", "execve": "FBSD_1.0"}
JEXEC_LIBC_BY_RELEASE = {"14.0": {"initgroups": "FBSD_1.0"}, "15.0": {"initgroups": "FBSD_1.8"}}
JEXEC_LIBUTIL = ("login_getpwclass", "setusercontext", "login_close")
JEXEC_LIBUTIL_SO = {"14.0": "libutil.so.9", "15.0": "libutil.so.10"}
JAILDESC_CHECK = "jail_attach_jd, jail_remove_jd: referenced by 15.0, not by 14.0"
# What FreeBSD 15's <sys/jail.h> has and 14's has not: the shim hides them.
JAILDESC_FLAGS = ("JAIL_USE_DESC", "JAIL_AT_DESC", "JAIL_GET_DESC", "JAIL_OWN_DESC")
SHIM14_HIDDEN = (*JAILDESC_SYMBOLS, *JAILDESC_FLAGS)
SHIM14_CHECK = f"14.x headers: <sys/jail.h> read through {SHIM14.name} ({KERNEL_C} and all)"
PYTHON_SYMBOL = re.compile(r"_?Py[A-Z_]")


@dataclass
class Build:
    arch: str
    release: str
    so: Path | None = None
    model: Path | None = None
    size: int = 0
    error: str = ""
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    seconds: float = 0.0
    deps: dict[str, set[Path]] = field(default_factory=dict)  # C file -> headers read
    jexec: Path | None = None

    @property
    def target(self) -> str:
        return f"{self.arch}-freebsd.{self.release}"

    @property
    def freebsd14(self) -> bool:
        """Built against FreeBSD 14's <sys/jail.h> (the shim), not zig's 15."""
        return self.release.startswith("14.")

    @property
    def cflags(self) -> list[str]:
        """The flags this build adds before the plan's: the shim first, for 14.x."""
        return [f"-I{SHIM14}"] if self.freebsd14 else []

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


@dataclass
class Plan:
    """What csrc/build.py (and setup.py) build, read back from the builder."""

    cflags: list[str]
    ext_sources: list[str]  # compiled into the extension with the generated C
    model_sources: list[str]  # compiled into libjailmodel.so, when the extension links to it
    ext_libs: list[str]
    ext_ldflags: list[str]
    model_exports: list[str]  # the jailmodel_* functions the cdef declares
    jexec_source: str = ""  # jailcore-jexec's C file, and the program's name
    jexec_program: str = ""


def make_plan(build: object) -> Plan:
    """The flags, sources and libraries that csrc/build.py gives cffi.

    Read back from set_source() so that a define, include directory, source or
    library added there reaches this check too.  When the extension links to
    a library ``jailmodel`` (setup.py builds csrc/model/*.c into
    libjailmodel.so beside it), the C files of ``c_sources()`` that are not
    the extension's own are that library's.
    """
    ffibuilder = build.ffibuilder  # type: ignore[attr-defined]
    kwds = getattr(ffibuilder, "_assigned_source", (None, None, None, {}))[3]
    flags: list[str] = []
    for name, value in kwds.get("define_macros", []):
        flags.append(f"-D{name}" if value is None else f"-D{name}={value}")
    for name in kwds.get("undef_macros", []):
        flags.append(f"-U{name}")
    flags += [f"-I{d}" for d in kwds.get("include_dirs", [])]
    flags += [f for f in kwds.get("extra_compile_args", []) if not f.startswith("-fsanitize")]
    cflags: list[str] = []
    for f in BASE_CFLAGS + flags:
        if f not in cflags:
            cflags.append(f)
    every = list(build.c_sources())  # type: ignore[attr-defined]
    libraries = list(kwds.get("libraries", []))
    ext_sources = list(kwds.get("sources", every))
    model_sources = [s for s in every if s not in ext_sources]
    if model_sources and MODEL_LIB not in libraries:
        ext_sources, model_sources = every, []
    ldflags = [
        f for f in kwds.get("extra_link_args", [])
        if not f.startswith("-fsanitize") and f not in ("-g", "-fno-omit-frame-pointer")
    ]
    cdef = build.cdef_text()  # type: ignore[attr-defined]
    return Plan(
        cflags=cflags,
        ext_sources=ext_sources,
        model_sources=model_sources,
        ext_libs=[f"-l{lib}" for lib in libraries],
        ext_ldflags=ldflags,
        model_exports=sorted(set(re.findall(r"\b(jailmodel_\w+)\s*\(", cdef))),
        jexec_source=build.JEXEC_SOURCE,  # type: ignore[attr-defined]
        jexec_program=build.JEXEC_PROGRAM,  # type: ignore[attr-defined]
    )


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


def read_deps(path: Path) -> set[Path]:
    """The files a ``-MD -MF`` dependency list names (the target's prerequisites)."""
    text = path.read_text().replace("\\\n", " ")
    _, _, prerequisites = text.partition(": ")
    return {
        (ROOT / name.replace("\\ ", " ")).resolve()
        for name in re.split(r"(?<!\\)\s+", prerequisites.strip())
        if name
    }


def shim14_hint(message: str) -> str:
    """What a 14.x compile failure that names a hidden identifier means."""
    named = [n for n in SHIM14_HIDDEN if re.search(rf"\b{n}\b", message)]
    if not named:
        return ""
    return (
        f"\n({', '.join(named)}: FreeBSD 15 only, hidden by {SHIM14.relative_to(ROOT)}/sys/jail.h; "
        "a 14.x build must reach the jail descriptor calls through dlsym(3), "
        "as csrc/kernel.c does when JC_DIRECT_JAILDESC is 0)"
    )


def compile_all(b: Build, sources: list[str], cflags: list[str], objdir: Path) -> list[str]:
    objects = []
    for src in sources:
        obj = objdir / (Path(src).stem + ".o")
        dep = obj.with_suffix(".d")
        r = run([*zig_cc(b.target), *b.cflags, *cflags, "-MD", "-MF", str(dep),
                 "-c", src, "-o", str(obj)])
        if r.returncode != 0:
            message = r.stderr.strip() or r.stdout.strip()
            b.error = f"compile {src}:\n{message}"
            if b.freebsd14:
                b.error += shim14_hint(message)
            return []
        b.deps[src] = read_deps(dep)
        objects.append(str(obj))
    return objects


def link(b: Build, output: Path, args: list[str]) -> bool:
    r = run([*zig_cc(b.target), "-shared", "-fPIC", "-fno-sanitize=all", "-o", str(output), *args])
    if r.returncode != 0:
        b.error = f"link {output.name}:\n{r.stderr.strip() or r.stdout.strip()}"
    return r.returncode == 0


def link_program(b: Build, output: Path, args: list[str]) -> bool:
    r = run([*zig_cc(b.target), "-fno-sanitize=all", "-o", str(output), *args])
    if r.returncode != 0:
        b.error = f"link {output.name}:\n{r.stderr.strip() or r.stdout.strip()}"
    return r.returncode == 0


def inspect_jexec(b: Build, plan: Plan) -> None:
    """jailcore-jexec: a FreeBSD program needing libc.so.7 and libutil, its libc
    calls at their versions, the login class calls taken from libutil."""
    assert b.jexec is not None
    elf = read_elf(b.jexec)
    prefix = f"{plan.jexec_program}: "
    check_elf(b, elf, prefix, set(JEXEC_LIBUTIL) if b.freebsd14 else set())
    bad = _unversioned(elf.undefined, {**JEXEC_LIBC, **JEXEC_LIBC_BY_RELEASE.get(b.release, {})})
    b.check(f"{prefix}libc calls (jail_attach, getpwnam, ...) at FBSD_* versions", not bad,
            ", ".join(bad))
    libutil = JEXEC_LIBUTIL_SO.get(b.release, "libutil.so")
    want = "" if b.freebsd14 else f"FBSD_1.8 in {libutil}"
    bad = [f"{n}: {elf.undefined.get(n, 'absent') or 'unversioned'}" for n in JEXEC_LIBUTIL
           if n not in elf.undefined or elf.undefined[n] != want]
    b.check(f"{prefix}login class calls from {libutil} (setusercontext, ...)",
            not bad and libutil in elf.needed, ", ".join(bad) or "NEEDED: " + ", ".join(elf.needed))


def check_layouts(b: Build, plan: Plan, objdir: Path) -> None:
    """tools/freebsd-probes/layouts.c compiles for this target: the model's
    structures have FreeBSD's layout and its constants FreeBSD's values."""
    r = run([*zig_cc(b.target), *plan.cflags, "-c", str(LAYOUTS_C),
             "-o", str(objdir / "layouts.o")])
    failed = [ln for ln in (r.stderr or r.stdout).splitlines() if "error:" in ln]
    count = len(re.findall(r"^SAME_(?:SIZE|MEMBER|VALUE)\(", LAYOUTS_C.read_text(), re.M))
    b.check(f"the model's structures and constants are FreeBSD's ({count} assertions)",
            r.returncode == 0, "; ".join(failed[:3]) or r.stderr.strip()[:300])


def build_one(b: Build, generated: Path, plan: Plan, out: Path) -> Build:
    start = time.monotonic()
    objdir = out / b.target
    objdir.mkdir(parents=True, exist_ok=True)
    try:
        if plan.model_sources:
            objects = compile_all(b, plan.model_sources, plan.cflags, objdir)
            model = objdir / f"lib{MODEL_LIB}.so"
            if b.error or not link(
                b, model, [f"-Wl,-soname,{model.name}", *objects, "-lpthread"]
            ):
                return b
            b.model = model
        objects = compile_all(b, [str(generated), *plan.ext_sources], plan.cflags, objdir)
        so = objdir / "_native.so"
        if b.error or not link(
            b, so, [*objects, f"-L{objdir}", *plan.ext_libs, *plan.ext_ldflags]
        ):
            return b
        b.so, b.size = so, so.stat().st_size
        objects = compile_all(b, [plan.jexec_source], plan.cflags, objdir)
        jexec = objdir / plan.jexec_program
        if b.error or not link_program(b, jexec, [*objects, "-lutil"]):
            return b
        b.jexec = jexec
        check_layouts(b, plan, objdir)
        inspect(b, plan)
        return b
    finally:
        b.seconds = time.monotonic() - start


def readelf(*args: str) -> str:
    r = run(["readelf", "-W", *args])
    if r.returncode != 0:
        raise RuntimeError(f"readelf {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


@dataclass
class Elf:
    undefined: dict[str, str]  # name -> "VERSION in FILE", "" when unversioned
    defined: set[str]
    needed: list[str]
    runpath: list[str]
    libc_versions: list[str]
    header: str
    notes: str


def read_elf(path: Path) -> Elf:
    so = str(path)
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
    undefined: dict[str, str] = {}
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
    dynamic = readelf("-d", so)
    runpath = re.findall(
        r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]*)\]", dynamic
    )
    return Elf(
        undefined=undefined,
        defined=defined,
        needed=re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic),
        runpath=[p for r in runpath for p in r.split(":")],
        libc_versions=sorted(
            {v for v, f in needs.values() if f == "libc.so.7" and v.startswith("FBSD_")}
        ),
        header=readelf("-h", str(path)),
        notes=readelf("-n", str(path)),
    )


def check_elf(b: Build, elf: Elf, prefix: str, allowed: set[str]) -> None:
    """The checks every shared object of the build gets."""
    stray = sorted(
        n for n, v in elf.undefined.items()
        if not v and n not in allowed and not (prefix == "" and PYTHON_SYMBOL.match(n))
    )
    b.check(
        f"{prefix}no unversioned undefined symbol" + ("" if prefix else " but Python's"),
        not stray,
        ", ".join(stray[:12]) + (f" (+{len(stray) - 12})" if len(stray) > 12 else ""),
    )
    linux = [n for n in elf.needed if n.startswith(("ld-linux", "libc.so.6", "libpthread.so.0"))]
    b.check(f"{prefix}needs libc.so.7, no Linux library", "libc.so.7" in elf.needed and not linux,
            "NEEDED: " + ", ".join(elf.needed))
    machine = re.search(r"Machine:\s+(.+)", elf.header)
    elf64 = re.search(r"Class:\s+ELF64", elf.header) is not None
    got = machine.group(1).strip() if machine else "?"
    b.check(f"{prefix}ELF64 for the target machine", elf64 and got == MACHINE[b.arch], got)
    # FreeBSD's brand: OS/ABI, or the NT_FREEBSD_ABI_TAG note that crtbrand
    # puts in executables.  Shared objects usually carry neither (lld leaves
    # OS/ABI at SYSV, and FreeBSD's crti.o has no brand note), so their
    # FreeBSD-ness shows in what they need: FBSD_* versions of libc.so.7.
    osabi = re.search(r"OS/ABI:\s+(.+)", elf.header)
    osabi_s = osabi.group(1).strip() if osabi else "?"
    if "FreeBSD" in osabi_s:
        evidence = f"OS/ABI {osabi_s}"
    elif re.search(r"^\s*FreeBSD\s+0x", elf.notes, re.M):
        evidence = ".note.tag owner FreeBSD"
    elif elf.libc_versions:
        evidence = (f"OS/ABI {osabi_s}, no .note.tag; libc.so.7 versions "
                    f"{', '.join(elf.libc_versions)}")
    else:
        evidence = ""
    b.check(f"{prefix}FreeBSD ELF (OS/ABI, .note.tag or libc.so.7 FBSD_* needs)", bool(evidence),
            evidence or f"OS/ABI {osabi_s}, no .note.tag, no FBSD_* version of libc.so.7")


def inspect(b: Build, plan: Plan) -> None:
    assert b.so is not None
    ext = read_elf(b.so)
    model_exports: set[str] = set()
    if b.model is not None:
        model = read_elf(b.model)
        model_exports = model.defined
        missing = [n for n in plan.model_exports if n not in model.defined]
        b.check(f"lib{MODEL_LIB}.so: exports every jailmodel_* of the cdef", not missing,
                ", ".join(missing))
        check_elf(b, model, f"lib{MODEL_LIB}.so: ", set())
        b.check(
            f"finds lib{MODEL_LIB}.so beside it (NEEDED, RUNPATH $ORIGIN)",
            f"lib{MODEL_LIB}.so" in ext.needed and "$ORIGIN" in ext.runpath,
            f"NEEDED: {', '.join(ext.needed)}; RUNPATH: {':'.join(ext.runpath) or 'none'}",
        )

    if b.freebsd14:
        check_shim14(b)
    b.check("exports PyInit__native", "PyInit__native" in ext.defined)
    undefined = ext.undefined
    bad = _unversioned(undefined, LIBC_SYMBOLS)
    b.check("libc jail/sysctl/kld calls at FBSD_* versions", not bad, ", ".join(bad))
    bad = _unversioned(undefined, HOST_SYMBOLS)
    b.check("host-side calls (nmount, unmount, getfsstat, ioctl, getifaddrs, ...) at "
            "FBSD_* versions", not bad, ", ".join(bad))
    bad = _unversioned(undefined, RCTL_SYMBOLS)
    b.check("rctl_add_rule, rctl_get_racct and the other rctl(2) calls at FBSD_1.2",
            not bad, ", ".join(bad))
    bad = _unversioned(undefined, KQUEUE_SYMBOLS)
    b.check("kqueue at FBSD_1.0, kevent at FBSD_1.5 (FreeBSD 12's struct kevent)",
            not bad, ", ".join(bad))
    if b.release == "15.0":
        bad = _unversioned(undefined, JAILDESC_SYMBOLS)
        b.check(JAILDESC_CHECK, not bad, ", ".join(bad) or "referenced")
    else:
        bad = [f"{n}: {undefined[n] or 'unversioned'}" for n in JAILDESC_SYMBOLS if n in undefined]
        b.check(JAILDESC_CHECK, not bad, ", ".join(bad) or "not referenced")
    check_elf(b, ext, "", model_exports)
    inspect_jexec(b, plan)


def _unversioned(undefined: dict[str, str], symbols: dict[str, str]) -> list[str]:
    """The symbols of ``symbols`` (name: FBSD_* version) that the object does not
    reference at that version of libc.so.7, each with what it references instead."""
    return [
        f"{n}: {undefined.get(n, 'absent') or 'unversioned'} (want {v} in libc.so.7)"
        for n, v in symbols.items()
        if undefined.get(n) != f"{v} in libc.so.7"
    ]


def check_shim14(b: Build) -> None:
    """Every C file of a 14.x build that read a <sys/jail.h> read the shim's (which
    includes zig's), and csrc/kernel.c is among them."""
    shim = SHIM14_JAIL_H.resolve()
    including = sorted(
        src for src, deps in b.deps.items()
        if any(d.parts[-2:] == ("sys", "jail.h") for d in deps)
    )
    bypass = [src for src in including if shim not in b.deps[src]]
    detail = f"through the shim: {', '.join(s for s in including if s not in bypass) or 'none'}"
    if bypass:
        detail += f"; zig's header without the shim: {', '.join(bypass)}"
    if KERNEL_C not in including:
        detail += f"; {KERNEL_C} includes no <sys/jail.h>"
    b.check(SHIM14_CHECK, KERNEL_C in including and not bypass, detail)


# The shim's self-test: (name, code, expected) where expected is "" for a
# probe that must compile and an identifier the compiler's error must name
# for one that must fail.  Every probe starts with PROBE_PRELUDE.
PROBE_PRELUDE = """\
#include <sys/param.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/jail.h>
#include <dlfcn.h>
"""
SHIM14_PROBES: list[tuple[str, str, str]] = [
    *[
        (f"a call of {fn} fails", f"int f(int fd) {{ return {fn}(fd); }}\n", fn)
        for fn in JAILDESC_SYMBOLS
    ],
    *[
        (f"{flag} is not defined", f"int f(void) {{ return {flag}; }}\n", flag)
        for flag in JAILDESC_FLAGS
    ],
    (
        "FreeBSD 14's masks and a 14.x __FreeBSD_version",
        "_Static_assert(JAIL_SET_MASK == 0x0f && JAIL_GET_MASK == 0x08, \"14's masks\");\n"
        "_Static_assert(__FreeBSD_version >= 1400000 && __FreeBSD_version < 1500000,\n"
        "    \"14.x\");\n",
        "",
    ),
    (
        "FreeBSD 14's jail calls and the dlsym(3) lookup compile",
        "typedef int (*fd_fn)(int);\n"
        "int f(struct iovec *iov, unsigned int n, int jid)\n"
        "{\n"
        "\tfd_fn attach_jd = (fd_fn)dlsym(RTLD_DEFAULT, \"jail_attach_jd\");\n"
        "\tint r = jail_set(iov, n, JAIL_CREATE | JAIL_UPDATE | JAIL_ATTACH);\n"
        "\tr += jail_get(iov, n, JAIL_DYING) + jail_attach(jid) + jail_remove(jid);\n"
        "\treturn attach_jd != NULL ? r + attach_jd(jid) : r;\n"
        "}\n",
        "",
    ),
]


@dataclass
class Probe:
    name: str
    target: str
    shim: bool
    expected: str  # "" when the probe must compile, else the identifier its error names
    source: Path
    cflags: list[str]
    ok: bool = False
    detail: str = ""


def run_probe(probe: Probe, objdir: Path) -> Probe:
    """Compile one probe and judge the result against what it expects."""
    obj = objdir / (probe.source.stem + ".o")
    flags = [f"-I{SHIM14}"] if probe.shim else []
    r = run([*zig_cc(probe.target), *flags, *probe.cflags, "-c", str(probe.source),
             "-o", str(obj)])
    message = (r.stderr.strip() or r.stdout.strip()).splitlines()
    errors = [line for line in message if "error:" in line]
    if not probe.expected:
        probe.ok = r.returncode == 0
        probe.detail = "compiles" if probe.ok else "; ".join(errors[:3] or message[:3])
    elif r.returncode == 0:
        probe.detail = "compiled, but must fail"
    else:
        named = [e for e in errors if re.search(rf"\b{re.escape(probe.expected)}\b", e)]
        probe.ok = bool(named)
        probe.detail = (named or errors or message or ["no message"])[0]
        if not named:
            probe.detail = f"failed without naming {probe.expected}: {probe.detail}"
    return probe


def kernel_c_mutants(dest: Path) -> list[tuple[str, Path, str]]:
    """csrc/kernel.c changed as a regression would change it: (name, file, expected)."""
    text = (ROOT / KERNEL_C).read_text()
    appended = dest / "kernel_direct_call.c"
    appended.write_text(
        text + "\nint jc_self_test_direct(int fd);\n"
        "int\njc_self_test_direct(int fd)\n{\n\treturn jail_attach_jd(fd);\n}\n"
    )
    mutants = [(f"{KERNEL_C} + a direct call of jail_attach_jd fails", appended,
                "jail_attach_jd")]
    forced = dest / "kernel_forced_direct.c"
    define = re.compile(r"^#define JC_DIRECT_JAILDESC 0$", re.M)
    if define.search(text):
        forced.write_text(define.sub("#define JC_DIRECT_JAILDESC 1", text))
    else:
        # Still a probe, and one that fails, so that the self-test is updated.
        forced.write_text('#error "no \'#define JC_DIRECT_JAILDESC 0\' in csrc/kernel.c"\n')
    mutants.append((f"{KERNEL_C} with JC_DIRECT_JAILDESC forced to 1 fails", forced,
                    "jail_attach_jd"))
    return mutants


def self_test(plan: Plan, tmp: Path, jobs: int) -> list[Probe]:
    """The shim's self-test (see the module docstring); every probe's result."""
    src = tmp / "probes"
    src.mkdir(parents=True, exist_ok=True)
    base = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE", "-fno-sanitize=all"]
    target14, target15 = "x86_64-freebsd.14.0", "x86_64-freebsd.15.0"
    probes: list[Probe] = []

    def probe(name: str, code: str, expected: str, *, shim: bool = True,
              target: str = target14) -> None:
        path = src / f"probe{len(probes)}.c"
        path.write_text(PROBE_PRELUDE + code)
        probes.append(Probe(f"shim: {name}", target, shim, expected, path, base))

    for name, code, expected in SHIM14_PROBES:
        probe(name, code, expected)
    probe(
        "without it, zig's headers declare what it hides (control)",
        "".join(f"int {f}_(int fd) {{ return {f}(fd); }}\n" for f in JAILDESC_SYMBOLS)
        + f"int flags(void) {{ return {' | '.join(JAILDESC_FLAGS)}; }}\n",
        "",
        shim=False,
    )
    probe("refuses a FreeBSD 15 target", "int f(void);\n", "__FreeBSD_version",
          target=target15)
    for name, path, expected in kernel_c_mutants(src):
        probes.append(Probe(f"shim: {name}", target14, True, expected, path, plan.cflags))
    # The layout check can fail: one request number of jailmodel.h changed.
    mutant = src / "layouts_mutant.c"
    mutant.write_text(
        f'#include "{LAYOUTS_C}"\n'
        "_Static_assert(JAILMODEL_SIOCAIFADDR == SIOCAIFADDR_IN6, \"SIOCAIFADDR\");\n"
    )
    probes.append(Probe("layouts: a request number that differs from FreeBSD's fails",
                        target15, False, "SIOCAIFADDR", mutant, plan.cflags))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda p: run_probe(p, src), probes))


def report_self_test(probes: list[Probe], verbose: bool) -> None:
    print()
    for p in probes:
        print(f"  {'pass' if p.ok else 'FAIL'}  {p.name}")
    for p in probes:
        if verbose or not p.ok:
            print(f"{p.target}{'' if p.shim else ' (no shim)'}: "
                  f"{'ok' if p.ok else 'FAILED'}: {p.name}: {p.detail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="keep the objects and .so files here")
    ap.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1))
    ap.add_argument("-v", "--verbose", action="store_true", help="print every check's detail")
    ap.add_argument("--self-test", action="store_true",
                    help="only the self-test of the FreeBSD 14 header shim (no builds)")
    args = ap.parse_args(argv)

    if importlib.util.find_spec("ziglang") is None:
        print("xbuild: the 'ziglang' package is missing: pip install ziglang", file=sys.stderr)
        return 2
    if not args.self_test and shutil.which("readelf") is None:
        print("xbuild: 'readelf' (binutils) is missing", file=sys.stderr)
        return 2

    os.chdir(ROOT)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jailcore-xbuild-") as tmp:
        out = args.out.resolve() if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        build = load_builder()
        plan = make_plan(build)
        plan.cflags.append("-I" + str(python_headers(Path(tmp))))
        layout = (
            f"extension: generated C + {', '.join(plan.ext_sources)}; "
            f"lib{MODEL_LIB}.so: {len(plan.model_sources)} C file(s)"
            if plan.model_sources
            else f"extension: generated C + {len(plan.ext_sources)} C file(s)"
        )
        zig = run([sys.executable, "-m", "ziglang", "version"]).stdout.strip()
        print(f"xbuild: {layout}; zig {zig}")

        probes = self_test(plan, Path(tmp), args.jobs)
        report_self_test(probes, args.verbose)
        bad = [p for p in probes if not p.ok]
        print(f"xbuild: {len(probes) - len(bad)} of {len(probes)} shim self-test probes passed")
        if args.self_test:
            return 1 if bad else 0

        generated = out / "_native.c"
        build.ffibuilder.emit_c_code(str(generated))  # type: ignore[attr-defined]
        builds = [Build(a, r) for a in ARCHES for r in RELEASES]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(lambda b: build_one(b, generated, plan, out), builds))

        report(builds, args.verbose)
        if args.out:
            print(f"xbuild: objects and shared objects kept in {out}")
    failed = [b for b in builds if not b.ok]
    print(f"xbuild: {len(builds) - len(failed)} of {len(builds)} builds passed "
          f"in {time.monotonic() - start:.0f}s"
          + (f"; {len(bad)} shim self-test probe(s) FAILED" if bad else ""))
    return 1 if failed or bad else 0


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
