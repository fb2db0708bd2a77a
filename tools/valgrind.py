"""Run a representative subset of the tests under valgrind's memcheck.

Used by ``tox -e valgrind`` (issue 7, item 2).  It runs ``python -m pytest`` on
the tests named below (or on the paths and options given after ``--``) under
``valgrind --tool=memcheck`` with ``PYTHONMALLOC=malloc``, so that memcheck
sees every Python allocation too, and with ``tools/valgrind-python.supp`` for
CPython's own noise.  Every process gets its own log: pytest's, and those of
the children it forks (the model's process tests and the spawn helper's child
between fork and exec; programs the child execs run without valgrind).

The run fails when pytest fails, or when any log has

* an error (invalid read or write, use of uninitialised memory, bad free,
  overlapping copy, bad system-call argument...) with a frame in jailcore's
  own code: the extension ``jailcore._native`` (its generated C and
  ``csrc/*.c``) or the kernel model ``libjailmodel.so`` (``csrc/model/*.c``);
* a block "definitely lost" whose allocation has such a frame.

Errors with no jailcore frame are CPython's (or libc's) and are counted and
summarised, not failed on: the interpreter is not what this checks.  The logs
are kept in a temporary directory unless ``--keep DIR`` is given.

    python tools/valgrind.py               # the default subset (a few minutes)
    python tools/valgrind.py --full        # the whole suite (much longer)
    python tools/valgrind.py -- test_iov.py -k names   # pytest arguments

Run it from ``tests/`` (as tox does) or from the project root.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SUPPRESSIONS = Path(__file__).resolve().parent / "valgrind-python.supp"

#: The default subset, relative to tests/: the model's conformance tests through
#: its C ABI, the marshalling (general and prepared) and parameter codecs, the
#: bad-input table, a few spawn tests (fork, the child's steps before exec,
#: descriptors, failures), and the host side's seam and model (interfaces,
#: getifaddrs, mounts, getfsstat, devfs nodes) through jailcore.net and
#: jailcore.mount, and rctl(2) on the model (the rule store, its parser and
#: output, usage read from the process table) and its kqueue jail events.
DEFAULT_TESTS = [
    "model/test_conformance_get.py",
    "model/test_conformance_set.py",
    "test_iov.py",
    "test_prepared.py",
    "test_params.py",
    "test_bad_input.py",
    "test_spawn.py",
    "test_net.py",
    "test_mount.py",
    "model/test_rctl_model.py",
    "model/test_kevent_model.py",
]
SPAWN_TESTS = (
    "test_arguments_as_given",
    "test_standard_descriptors_rotated",
    "test_child_has_default_dispositions_and_empty_mask",
    "test_spawn_into_an_absent_jail_fails_at_attach",
    "test_descriptors_in_proc_self_fd",
)

#: A frame is jailcore's when its location (object or source file) matches.
OURS = re.compile(r"libjailmodel|_native[.\w]*\.(?:so|c)\b|/csrc/")

VALGRIND_OPTIONS = [
    "--tool=memcheck",
    "--leak-check=full",
    "--show-leak-kinds=definite",
    "--errors-for-leak-kinds=definite",
    "--trace-children=no",  # forked children stay under valgrind; exec'd programs do not
    "--child-silent-after-fork=no",
    "--num-callers=40",
    "--fullpath-after=",  # full source paths, so csrc/ frames are recognised
    f"--suppressions={SUPPRESSIONS}",
]

_LINE = re.compile(r"^==(\d+)== ?(.*)$")
_FRAME = re.compile(r"^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*)$")


@dataclass
class Report:
    """One error or leak record of one process's log."""

    pid: int
    title: str
    frames: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def is_leak(self) -> bool:
        return "lost in loss record" in self.title

    @property
    def definitely_lost(self) -> bool:
        return self.is_leak and "definitely lost" in self.title

    @property
    def ours(self) -> bool:
        return any(OURS.search(f) for f in self.frames)

    @property
    def kind(self) -> str:
        if self.is_leak:
            return self.title.split(" in loss record")[0].split("are ")[-1]
        return re.sub(r"0x[0-9A-Fa-f]+|\d+", "N", self.title)


def parse_log(path: Path) -> list[Report]:
    """The error and leak records of one valgrind text log."""
    reports: list[Report] = []
    cur: Report | None = None
    in_stack = False
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        pid, body = int(m.group(1)), m.group(2)
        if not body.strip():
            cur, in_stack = None, False
            continue
        frame = _FRAME.match(body)
        if body.startswith("Warning:"):
            cur, in_stack = None, False  # one line, and no blank line after it
            continue
        if cur is not None and not body[0].isspace():
            cur = None  # a record's further parts are indented; this starts a new one
        if cur is None:
            if frame or body.startswith((" ", "HEAP SUMMARY", "LEAK SUMMARY", "ERROR SUMMARY",
                                         "Memcheck,", "Copyright", "Using Valgrind",
                                         "Command:", "Parent PID", "For lists", "For counts",
                                         "Rerun with", "All heap blocks", "in use at exit",
                                         "total heap usage", "Searching for")):
                continue
            cur = Report(pid, body.strip())
            reports.append(cur)
            cur.text.append(body)
            in_stack = True
            continue
        cur.text.append(body)
        if frame and in_stack:
            cur.frames.append(frame.group(1))
        elif not frame and cur.frames:
            in_stack = False  # "Address ... was alloc'd at": a second stack, not the error's
    return [r for r in reports if r.frames]


def pytest_args(full: bool, extra: list[str]) -> list[str]:
    if extra:
        return extra
    if full:
        return ["."]
    args = [t for t in DEFAULT_TESTS if (TESTS / t).exists()]
    # Of the spawn tests only the few named (those that still exist).
    if "test_spawn.py" in args:
        args.remove("test_spawn.py")
        args += [f"test_spawn.py::{name}" for name in SPAWN_TESTS
                 if _has_test(TESTS / "test_spawn.py", name)]
    return args


def _has_test(path: Path, name: str) -> bool:
    return re.search(rf"^def {re.escape(name)}\(", path.read_text(), re.M) is not None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the whole test suite")
    ap.add_argument("--keep", metavar="DIR", help="write the logs to DIR and keep them")
    ap.add_argument("--track-origins", action="store_true",
                    help="where uninitialised values come from (slower)")
    ap.add_argument("--valgrind", default=os.environ.get("VALGRIND", "valgrind"))
    ap.add_argument("pytest", nargs="*", help="pytest arguments (after --), relative to tests/")
    opts = ap.parse_args(argv)

    if shutil.which(opts.valgrind) is None:
        print(f"valgrind: {opts.valgrind} not found", file=sys.stderr)
        return 2
    logs = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="jailcore-valgrind-"))
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("vg.*.log"):
        old.unlink()
    env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONDONTWRITEBYTECODE="1")
    # sys.executable, not "python": a shim script (pyenv) would be what valgrind
    # runs, and the interpreter it execs would escape it.
    cmd = [opts.valgrind, *VALGRIND_OPTIONS, f"--log-file={logs}/vg.%p.log"]
    if opts.track_origins:
        cmd.append("--track-origins=yes")
    cmd += [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            *pytest_args(opts.full, opts.pytest)]
    print("valgrind:", " ".join(cmd), flush=True)
    start = time.monotonic()
    rc = subprocess.call(cmd, cwd=TESTS, env=env)
    elapsed = time.monotonic() - start

    ours: list[Report] = []
    others: Counter[str] = Counter()
    nlogs = 0
    for log in sorted(logs.glob("vg.*.log")):
        nlogs += 1
        for r in parse_log(log):
            if r.ours and (r.definitely_lost or not r.is_leak):
                ours.append(r)
            else:
                others[r.kind] += 1
    print(f"\nvalgrind: {nlogs} process log(s) in {logs}; {elapsed:.0f} s", flush=True)
    if others:
        print("valgrind: records without a jailcore frame (CPython, libc; not failed on):")
        for kind, n in others.most_common():
            print(f"    {n:4d}  {kind}")
    for r in ours:
        print(f"\n==== jailcore: {r.title} (process {r.pid}) ====", file=sys.stderr)
        print("\n".join(r.text), file=sys.stderr)
    if not opts.keep:
        if ours:
            print(f"valgrind: logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(logs, ignore_errors=True)
    if ours:
        print(f"valgrind: {len(ours)} error(s) or leak(s) in jailcore's code: the run fails",
              file=sys.stderr)
        return rc or 1
    if rc == 0:
        print("valgrind: no error and nothing definitely lost in jailcore's code")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
