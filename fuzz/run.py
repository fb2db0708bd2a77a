"""Run jailcore's fuzz harnesses for a bounded time each.

    python fuzz/run.py                 # each harness ~60 s (the tox "fuzz" default)
    python fuzz/run.py --quick         # ~8 s each: what CI runs
    python fuzz/run.py --seconds 1800  # the long mode; or FUZZ_SECONDS=1800
    python fuzz/run.py --only c        # just one harness (c, state or py)

Harnesses (fuzz/README.md):
  c   jail_iov_fuzzer.c: libFuzzer + ASan + UBSan (+ LeakSanitizer) over the
      kernel model's jail_set/jail_get, built here with clang from csrc/model.
  state  state_file_fuzzer.c: the same over hostile state files (header,
      tables, heap, undo log) given to the model's open, validation and
      roll-back.
  py  py_encoders_fuzzer.py: atheris over the Python layer's encoders.

Each starts from its seed corpus in fuzz/corpus/<harness>/ (read only: new
inputs go to a scratch directory that is removed afterwards) and fails the run
on any crash, sanitizer or leak report, or hang (-timeout).  Artifacts
(crash-*, leak-*, timeout-*) land in build/fuzz/artifacts/; replay one with
``build/fuzz/jail_iov_fuzzer FILE``, ``build/fuzz/state_file_fuzzer FILE`` or ``python fuzz/py_encoders_fuzzer.py FILE``
(FUZZ_TRACE=1 makes the C harness print each call it makes).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The fuzzer binary, its dictionary and the artifacts (FUZZ_OUT to move them);
# scratch corpora and the model's TMPDIR go to a fresh system temp directory,
# out of reach of the tox environments that remove build/.
OUT = os.environ.get("FUZZ_OUT") or os.path.join(ROOT, "build", "fuzz")
C_FUZZER = os.path.join(OUT, "jail_iov_fuzzer")
STATE_FUZZER = os.path.join(OUT, "state_file_fuzzer")

SAN_ENV = {
    # LeakSanitizer on: libFuzzer checks every input that allocates for leaks.
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:allocator_may_return_null=0",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}


def build_c(cc: str, harness: str = "jail_iov_fuzzer.c", out: str = C_FUZZER) -> None:
    os.makedirs(OUT, exist_ok=True)
    sources = sorted(glob.glob(os.path.join(ROOT, "csrc", "model", "*.c")))
    cmd = [cc, "-g", "-O1", "-std=gnu11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
           "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
           "-fno-omit-frame-pointer", "-I", os.path.join(ROOT, "csrc", "model"),
           os.path.join(HERE, harness), *sources, "-lpthread", "-o", out]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def libfuzzer_args(seconds: int, scratch: str, seeds: str, extra: list[str]) -> list[str]:
    artifacts = os.path.join(OUT, "artifacts") + os.sep
    os.makedirs(artifacts, exist_ok=True)
    return [scratch, seeds, f"-max_total_time={seconds}", "-timeout=10",
            "-rss_limit_mb=4096", "-print_final_stats=1", f"-artifact_prefix={artifacts}",
            *extra]


def run(cmd: list[str], env: dict[str, str], tmp: str, cwd: str | None = None) -> int:
    print("+", " ".join(cmd), flush=True)
    full = {**os.environ, **env, "TMPDIR": tmp}  # the model's descriptor dirs go there
    full["JAILCORE_MODEL_STATE"] = ":private:"  # never the user's own model host
    os.makedirs(os.path.join(OUT, "artifacts"), exist_ok=True)
    return subprocess.run(cmd, env=full, cwd=cwd).returncode


def fuzz_c(seconds: int, tmp: str, cc: str) -> int:
    build_c(cc)
    dict_path = os.path.join(OUT, "jail_iov.dict")
    rc = run([C_FUZZER], {"FUZZ_DUMP_DICT": dict_path}, tmp)
    if rc != 0:
        return rc
    scratch = tempfile.mkdtemp(prefix="corpus-c-", dir=tmp)
    args = libfuzzer_args(seconds, scratch, os.path.join(HERE, "corpus", "jail_iov"),
                          [f"-dict={dict_path}", "-max_len=4096"])
    return run([C_FUZZER, *args], SAN_ENV, tmp)


def fuzz_state(seconds: int, tmp: str, cc: str) -> int:
    build_c(cc, "state_file_fuzzer.c", STATE_FUZZER)
    scratch = tempfile.mkdtemp(prefix="corpus-state-", dir=tmp)
    args = libfuzzer_args(seconds, scratch, os.path.join(HERE, "corpus", "state_file"),
                          ["-max_len=2048"])
    return run([STATE_FUZZER, *args], SAN_ENV, tmp)


def fuzz_py(seconds: int, tmp: str) -> int:
    scratch = tempfile.mkdtemp(prefix="corpus-py-", dir=tmp)
    args = libfuzzer_args(seconds, scratch, os.path.join(HERE, "corpus", "py_encoders"),
                          ["-max_len=2048"])
    # Run from the temp directory so that the jailcore imported is the installed one
    # (or, with FUZZ_FROM_TREE=1, the source tree's in-place build).
    return run([sys.executable, os.path.join(HERE, "py_encoders_fuzzer.py"), *args], {},
               tmp, cwd=tmp)


HARNESSES = ("c", "state", "py")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="~8 s per harness (CI)")
    ap.add_argument("--seconds", type=int, default=None,
                    help="seconds per harness (default: $FUZZ_SECONDS or 60)")
    ap.add_argument("--only", choices=HARNESSES, default=None)
    ap.add_argument("--cc", default=os.environ.get("FUZZ_CC", "clang"))
    a = ap.parse_args()
    seconds = a.seconds or int(os.environ.get("FUZZ_SECONDS", "0") or 0) or (8 if a.quick else 60)
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="jailcore-fuzz-")
    failed = []
    try:
        for name in HARNESSES:
            if a.only not in (None, name):
                continue
            print(f"== fuzz {name}: {seconds} s", flush=True)
            rc = (fuzz_c(seconds, tmp, a.cc) if name == "c" else
                  fuzz_state(seconds, tmp, a.cc) if name == "state" else fuzz_py(seconds, tmp))
            if rc != 0:
                print(f"== fuzz {name}: FAILED (exit {rc}); see {OUT}/artifacts", flush=True)
                failed.append(name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ran = len(HARNESSES) if a.only is None else 1
    print(f"fuzz: {ran - len(failed)} passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
