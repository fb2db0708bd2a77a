"""The FreeBSD 14 header shim of the cross-compile check (tools/xbuild.py).

zig carries FreeBSD 15's headers only; the 14.0 builds read
tools/freebsd14-shim/sys/jail.h first, which hides what 15 added, so that a
direct call of a jail descriptor function cannot compile there.  These tests
compile a few small files with zig (fractions of a second each) and run the
shim's self-test; they skip when zig is not installed.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
XBUILD = ROOT / "tools" / "xbuild.py"

def _zig_missing() -> str | None:
    """Why zig cannot compile here, or None: not installed, or unable to run
    (on Linux zig finds its own files through /proc/self/exe)."""
    if importlib.util.find_spec("ziglang") is None:
        return "zig is missing (pip install ziglang): the FreeBSD cross-compile is not tested"
    r = subprocess.run([sys.executable, "-m", "ziglang", "env"], capture_output=True,
                       text=True, check=False, timeout=120)
    if r.returncode != 0:
        return f"zig cannot run here ({(r.stderr or r.stdout).strip()})"
    return None


ZIG_MISSING = _zig_missing()

pytestmark = [
    pytest.mark.skipif(not XBUILD.is_file(), reason="tools/xbuild.py is not in this tree"),
    pytest.mark.skipif(ZIG_MISSING is not None, reason=str(ZIG_MISSING)),
]

TARGET14 = "x86_64-freebsd.14.0"
PRELUDE = "#include <sys/param.h>\n#include <sys/jail.h>\n"
DIRECT_CALL = PRELUDE + "int f(int fd) { return jail_attach_jd(fd); }\n"
FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fno-sanitize=all"]


@pytest.fixture(scope="module")
def xbuild() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_jailcore_xbuild", XBUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # for its dataclasses
    spec.loader.exec_module(module)
    return module


def compile_c(xbuild: ModuleType, tmp_path: Path, code: str, *, shim: bool,
              target: str = TARGET14) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "probe.c"
    src.write_text(code)
    include = [f"-I{xbuild.SHIM14}"] if shim else []
    return subprocess.run(
        [*xbuild.zig_cc(target), *include, *FLAGS, "-c", str(src), "-o", str(tmp_path / "p.o")],
        capture_output=True, text=True, check=False, timeout=120,
    )


def test_direct_call_fails_with_the_shim(xbuild: ModuleType, tmp_path: Path) -> None:
    r = compile_c(xbuild, tmp_path, DIRECT_CALL, shim=True)
    assert r.returncode != 0
    assert re.search(r"error: call to undeclared function 'jail_attach_jd'", r.stderr), r.stderr


def test_direct_call_compiles_without_the_shim(xbuild: ModuleType, tmp_path: Path) -> None:
    """zig's headers (15's) declare it even for a 14.0 target: the shim is what refuses."""
    r = compile_c(xbuild, tmp_path, DIRECT_CALL, shim=False)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("flag", ["JAIL_USE_DESC", "JAIL_AT_DESC", "JAIL_GET_DESC",
                                  "JAIL_OWN_DESC"])
def test_descriptor_flags_are_undefined(xbuild: ModuleType, tmp_path: Path, flag: str) -> None:
    code = PRELUDE + f"#ifdef {flag}\n#error {flag} is defined\n#endif\nint f(void);\n"
    r = compile_c(xbuild, tmp_path, code, shim=True)
    assert r.returncode == 0, r.stderr


def test_fourteen_api_and_masks(xbuild: ModuleType, tmp_path: Path) -> None:
    code = (
        "#include <sys/param.h>\n#include <sys/uio.h>\n#include <sys/jail.h>\n"
        "_Static_assert(JAIL_SET_MASK == 0x0f && JAIL_GET_MASK == 0x08, \"masks\");\n"
        "_Static_assert(__FreeBSD_version / 100000 == 14, \"14.x\");\n"
        "int f(struct iovec *iov, unsigned int n, int jid)\n"
        "{\n\treturn jail_set(iov, n, JAIL_CREATE) + jail_attach(jid) + jail_remove(jid);\n}\n"
    )
    r = compile_c(xbuild, tmp_path, code, shim=True)
    assert r.returncode == 0, r.stderr


def test_shim_refuses_a_fifteen_target(xbuild: ModuleType, tmp_path: Path) -> None:
    r = compile_c(xbuild, tmp_path, PRELUDE + "int f(void);\n", shim=True,
                  target="x86_64-freebsd.15.0")
    assert r.returncode != 0
    assert "for FreeBSD 14 targets only" in r.stderr


def test_probe_that_compiles_but_must_fail_is_a_failure(
    xbuild: ModuleType, tmp_path: Path
) -> None:
    """The self-test's judge: a probe expected to fail that compiles fails the test."""
    src = tmp_path / "ok.c"
    src.write_text(PRELUDE + "int f(int jid) { return jail_attach(jid); }\n")
    probe = xbuild.Probe("must fail", TARGET14, True, "jail_attach_jd", src, FLAGS)
    xbuild.run_probe(probe, tmp_path)
    assert not probe.ok
    assert probe.detail == "compiled, but must fail"


def test_probe_failing_for_another_reason_is_a_failure(
    xbuild: ModuleType, tmp_path: Path
) -> None:
    src = tmp_path / "other.c"
    src.write_text(PRELUDE + "int f(void) { return no_such_thing; }\n")
    probe = xbuild.Probe("must fail", TARGET14, True, "jail_attach_jd", src, FLAGS)
    xbuild.run_probe(probe, tmp_path)
    assert not probe.ok
    assert probe.detail.startswith("failed without naming jail_attach_jd")


def test_compile_failure_hint(xbuild: ModuleType) -> None:
    message = "csrc/kernel.c:215:19: error: call to undeclared function 'jail_remove_jd'"
    assert "jail_remove_jd: FreeBSD 15 only" in xbuild.shim14_hint(message)
    assert "dlsym(3)" in xbuild.shim14_hint(message)
    assert xbuild.shim14_hint("error: unknown type name 'foo_t'") == ""


def test_read_deps(xbuild: ModuleType, tmp_path: Path) -> None:
    dep = tmp_path / "k.d"
    dep.write_text(
        f"k.o: csrc/kernel.c \\\n  {xbuild.SHIM14_JAIL_H} \\\n  /usr/include/sys/jail.h\n"
    )
    assert xbuild.read_deps(dep) == {
        (ROOT / "csrc" / "kernel.c").resolve(),
        xbuild.SHIM14_JAIL_H.resolve(),
        Path("/usr/include/sys/jail.h"),
    }


@pytest.mark.skipif(importlib.util.find_spec("cffi") is None, reason="cffi is missing")
@pytest.mark.skipif(
    not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file(),
    reason="no Python.h for this interpreter (csrc/kernel.c needs it)",
)
def test_self_test_passes() -> None:
    """--self-test compiles csrc/kernel.c with direct descriptor calls, among others,
    for 14.0 and expects each to fail naming jail_attach_jd."""
    r = subprocess.run(
        [sys.executable, str(XBUILD), "--self-test"],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"(\d+) of (\d+) shim self-test probes passed", r.stdout)
    assert m and m.group(1) == m.group(2), r.stdout
    assert "pass  shim: csrc/kernel.c with JC_DIRECT_JAILDESC forced to 1 fails" in r.stdout
    assert "pass  shim: csrc/kernel.c + a direct call of jail_attach_jd fails" in r.stdout
    assert "FAIL" not in r.stdout
