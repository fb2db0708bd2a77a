"""The two C programs of the suite, built at run time against the model.

``floor`` is the C floor (prepared iovecs, a timed loop); ``jtool`` is the
one-shot tool of the subprocess baseline; ``scale`` times the model alone as
its host fills.  Both link to a copy, taken at the
start of the run, of the ``libjailmodel.so`` that jailcore uses
(``jailcore.model.library_path()``), and find their host through
``JAILCORE_MODEL_STATE``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
C_DIR = HERE / "c"
ROOT = HERE.parent


def _header_dir() -> Path:
    """The directory of ``jailmodel.h``: the source tree's ``csrc/model``."""
    for d in (ROOT / "csrc" / "model", C_DIR):
        if (d / "jailmodel.h").is_file():
            return d
    raise FileNotFoundError("jailmodel.h not found (run the suite from a jailcore checkout)")


def build(library: str, out_dir: str) -> dict[str, str]:
    """Compile floor.c, jtool.c and scale.c into ``out_dir``; returns {name: executable}."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler (cc) found: the C and subprocess baselines need one")
    # Link to a private copy: a rebuild of the tree's library in the middle of a
    # run must not change (or truncate) what the C programs load.
    libdir = os.path.join(out_dir, "lib")
    os.makedirs(libdir, exist_ok=True)
    libname = os.path.basename(library)
    shutil.copy2(library, os.path.join(libdir, libname))
    out = {}
    for prog in ("floor", "jtool", "scale"):
        exe = os.path.join(out_dir, prog)
        cmd = [
            cc, "-O2", "-std=gnu11", "-Wall", "-Wextra", "-D_GNU_SOURCE",
            f"-I{_header_dir()}", f"-I{C_DIR}",
            "-o", exe, str(C_DIR / f"{prog}.c"),
            f"-L{libdir}", f"-l:{libname}", f"-Wl,-rpath,{libdir}",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"building {prog} failed:\n{' '.join(cmd)}\n{res.stderr}")
        out[prog] = exe
    return out


def run_floor(exe: str, args: list[str], iters: int) -> tuple[float, int]:
    """Run the floor for ``iters`` operations: (ns per operation, jails listed)."""
    res = subprocess.run(
        [exe, args[0], str(iters), *args[1:]], capture_output=True, text=True
    )
    if res.returncode != 0:
        raise RuntimeError(f"floor {' '.join(args[:2])}: {res.stderr.strip()}")
    fields = dict(f.split("=", 1) for f in res.stdout.split())
    return int(fields["ns"]) / int(fields["iters"]), int(fields["jails"])


MODEL_OPS = ("create", "getjid", "getname", "update")


def run_scale(exe: str, sizes: list[int], iters: int) -> dict[int, dict[str, int]]:
    """The model's cost per operation (ns, medians) and its resident size
    (bytes) at each of ``sizes`` jails, from one run of ``scale``."""
    res = subprocess.run([exe, str(iters), *map(str, sizes)], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"scale: {res.stderr.strip()}")
    out: dict[int, dict[str, int]] = {}
    for line in res.stdout.splitlines():
        fields = {k: int(v) for k, v in (f.split("=", 1) for f in line.split())}
        out[fields.pop("n")] = fields
    return out
