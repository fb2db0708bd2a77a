"""Run pytest against a jailcore built with JAILCORE_SANITIZE=address,undefined.

Used by ``tox -e sanitize`` after it has built and installed the extension with
the sanitizers.  It preloads gcc's ASan runtime (the interpreter itself is not
instrumented, so the runtime must come first in the process), sets
ASAN_OPTIONS and UBSAN_OPTIONS, runs ``python -m pytest`` with the arguments
given, and fails when pytest fails *or* when any process wrote a sanitizer
report.  The second condition matters because the model forks: a report from a
child kills the child (exit code 1) and would otherwise show up at best as an
unrelated test failure.  Every report is printed at the end.

Leak detection is off: CPython does not free everything at exit.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile

UBSAN_MARKERS = (b": runtime error: ", b"UndefinedBehaviorSanitizer", b"ERROR: AddressSanitizer")


def asan_runtime() -> str:
    cc = os.environ.get("CC", "gcc")
    out = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not os.path.isabs(out) or not os.path.exists(out):
        raise SystemExit(f"sanitize: {cc} has no libasan.so (got {out!r}); install libasan")
    return os.path.realpath(out)


PREFLIGHT = """
import os, jailcore._native as n
d = os.path.dirname(n.__file__)
for f in [n.__file__] + [os.path.join(d, x) for x in os.listdir(d) if x.endswith(".so")]:
    print(f)
"""


def preflight(env: dict[str, str]) -> None:
    """Refuse to run unless the jailcore that pytest will import is instrumented."""
    r = subprocess.run(
        [sys.executable, "-c", PREFLIGHT], env=env, capture_output=True, text=True, check=False
    )
    if r.returncode != 0:
        raise SystemExit(f"sanitize: cannot import jailcore._native:\n{r.stderr}")
    for path in sorted(set(r.stdout.split())):
        with open(path, "rb") as f:
            if b"__asan_init" not in f.read():
                raise SystemExit(
                    f"sanitize: {path} is not built with AddressSanitizer; "
                    "build it with JAILCORE_SANITIZE=address,undefined"
                )
        print(f"sanitize: instrumented: {path}", flush=True)


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="jailcore-sanitize-") as logs:
        env = dict(os.environ)
        preload = [asan_runtime()]
        if env.get("LD_PRELOAD"):
            preload.append(env["LD_PRELOAD"])
        env["LD_PRELOAD"] = " ".join(preload)
        env["ASAN_OPTIONS"] = ":".join(
            [
                "detect_leaks=0",
                "abort_on_error=0",
                "halt_on_error=1",
                f"log_path={logs}/asan",
                env.get("ASAN_OPTIONS", ""),
            ]
        ).rstrip(":")
        env["UBSAN_OPTIONS"] = ":".join(
            ["halt_on_error=1", "print_stacktrace=1", env.get("UBSAN_OPTIONS", "")]
        ).rstrip(":")
        print(f"sanitize: LD_PRELOAD={env['LD_PRELOAD']}", flush=True)
        preflight(env)
        # Python processes need the runtime preloaded; the programs the tests run
        # inside jails must not get it (it cannot start in a chroot without
        # /proc).  So pytest and every Python it starts (through sys.executable)
        # go through a wrapper that preloads, and tests/conftest.py drops
        # LD_PRELOAD from the environment that other programs inherit.
        wrapper = os.path.join(os.path.dirname(sys.executable), "python-sanitized")
        src = os.path.join(logs, "wrapper.c")
        with open(src, "w", encoding="utf-8") as f:
            # A program, not a shell script: a shell would add PWD, SHLVL and _ to
            # the environment; this adds only what it must and keeps argv[0], so
            # that sys.executable names the wrapper.
            f.write("#include <stdlib.h>\n#include <unistd.h>\n"
                    "int main(int argc, char **argv) {\n"
                    "    (void)argc;\n"
                    f"    setenv(\"LD_PRELOAD\", {json.dumps(env['LD_PRELOAD'])}, 1);\n"
                    "    setenv(\"JAILCORE_SANITIZER_RUN\", \"1\", 1);\n"
                    f"    execv({json.dumps(sys.executable)}, argv);\n"
                    "    return 127;\n}\n")
        subprocess.run([os.environ.get("CC", "gcc"), "-O1", "-o", wrapper, src], check=True)
        env.pop("LD_PRELOAD")
        cmd = [wrapper, "-m", "pytest", "--capture=sys", *argv]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        reports = 0
        for raw in proc.stderr:
            sys.stderr.buffer.write(raw)
            sys.stderr.flush()
            if any(m in raw for m in UBSAN_MARKERS):
                reports += 1
        rc = proc.wait()
        for path in sorted(glob.glob(os.path.join(logs, "asan*"))):
            reports += 1
            with open(path, encoding="utf-8", errors="replace") as f:
                sys.stderr.write(f"\n==== AddressSanitizer report {os.path.basename(path)} ====\n")
                sys.stderr.write(f.read())
    if reports:
        print(f"sanitize: {reports} sanitizer report(s): the run fails", file=sys.stderr)
        return rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
