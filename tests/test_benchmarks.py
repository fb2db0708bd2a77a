"""The benchmark suite runs (``python -m benchmarks --quick``) and reports every figure.

Nothing here asserts a speed: timings are the suite's business, not a unit
test's.  It checks that one quick run on the model finishes and that its JSON
holds every operation with every baseline as a positive number.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jailcore

ROOT = Path(__file__).resolve().parent.parent


def _pyjail_missing() -> str | None:
    """Why the suite cannot measure py-jail here (as benchmarks/pyjail_peer.py
    says it), or None when PyPI's jail 0.0.14 is installed."""
    from importlib import metadata

    try:
        version = metadata.version("jail")
    except metadata.PackageNotFoundError:
        return ("PyPI jail (py-jail) is not installed: pip install setuptools wheel"
                " && pip install --no-build-isolation jail==0.0.14")
    if version != "0.0.14":
        return f"PyPI jail {version} is installed, the suite measures jail==0.0.14"
    return None


PYJAIL_MISSING = _pyjail_missing()
OPERATIONS = ("B1", "B2", "B3@100", "B3@1000", "B4", "B5")
BASELINES = ("jailcore", "c", "ctypes", "subprocess")


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="the C and subprocess baselines need a C compiler (cc)")
@pytest.mark.skipif(not (ROOT / "benchmarks" / "__main__.py").is_file(),
                    reason="benchmarks/ is not in this tree")
def test_quick_run_reports_every_operation_and_baseline(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # The jailcore under test first (installed or built in place), then the
    # source tree for the benchmarks package itself.
    pkg_parent = Path(jailcore.__file__).resolve().parent.parent
    env = dict(os.environ)
    env.pop("JAILCORE_MODEL_STATE", None)  # the suite makes a host of its own
    env["PYTHONPATH"] = os.pathsep.join([str(pkg_parent), str(ROOT)])
    res = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(out.read_text())

    ops = doc["operations"]
    for op in OPERATIONS:
        assert op in ops, op
        for impl in BASELINES:
            assert ops[op]["us"][impl] > 0, (op, impl)
            assert all(x > 0 for x in ops[op]["samples_us"][impl]), (op, impl)
        for ratio in ("jailcore/c", "ctypes/jailcore", "subprocess/jailcore"):
            assert ops[op]["ratios"][ratio] > 0, (op, ratio)
    for n in (100, 1000):
        assert ops[f"B3@{n}"]["jails"] == n
        assert all(v > 0 for v in ops[f"B3@{n}"]["us_per_jail"].values())
    assert ops["B6"]["jailcore"]["import_ms"] > 0
    assert ops["B6"]["first_use"]["import_ms"] > ops["B6"]["jailcore"]["import_ms"]
    # The enum types and ipaddress come on top of a first use, when a program needs them.
    assert ops["B6"]["with_types"]["import_ms"] > ops["B6"]["first_use"]["import_ms"]
    if os.path.exists("/proc/self/statm"):
        assert ops["B6"]["jailcore"]["rss_kib"] > 0
    else:  # not measured without /proc (benchmarks/suite.py, B6)
        assert ops["B6"]["jailcore"]["rss_kib"] is None

    # The model alone, in C, at 100, 1,000 and 10,000 jails.
    model = ops["M"]
    assert set(model["ns"]) == {"100", "1000", "10000"}
    for n, per_op in model["ns"].items():
        assert set(per_op) == {"create", "getjid", "getname", "update"}, n
        assert all(v > 0 for v in per_op.values()), n
    assert model["bytes_per_jail"] > 0

    # py-jail, the Python peer, on B4 (installed with the test extra); without
    # it, the run says why and its target is not applicable.
    if PYJAIL_MISSING is None:
        assert ops["B4"]["us"]["py-jail"] > 0
        assert ops["B4"]["ratios"]["py-jail/jailcore"] > 0
    else:
        assert ops["B4"]["py-jail"] == PYJAIL_MISSING
        assert "py-jail" not in ops["B4"]["us"]
    # Each ratio's spread over the repeats brackets it.
    for op in OPERATIONS:
        for ratio, (lo, hi) in ops[op]["spread"].items():
            assert 0 < lo <= hi, (op, ratio)

    ids = {t["id"] for t in doc["targets"]}
    assert {f"T{i}" for i in range(1, 12)} <= ids
    assert {"M-create", "M-getjid", "M-getname", "M-update"} <= ids
    for t in doc["targets"]:
        if t["id"] == "T4":  # B3 at 10,000 jails: only with --scale
            assert (t["status"], t["note"]) == ("N/A", "not run"), t
            continue
        if t["id"] == "T10" and PYJAIL_MISSING is not None:
            assert (t["status"], t["note"]) == ("N/A", "not measured: " + PYJAIL_MISSING), t
            continue
        assert t["status"] in ("PASS", "MISS"), t
        assert t["value"] > 0, t
    assert doc["meta"]["backend"] == "model"
    assert "B1" in res.stdout and "targets" in res.stdout
