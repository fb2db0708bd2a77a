"""The benchmark suite: jailcore against C, ctypes, py-jail and subprocess, in one run.

Every operation is measured on the model backend for the implementations
side by side: their batches are interleaved (the order
rotates from one repeat to the next), so a noisy neighbour hits all of them
alike, and every target is a ratio of medians from the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime
import errno
import gc
import io
import itertools
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jailcore
import jailcore.model
from benchmarks import native, pyjail_peer
from benchmarks.ctypes_binding import JAIL_CREATE, JAIL_UPDATE, Binding
from jailcore.params import Kind, all_params, spec

B1_NAMES = (
    "jid", "name", "path", "host.hostname", "ip4.addr", "ip6.addr",
    "persist", "securelevel", "children.max", "dying",
)
# jls -v: jid, hostname, path, name, state (dying), cpuset, ip4 and ip6 addresses.
B3_FIELDS = (
    "jid", "host.hostname", "path", "name", "dying", "cpuset.id", "ip4.addr", "ip6.addr",
)
IMPLS = ("jailcore", "c", "ctypes", "subprocess")
ADDR_GUESS = 16  # addresses an array buffer holds (jailcore's first guess too)

TARGET_IP4 = "192.0.2.10"  # TEST-NET-1: only ever an entry in the model
TARGET_IP6 = "2001:db8::10"


# ---- timing ----------------------------------------------------------------------


@dataclass
class Impl:
    """One implementation of one operation: ``batch(n)`` gives ns per operation."""

    name: str
    batch: Callable[[int], float]
    n: int = 1
    samples: list[float] = field(default_factory=list)


@contextlib.contextmanager
def _gc_off() -> Iterator[None]:
    """The garbage collector off for a timed loop (as it was, after)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def python_batch(fn: Callable[[], object]) -> Callable[[int], float]:
    def batch(n: int) -> float:
        with _gc_off():
            t0 = time.perf_counter_ns()
            for _ in range(n):
                fn()
            t1 = time.perf_counter_ns()
        return (t1 - t0) / n

    return batch


def python_each(fn: Callable[[Any], object], values: Iterator[Any]) -> Callable[[int], float]:
    """As :func:`python_batch`, with each call handed the next of ``values`` by
    the timed loop itself, as a program's loop over its own values hands them."""
    def batch(n: int) -> float:
        with _gc_off():
            t0 = time.perf_counter_ns()
            for v in itertools.islice(values, n):
                fn(v)
            t1 = time.perf_counter_ns()
        return (t1 - t0) / n

    return batch


@dataclass
class Settings:
    repeats: int
    batch_ns: float  # aimed duration of one batch
    max_n: int
    import_runs: int


def measure(impls: list[Impl], s: Settings) -> dict[str, float]:
    """Warm up, size the batches, then interleave ``s.repeats`` batches of each."""
    for im in impls:
        im.batch(1)  # warm: specs discovered, caches filled, binaries paged in
        est = max(im.batch(1), 1.0)
        k = max(1, min(s.max_n, int(0.2 * s.batch_ns / est)))
        if k > 1:
            est = max(im.batch(k), 1.0)  # one call is too short to time well
        im.n = max(1, min(s.max_n, int(s.batch_ns / est)))
    for r in range(s.repeats):
        k = r % len(impls)
        for im in impls[k:] + impls[:k]:
            im.samples.append(im.batch(im.n))
    return {im.name: statistics.median(im.samples) for im in impls}


# ---- values ----------------------------------------------------------------------

POOL = 65536  # values of B4 and B5 before they repeat (the C floor's pool too)


def value_pool(prefix: str) -> Iterator[tuple[str, str, str]]:
    """(name, hostname, IPv4 address) made before the clock starts and used
    in turn, new on every call for POOL calls: no cache of the values' own
    could be warm.  The C floor makes the same values (benchmarks/c/floor.c)."""
    return itertools.cycle(pool_values(prefix))


def pool_values(prefix: str) -> list[tuple[str, str, str]]:
    """The values of :func:`value_pool`, in the order it gives them."""
    return [(f"{prefix}{i}", f"{prefix}{i}.example",
             f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}") for i in range(POOL)]


# ---- the host ----------------------------------------------------------------------


def c_kind(name: str) -> tuple[str, int]:
    """(kind letter of benchmarks/c/common.h, buffer size) for a parameter."""
    s = spec(name)
    k = s.kind
    if k is Kind.BOOL:
        return "b", 4
    if k in (Kind.INT, Kind.UINT, Kind.JAILSYS):
        return "i", 4
    if k in (Kind.LONG, Kind.ULONG, Kind.INT64, Kind.UINT64):
        return "u", s.size
    if k in (Kind.STRING, Kind.KEYVALUE):
        return "s", max(s.size, 1)
    if k is Kind.IPV4:
        return "4", 4
    if k is Kind.IPV6:
        return "6", 16
    return "x", max(s.size, 1)


def c_args(names: tuple[str, ...] | list[str]) -> list[str]:
    """NAME:KIND:SIZE arguments of the C programs (address arrays hold ADDR_GUESS)."""
    out = []
    for n in names:
        kind, size = c_kind(n)
        if kind in ("4", "6"):
            size *= ADDR_GUESS
        out.append(f"{n}:{'i' if kind == 'b' else kind}:{size}")
    return out


class Bench:
    def __init__(self, args: argparse.Namespace, out: Callable[[str], None]) -> None:
        self.args = args
        self.say = out
        quick = args.quick
        self.s = Settings(
            repeats=args.repeats or (5 if quick else 11),
            batch_ns=(20e6 if quick else 120e6),
            max_n=20000,
            import_runs=3 if quick else 9,
        )
        self.results: dict[str, Any] = {}
        self.tmp = tempfile.mkdtemp(
            prefix="jailcore-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
        )
        self.state = os.path.join(self.tmp, "host.state")

    # -- setup

    def setup(self) -> None:
        jailcore.model.use_state_file(self.state)
        os.environ["JAILCORE_MODEL_STATE"] = self.state  # the C programs' host too
        jailcore.model.reset()
        self.library = jailcore.model.library_path()
        self.exe = native.build(self.library, self.tmp)
        every = set(all_params()) | set(B1_NAMES) | set(B3_FIELDS) | {"allow.raw_sockets"}
        self.ct = Binding(self.library, {n: c_kind(n) for n in every})
        self.target = jailcore.Jail.create(
            name="bench", path="/", host__hostname="bench.example",
            ip4__addr=TARGET_IP4, ip6__addr=TARGET_IP6, persist=True,
        )
        # All four must see this one host.
        seen = self.ct.get(self.target.jid, ["name"])["name"]
        out = subprocess.run(
            [self.exe["jtool"], "get", str(self.target.jid), *c_args(["name"])],
            capture_output=True, text=True, check=True,
        ).stdout
        if seen != "bench" or out.strip() != "name=bench":
            raise RuntimeError(f"the baselines do not share the host: {seen!r}, {out!r}")

    def cleanup(self) -> None:
        try:
            jailcore.model.reset()
            jailcore.model.use_state_file(None)
        finally:
            os.environ.pop("JAILCORE_MODEL_STATE", None)
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the four implementations of an operation

    def floor(self, args: list[str]) -> Callable[[int], float]:
        return lambda n: native.run_floor(self.exe["floor"], args, n)[0]

    def spawn(self, argv: list[str], parse: Callable[[str], object]) -> Callable[[], object]:
        cmd = [self.exe["jtool"], *argv]

        def once() -> object:
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"jtool {argv[0]}: {res.stderr.strip()}")
            return parse(res.stdout)

        return once

    def record(self, key: str, label: str, impls: list[Impl], unit: str = "us/op",
               per: int = 1, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        med = measure(impls, self.s)
        us = {k: v / 1000 for k, v in med.items()}
        entry: dict[str, Any] = {
            "label": label,
            "unit": unit,
            "us": us,
            "ratios": ratios(us),
            "spread": spreads({im.name: im.samples for im in impls}),
            "batch": {im.name: im.n for im in impls},
            "samples_us": {im.name: [x / 1000 for x in im.samples] for im in impls},
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if per > 1:
            entry["jails"] = per
            entry["us_per_jail"] = {k: v / per for k, v in us.items()}
        if extra:
            entry.update(extra)
        self.results[key] = entry
        self.say(f"  {key:<9} {label:<46} {entry['seconds']:5.1f} s")
        return entry

    # -- B1, B2: reads

    def b1(self) -> None:
        j, jid = self.target, self.target.jid
        names = list(B1_NAMES)
        self.record("B1", "read 10 parameters (jail.get(*names))", [
            Impl("jailcore", python_batch(lambda: j.get(*B1_NAMES))),
            Impl("c", self.floor(["get", str(jid), *c_args(names)])),
            Impl("ctypes", python_batch(lambda: self.ct.get(jid, names))),
            Impl("subprocess", python_batch(self.spawn(
                ["get", str(jid), *c_args(names)], parse_pairs))),
        ])
        self.record("B1f", "read 10 parameters (jailcore.jail_get)", [
            Impl("jailcore", python_batch(lambda: jailcore.jail_get(jid, B1_NAMES))),
            Impl("c", self.floor(["get", str(jid), *c_args(names)])),
            Impl("ctypes", python_batch(lambda: self.ct.get(jid, names))),
            Impl("subprocess", python_batch(self.spawn(
                ["get", str(jid), *c_args(names)], parse_pairs))),
        ])

    def b2(self) -> None:
        j, jid = self.target, self.target.jid
        names = list(all_params())
        self.record("B2", f"read every parameter ({len(names)})", [
            Impl("jailcore", python_batch(lambda: j.get(*all_params()))),
            Impl("c", self.floor(["get", str(jid), *c_args(names)])),
            Impl("ctypes", python_batch(lambda: self.ct.get(jid, names))),
            Impl("subprocess", python_batch(self.spawn(
                ["get", str(jid), *c_args(names)], parse_pairs))),
        ], extra={"parameters": len(names)})

    # -- B4, B5: changes, with new values on every call

    def b4(self) -> None:
        def jc_op(v: tuple[str, str, str]) -> None:
            name, host, ip = v
            jailcore.Jail.create(
                name=name, path="/", host__hostname=host, ip4__addr=ip, persist=True,
                allow__raw_sockets=True,
            ).remove()

        def ct_op(v: tuple[str, str, str]) -> None:
            name, host, ip = v
            self.ct.remove(self.ct.set({
                "name": name, "path": "/", "host.hostname": host, "ip4.addr": ip,
                "persist": True, "allow.raw_sockets": True,
            }, JAIL_CREATE))

        def sub_op(v: tuple[str, str, str]) -> object:
            return self.spawn(["create", *v], str.strip)()

        impls = [
            Impl("jailcore", python_each(jc_op, value_pool("b4jc"))),
            Impl("c", self.floor(["create", "b4c"])),
            Impl("ctypes", python_each(ct_op, value_pool("b4ct"))),
            Impl("subprocess", python_each(sub_op, value_pool("b4sub"))),
        ]
        peer = pyjail_peer.available()
        if peer is None:
            impls.append(Impl("py-jail", python_each(
                pyjail_peer.make_create_remove(self.library), value_pool("b4pj"))))
        self.record("B4", "create a jail (6 parameters, new values), remove it", impls,
                    extra={} if peer is None else {"py-jail": peer})

    def b5(self) -> None:
        j, jid = self.target, self.target.jid

        def hosts(prefix: str) -> Iterator[str]:
            return itertools.cycle([host for _name, host, _ip in pool_values(prefix)])

        self.record("B5", "update one parameter (host.hostname, new values)", [
            Impl("jailcore", python_each(lambda h: j.update(host__hostname=h), hosts("b5jc"))),
            Impl("c", self.floor(["update", str(jid), "b5c"])),
            Impl("ctypes", python_each(
                lambda h: self.ct.set({"jid": jid, "host.hostname": h}, JAIL_UPDATE),
                hosts("b5ct"))),
            Impl("subprocess", python_each(
                lambda h: self.spawn(["update", str(jid), h], str.strip)(), hosts("b5sub"))),
        ])

    # -- B3: listing

    def populate(self, n: int) -> str | None:
        """Make the host hold ``n`` jails; the reason when it cannot."""
        have = sum(1 for _ in jailcore.jails(()))
        for i in range(have, n):
            try:
                jailcore.jail_set({
                    "name": f"list{i}", "path": "/", "host.hostname": f"list{i}.example",
                    "ip4.addr": f"198.18.{i // 250}.{i % 250 + 1}", "persist": True,
                })
            except jailcore.JailError as exc:
                if exc.errno in (errno.EAGAIN, errno.EPERM, errno.ENOMEM, errno.ENOSPC):
                    return (f"the model holds at most {i} jails here "
                            f"(creating jail {i + 1}: {exc})")
                raise
        return None

    def b3(self, n: int) -> None:
        key = f"B3@{n}"
        label = f"list {n:,} jails (jls -v fields)"
        why = self.populate(n)
        if why is not None:
            self.results[key] = {"label": label, "jails": n, "measurable": False,
                                 "reason": why}
            self.say(f"  {key:<9} {label:<46} not measurable: {why}")
            return
        fields = list(B3_FIELDS)
        jc_fields = tuple(f for f in B3_FIELDS if f != "jid")
        self.record(key, label, [
            Impl("jailcore", python_batch(lambda: list(jailcore.jails(jc_fields)))),
            Impl("c", self.floor(["list", *c_args(fields)])),
            Impl("ctypes", python_batch(lambda: self.ct.jails(fields))),
            Impl("subprocess", python_batch(self.spawn(
                ["list", *c_args(fields[1:])], parse_rows))),
        ], unit="us/listing", per=n, extra={"measurable": True})
        listed = native.run_floor(self.exe["floor"], ["list", *c_args(fields)], 1)[1]
        if listed != n:
            raise RuntimeError(f"{key}: the floor listed {listed} jails, not {n}")

    # -- M: the model alone as its host fills

    def model_scale(self) -> None:
        """The kernel model's own cost (C, no Python) at 100, 1,000 and 10,000
        jails, on a private host of its own, and the memory each jail takes."""
        t0 = time.perf_counter()
        sizes = list(MODEL_SIZES)
        got = native.run_scale(self.exe["scale"], sizes, 500 if self.args.quick else 3000)
        small, big = sizes[1], sizes[-1]
        per_jail = (got[big]["rss"] - got[small]["rss"]) / (big - small)
        self.results["M"] = {
            "label": "the model alone (C), per operation as the host fills",
            "ns": {str(n): {op: got[n][op] for op in native.MODEL_OPS} for n in sizes},
            "growth": {op: got[big][op] / got[sizes[0]][op] for op in native.MODEL_OPS},
            "bytes_per_jail": per_jail,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        self.say(f"  {'M':<9} {'the model alone, 100 to 10,000 jails':<46} "
                 f"{self.results['M']['seconds']:5.1f} s")

    # -- B6: import

    def b6(self) -> None:
        t0 = time.perf_counter()
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(jailcore.__file__)))
        # Nothing is imported before the clock starts but time, a module built
        # into the interpreter; the resident size is read with the built-in
        # open().  json and os come after the clock stops.
        code = (
            "import time\n"
            "def pages():\n"
            "    try:\n"
            "        with open('/proc/self/statm') as f:\n"
            "            return int(f.read().split()[1])\n"
            "    except OSError:\n"
            "        return None\n"
            "r0 = pages(); t0 = time.perf_counter_ns()\n"
            "{stmt}\n"
            "t1 = time.perf_counter_ns(); r1 = pages()\n"
            "import json, os\n"
            "rss = None if r0 is None or r1 is None else (r1 - r0) * os.sysconf('SC_PAGE_SIZE')\n"
            "print(json.dumps({{'ns': t1 - t0, 'rss': rss}}))\n"
        )
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        # A plain import, as a program makes it: not on the suite's state file
        # (mapping that, with thousands of jails, is B3's cost); the default host
        # is mapped on a program's first call, not at import.
        env.pop("JAILCORE_MODEL_STATE", None)

        # The resident size comes from /proc/self/statm.  Without it (FreeBSD) it is not
        # measured: getrusage's ru_maxrss is a peak, and on Linux a child's includes
        # the size of the process it was forked from, so it cannot show what the
        # import adds.
        def run(stmt: str) -> tuple[float, float | None]:
            ms: list[float] = []
            kib: list[float] = []
            for _ in range(self.s.import_runs):
                res = subprocess.run(
                    [sys.executable, "-E", "-s", "-c", code.format(stmt=stmt)],
                    capture_output=True, text=True, cwd=pkg_parent, env=env,
                )
                if res.returncode != 0:
                    raise RuntimeError(f"B6 ({stmt}): {res.stderr.strip()}")
                d = json.loads(res.stdout)
                ms.append(d["ns"] / 1e6)
                if d["rss"] is not None:
                    kib.append(d["rss"] / 1024)
            return statistics.median(ms), statistics.median(kib) if kib else None

        jc_ms, jc_kib = run("import jailcore")
        # jailcore's names load on first use: what a program that creates or
        # lists jails pays before its first call.
        core_ms, core_kib = run("from jailcore import Jail")
        # Reported, not a target: what the first use adds once a program has
        # read a jailsys value and an address (the enum types and ipaddress,
        # which jailcore imports then) or uses the enum types itself.
        all_ms, all_kib = run("from jailcore import Jail, JailSys; from jailcore.params "
                              "import Kind; from jailcore.params import address_makers; "
                              "address_makers()")
        ct_ms, ct_kib = run(f"import ctypes; ctypes.CDLL({self.library!r})")
        self.results["B6"] = {
            "label": "import jailcore (fresh interpreter)",
            "runs": self.s.import_runs,
            "jailcore": {"import_ms": jc_ms, "rss_kib": jc_kib},
            "first_use": {"import_ms": core_ms, "rss_kib": core_kib,
                          "what": "from jailcore import Jail"},
            "with_types": {"import_ms": all_ms, "rss_kib": all_kib,
                           "what": "and the enum types and ipaddress (reported only)"},
            "ctypes": {"import_ms": ct_ms, "rss_kib": ct_kib, "what": "import ctypes + CDLL"},
            "seconds": round(time.perf_counter() - t0, 2),
        }
        self.say(f"  {'B6':<9} {'import jailcore':<46} {self.results['B6']['seconds']:5.1f} s")

    # -- the profile of jailcore's side

    def profile(self) -> dict[str, str]:
        out = {}
        j = self.target
        jc_fields = tuple(f for f in B3_FIELDS if f != "jid")
        listed = sum(1 for _ in jailcore.jails(()))
        pool = value_pool("prof")

        def b4() -> None:
            name, host, ip = next(pool)
            jailcore.Jail.create(name=name, path="/", host__hostname=host, ip4__addr=ip,
                                 persist=True, allow__raw_sockets=True).remove()

        cases: list[tuple[str, Callable[[], object], int]] = [
            ("B1 (3,000 reads)", lambda: j.get(*B1_NAMES), 3000),
            ("B4 (3,000 creates and removes, new values)", b4, 3000),
            (f"B3 (3 listings of {listed:,} jails)",
             lambda: list(jailcore.jails(jc_fields)), 3),
        ]
        for key, fn, n in cases:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                fn()
            prof.disable()
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
            out[key] = buf.getvalue()
        return out


# ---- parsing the tool's output (part of the subprocess baseline's cost) -------------


def parse_pairs(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def parse_rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


# ---- results --------------------------------------------------------------------------


# Each ratio: (numerator, denominator) implementations.
RATIOS = {
    "jailcore/c": ("jailcore", "c"),
    "ctypes/jailcore": ("ctypes", "jailcore"),
    "subprocess/jailcore": ("subprocess", "jailcore"),
    "py-jail/jailcore": ("py-jail", "jailcore"),
}


def ratios(us: dict[str, float]) -> dict[str, float]:
    """The ratios of medians between the implementations measured."""
    return {k: us[a] / us[b] for k, (a, b) in RATIOS.items() if a in us and b in us}


def spreads(samples: dict[str, list[float]]) -> dict[str, list[float]]:
    """Each ratio's [lowest, highest] over the repeats: the batches of one
    repeat ran side by side, so their ratio is one observation of it."""
    out = {}
    for k, (a, b) in RATIOS.items():
        if a in samples and b in samples:
            rs = [x / y for x, y in zip(samples[a], samples[b], strict=True)]
            out[k] = [min(rs), max(rs)]
    return out


@dataclass
class Target:
    id: str
    text: str
    op: str
    ratio: str  # key in the op's ratios, or "import_ratio"
    threshold: float
    at_most: bool  # value <= threshold passes (else value >= threshold)


TARGETS = (
    Target("T1", "B1 jailcore within 2x of C", "B1", "jailcore/c", 2, True),
    Target("T2", "B2 jailcore within 2x of C", "B2", "jailcore/c", 2, True),
    Target("T3", "B3 (1,000 jails) jailcore within 2x of C", "B3@1000", "jailcore/c", 2, True),
    Target("T4", "B3 (10,000 jails) jailcore within 2x of C", "B3@10000", "jailcore/c", 2,
           True),
    Target("T5", "B4 (new values) jailcore within 2x of C", "B4", "jailcore/c", 2, True),
    Target("T6", "B5 (new values) jailcore within 2x of C", "B5", "jailcore/c", 2, True),
    Target("T7", "B1 at least 5x faster than ctypes", "B1", "ctypes/jailcore", 5, False),
    Target("T8", "B2 at least 5x faster than ctypes", "B2", "ctypes/jailcore", 5, False),
    Target("T9", "B3 (1,000 jails) at least 5x faster than ctypes", "B3@1000",
           "ctypes/jailcore", 5, False),
    Target("T10", "B4 at least 5x faster than py-jail (PyPI jail)", "B4", "py-jail/jailcore",
           5, False),
    Target("T11", "first use (from jailcore import Jail) within 3x of import ctypes + CDLL",
           "B6", "import_ratio", 3, True),
)

SCALING_LIMIT = 1.2  # per-jail cost at 10x the jails, relative; above it is not linear
MODEL_SIZES = (100, 1000, 10000)  # jails on the model's host for M
MODEL_LIMIT = 2.0  # an operation of the model at 10,000 jails against at 100


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for t in TARGETS:
        op = results.get(t.op)
        value: float | None = None
        note = ""
        if op is None:
            note = "not run"
        elif op.get("measurable") is False:
            note = "not measurable: " + op["reason"]
        elif t.ratio == "import_ratio":
            value = op["first_use"]["import_ms"] / op["ctypes"]["import_ms"]
        elif t.ratio not in op["ratios"]:
            note = "not measured: " + op.get(t.ratio.split("/")[0], "no such implementation")
        else:
            value = op["ratios"][t.ratio]
        entry: dict[str, Any] = {
            "id": t.id, "target": t.text, "operation": t.op, "measure": t.ratio,
            "threshold": t.threshold, "at_most": t.at_most, "value": value,
        }
        if value is None:
            entry.update(status="N/A", note=note)
        else:
            ok = value <= t.threshold if t.at_most else value >= t.threshold
            miss = value / t.threshold if t.at_most else t.threshold / value
            entry.update(status="PASS" if ok else "MISS", miss_factor=None if ok else miss)
        out.append(entry)
    if "M" in results:
        lo, hi = MODEL_SIZES[0], MODEL_SIZES[-1]
        for op, value in results["M"]["growth"].items():
            ok = value <= MODEL_LIMIT
            out.append({
                "id": f"M-{op}", "operation": "M",
                "target": f"the model's {op} at {hi:,} jails within {MODEL_LIMIT:g}x "
                          f"of at {lo:,}",
                "measure": f"{op} {hi}/{lo}", "threshold": MODEL_LIMIT, "at_most": True,
                "value": value, "status": "PASS" if ok else "MISS",
                "miss_factor": None if ok else value / MODEL_LIMIT,
            })
    # Scaling (issue item 3): per-jail cost flat from one size to the next, 10x larger.
    sizes = sorted(int(k.split("@")[1]) for k, v in results.items()
                   if k.startswith("B3@") and v.get("measurable"))
    for small, big in itertools.pairwise(sizes):
        for impl, who in (("jailcore", "jailcore"), ("c", "the model (C floor)")):
            a = results[f"B3@{small}"]["us_per_jail"][impl]
            b = results[f"B3@{big}"]["us_per_jail"][impl]
            value = b / a
            ok = value <= SCALING_LIMIT
            out.append({
                "id": f"S-{impl}-{big}", "operation": f"B3@{big}",
                "target": f"B3 per-jail cost of {who} at {big:,} within "
                          f"{SCALING_LIMIT}x of at {small:,} (linear)",
                "measure": f"per-jail {big}/{small}", "threshold": SCALING_LIMIT,
                "at_most": True, "value": value, "status": "PASS" if ok else "MISS",
                "miss_factor": None if ok else value / SCALING_LIMIT,
            })
    return out


def fmt_us(v: float) -> str:
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def render(results: dict[str, Any], targets: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = []
    head = (f"{'operation':<44} {'jailcore':>9} {'C':>9} {'ctypes':>9} {'subproc':>9}"
            f" {'jc/C':>6} {'ct/jc':>6} {'sub/jc':>7}")
    lines.append(f"jailcore {meta['jailcore']} on the {meta['backend']} backend, "
                 f"{meta['date']}, {meta['machine']}")
    lines.append("times: median microseconds per operation (B3: per listing)")
    lines.append(head)
    lines.append("-" * len(head))
    for key, r in results.items():
        if key in ("B6", "M"):
            continue
        name = f"{key} {r['label']}"[:44]
        if r.get("measurable") is False:
            lines.append(f"{name:<44} not measurable: {r['reason']}")
            continue
        us, ra = r["us"], r["ratios"]
        lines.append(
            f"{name:<44} {fmt_us(us['jailcore']):>9} {fmt_us(us['c']):>9}"
            f" {fmt_us(us['ctypes']):>9} {fmt_us(us['subprocess']):>9}"
            f" {ra['jailcore/c']:>6.2f} {ra['ctypes/jailcore']:>6.2f}"
            f" {ra['subprocess/jailcore']:>7.1f}"
        )
        if "py-jail" in us:
            lines.append(f"{'   py-jail (PyPI jail 0.0.14)':<44} {fmt_us(us['py-jail']):>9}"
                         f"   py-jail/jailcore {ra['py-jail/jailcore']:.2f}")
        elif "py-jail" in r:
            lines.append(f"   py-jail not measured: {r['py-jail']}")
    b3 = [(k, r) for k, r in results.items() if k.startswith("B3@") and r.get("measurable")]
    if b3:
        lines.append("")
        lines.append("B3 per jail (us): " + "; ".join(
            f"{r['jails']:,}: jailcore {r['us_per_jail']['jailcore']:.2f}, "
            f"C {r['us_per_jail']['c']:.2f}, ctypes {r['us_per_jail']['ctypes']:.2f}, "
            f"subprocess {r['us_per_jail']['subprocess']:.2f}" for k, r in b3))
    if "B6" in results:
        b6 = results["B6"]
        def mib(kib: float | None) -> str:
            return "RSS not measured (no /proc)" if kib is None else f"+{kib / 1024:.1f} MiB"

        lines.append(
            f"B6 import jailcore: {b6['jailcore']['import_ms']:.1f} ms, "
            f"{mib(b6['jailcore']['rss_kib'])} RSS (median of {b6['runs']} fresh "
            f"interpreters; for reference import ctypes + CDLL of the model: "
            f"{b6['ctypes']['import_ms']:.1f} ms, {mib(b6['ctypes']['rss_kib'])})"
        )
        if "first_use" in b6:
            lines.append(
                f"   its names load on first use: from jailcore import Jail "
                f"{b6['first_use']['import_ms']:.1f} ms, {mib(b6['first_use']['rss_kib'])} RSS"
            )
        if "with_types" in b6:
            lines.append(
                f"   and once a program reads a jailsys value and an address (enum, "
                f"ipaddress): {b6['with_types']['import_ms']:.1f} ms, "
                f"{mib(b6['with_types']['rss_kib'])} RSS"
            )
    if "M" in results:
        m = results["M"]
        lines.append("M the model alone (C, ns per operation): " + "; ".join(
            f"{int(n):,} jails: " + ", ".join(f"{op} {v:,}" for op, v in ops.items())
            for n, ops in m["ns"].items()))
        lines.append(f"   memory per jail: {m['bytes_per_jail'] / 1024:.1f} KiB "
                     f"(resident size from {MODEL_SIZES[1]:,} to {MODEL_SIZES[-1]:,} jails)")
    lines.append("")
    lines.append("targets (ratios from this run):")
    for t in targets:
        if t["value"] is None:
            lines.append(f"  {t['id']:<12} {t['status']:<4}  {t['target']}: {t['note']}")
            continue
        cmp = "<=" if t["at_most"] else ">="
        miss = (f", misses by {t['miss_factor']:.2f}x" if t["status"] == "MISS" else "")
        spread = results.get(t["operation"], {}).get("spread", {}).get(t["measure"])
        within = f", {spread[0]:.2f}-{spread[1]:.2f} over the repeats" if spread else ""
        lines.append(f"  {t['id']:<12} {t['status']:<4}  {t['target']}: "
                     f"{t['value']:.2f}x{within} (target {cmp} {t['threshold']:g}x{miss})")
    return "\n".join(lines)


# ---- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="jailcore against C, ctypes, py-jail and subprocess on the kernel model",
    )
    p.add_argument("--quick", action="store_true",
                   help="few, short repeats (for CI: seconds, not minutes)")
    p.add_argument("--scale", action="store_true",
                   help="also list 10,000 jails in B3 (when the model allows that many)")
    p.add_argument("--sizes", default=None,
                   help="B3 sizes, comma-separated (default 100,1000; with --scale 10000 too)")
    p.add_argument("--repeats", type=int, default=None, help="batches per implementation")
    p.add_argument("--json", default="bench-results.json", metavar="PATH",
                   help="where to write the results (default: ./bench-results.json)")
    p.add_argument("--profile", action="store_true",
                   help="also profile jailcore's side of B1, B4 and B3 (cProfile, top costs)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if jailcore.features.backend != "model":
        print("the benchmark runs on the kernel model (JAILCORE_BACKEND=model)", file=sys.stderr)
        return 2
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    else:
        sizes = [100, 1000] + ([10000] if args.scale else [])
    sizes.sort()

    def say(msg: str) -> None:
        print(msg, flush=True)

    t0 = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    meta: dict[str, Any] = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "jailcore": jailcore.__version__,
        "backend": jailcore.features.backend,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "mode": "quick" if args.quick else "full",
        "b3_sizes": sizes,
    }
    bench = Bench(args, say)
    meta["repeats"] = bench.s.repeats
    say(f"jailcore benchmarks ({meta['mode']}): host state in {bench.state}")
    profiles: dict[str, str] = {}
    try:
        bench.setup()
        bench.b1()
        bench.b2()
        bench.b5()
        bench.b4()
        for n in sizes:
            bench.b3(n)
        bench.model_scale()
        bench.b6()
        if args.profile:
            profiles = bench.profile()
    finally:
        bench.cleanup()
    results = bench.results
    targets = evaluate(results)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    say("")
    say(render(results, targets, meta))
    for key, text in profiles.items():
        say(f"\ncProfile, jailcore side of {key} (top by own time):\n{text}")
    doc = {"meta": meta, "operations": results, "targets": targets}
    if profiles:
        doc["profiles"] = profiles
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
    say(f"\nwrote {args.json} ({meta['seconds']} s)")
    return 0
