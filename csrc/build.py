"""The cffi builder for ``jailcore._native`` (build time only; never imported at run time).

The generated C is the same on every platform: what differs between FreeBSD and
elsewhere is decided by the C preprocessor in ``csrc/``, so the one generated
file can be compiled for FreeBSD from Linux (``tools/xbuild.py``).
"""

from __future__ import annotations

import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _version() -> str:
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        m = re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M)
    if m is None:
        raise RuntimeError("no version in pyproject.toml")
    return m.group(1)


EXTENSION_SOURCES = [
    "csrc/devfs.c",
    "csrc/kernel.c",
    "csrc/mount.c",
    "csrc/net.c",
    "csrc/prepared.c",
    "csrc/spawn.c",
    "csrc/values.c",
]
# jailcore-jexec, the program the spawn helper executes to look a user up
# (jexec.c); installed beside the extension.
JEXEC_SOURCE = "csrc/jexec.c"
JEXEC_PROGRAM = "jailcore-jexec"


def model_sources() -> list[str]:
    """The kernel model's C files (libjailmodel), relative to the project root, sorted."""
    model = os.path.join(HERE, "model")
    return sorted("csrc/model/" + n for n in os.listdir(model) if n.endswith(".c"))


def c_sources() -> list[str]:
    """Every C file of jailcore's native code: the seam and the model."""
    return [*EXTENSION_SOURCES, *model_sources()]


def _read(*path: str) -> str:
    with open(os.path.join(HERE, *path), encoding="utf-8") as f:
        return f.read()


def model_declarations() -> str:
    """The declarations of the model's public header, its JAILMODEL_API functions."""
    decls = re.findall(r"^JAILMODEL_API\s+(.*?;)", _read("model", "jailmodel.h"), re.S | re.M)
    return "\n".join(decls) + "\n"


def cdef_text() -> str:
    """cdef.h (what only cffi needs), jc_api.h (shared with the compiler) and the
    model's ABI from jailmodel.h: each declaration written once."""
    return _read("cdef.h") + _read("jc_api.h") + model_declarations()


VERSION = _version()
SANITIZE = os.environ.get("JAILCORE_SANITIZE", "")

extra_compile_args = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]
extra_link_args: list[str] = []
if SANITIZE:
    # -fno-wrapv: CPython compiles extensions with -fwrapv, which hides signed overflow
    # from UBSan.
    flags = [
        f"-fsanitize={SANITIZE}",
        "-fno-omit-frame-pointer",
        "-fno-sanitize-recover=all",
        "-fno-wrapv",
        "-g",
    ]
    extra_compile_args += flags
    extra_link_args += flags

ffibuilder = FFI()
ffibuilder.cdef(cdef_text())
ffibuilder.set_source(
    "jailcore._native",
    '#include "jailcore.h"\n'
    "/* The package version, compiled in so that a stale build is refused at import. */\n"
    f'const char *jc_version(void) {{ return "{VERSION}"; }}\n',
    # The model is its own shared library, libjailmodel.so, beside the extension
    # (setup.py builds it first): C programs and ctypes load it, and the extension
    # links to it, so that one process has one model host.
    sources=EXTENSION_SOURCES,
    include_dirs=["csrc", "csrc/model"],
    define_macros=[("_GNU_SOURCE", "1")],
    extra_compile_args=extra_compile_args,
    extra_link_args=[*extra_link_args, "-Wl,-rpath,$ORIGIN"],
    libraries=["jailmodel", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
