"""The model's shared object and its host: exported symbols, a C program driving it,
state files, and a process killed while it holds the model's lock."""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from modelabi import JAIL_CREATE, JAIL_UPDATE, LIB, I, create, get, jail_set

import jailcore.model

HEADER = Path(__file__).resolve().parents[2] / "csrc" / "model" / "jailmodel.h"


def exported_names() -> list[str]:
    """Every function the public header declares."""
    return re.findall(r"JAILMODEL_API\s+[\w\s\*]+?\b(jailmodel_\w+)\s*\(", HEADER.read_text())


def test_library_path_exports_every_jailmodel_symbol() -> None:
    path = jailcore.model.library_path()
    assert os.path.isfile(path)
    names = exported_names()
    assert {
        "jailmodel_jail_set", "jailmodel_jail_get", "jailmodel_jail_attach",
        "jailmodel_jail_remove", "jailmodel_jail_attach_jd", "jailmodel_jail_remove_jd",
        "jailmodel_sysctl", "jailmodel_sysctlbyname", "jailmodel_sysctlnametomib",
        "jailmodel_kldload", "jailmodel_kldfind", "jailmodel_reset",
    } <= set(names)
    lib = ctypes.CDLL(path)
    for name in names:
        assert hasattr(lib, name), name
    if shutil.which("nm"):
        out = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True,
                             text=True, check=True).stdout
        defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
        assert set(names) <= defined


def test_ctypes_and_jailcore_share_one_host() -> None:
    """ctypes loading library_path() drives the same host as jailcore's own extension."""
    from jailcore._backend import ffi, lib

    jid = create(("name", "shared"))
    it = ffi.new("struct iovec[]", 4)
    key = ffi.new("char[]", b"jid")
    val = ffi.new("int *", jid)
    nm = ffi.new("char[]", b"name")
    out = ffi.new("char[]", 256)
    it[0] = {"iov_base": key, "iov_len": 4}
    it[1] = {"iov_base": val, "iov_len": 4}
    it[2] = {"iov_base": nm, "iov_len": 5}
    it[3] = {"iov_base": out, "iov_len": 256}
    assert lib.jc_jail_get(lib.JC_BACKEND_MODEL, it, 4, 0) == jid
    assert ffi.string(out) == b"shared"


C_PROGRAM = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include "jailmodel.h"

#define IOV(s) {(void *)(s), sizeof(s)}

int main(void) {
    char errmsg[1024] = "";
    char name[256] = "";
    int jid;
    struct iovec set[] = {IOV("name"), IOV("fromc"), IOV("persist"), {NULL, 0},
                          IOV("errmsg"), {errmsg, sizeof(errmsg)}};
    jid = jailmodel_jail_set(set, 6, 1);
    if (jid < 0) { printf("set %d %s\n", errno, errmsg); return 1; }
    struct iovec get[] = {IOV("jid"), {&jid, sizeof(jid)}, IOV("name"), {name, sizeof(name)}};
    if (jailmodel_jail_get(get, 4, 0) != jid) { printf("get %d\n", errno); return 1; }
    /* The same name again: EEXIST and the kernel's message. */
    if (jailmodel_jail_set(set, 6, 1) != -1 || errno != EEXIST) return 1;
    printf("%d %s %s\n", jid, name, errmsg);
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler on this machine")
def test_c_program_links_and_drives_the_model(tmp_path: Path) -> None:
    src = tmp_path / "prog.c"
    src.write_text(textwrap.dedent(C_PROGRAM))
    lib = Path(jailcore.model.library_path())
    exe = tmp_path / "prog"
    # Under tools/sanitize.py the library is instrumented: the program links the
    # sanitizer runtimes itself, as any program using such a library must.
    sanitize = ["-fsanitize=address,undefined"] if os.environ.get("JAILCORE_SANITIZER_RUN") else []
    subprocess.run(
        ["cc", "-Wall", "-Wextra", "-Werror", *sanitize, "-I", str(HEADER.parent), str(src),
         f"-L{lib.parent}", "-ljailmodel", f"-Wl,-rpath,{lib.parent}", "-o", str(exe)],
        check=True,
    )
    env = dict(os.environ, JAILCORE_MODEL_STATE=str(tmp_path / "host"))
    out = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == '1 fromc jail "fromc" already exists\n'
    # The state file holds that host: this process sees the C program's jail.
    jailcore.model.use_state_file(tmp_path / "host")
    try:
        r = get(("name", "fromc"), "jid", "persist")
        assert (r.ret, r.int("persist")) == (1, 1)
    finally:
        jailcore.model.use_state_file(None)


def test_state_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"not a model host" * 100)
    before = jailcore.model.state_path()
    with pytest.raises(OSError) as exc:
        jailcore.model.use_state_file(foreign)
    assert exc.value.errno == errno.EINVAL
    assert foreign.read_bytes() == b"not a model host" * 100
    # The process kept its host.
    assert jailcore.model.state_path() == before
    assert create() == 1


def test_state_file_path_and_fresh_host(tmp_path: Path) -> None:
    path = tmp_path / "h"
    jailcore.model.use_state_file(path)
    try:
        assert jailcore.model.state_path() == str(path)
        assert create(("name", "a")) == 1
    finally:
        jailcore.model.use_state_file(None)
    assert jailcore.model.state_path() is None
    r = get(("name", "a"), "jid")
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.ENOENT, 'jail "a" not found')


def crash_child(fn_name: str, *args: object) -> int:
    """Fork a child that dies by SIGKILL in the middle of a model change."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            LIB.jailmodel_test_crash_at(1)
            fn = globals()[fn_name]
            fn(*args)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def do_set(pairs: list[tuple[str, object]], flags: int) -> None:
    jail_set(pairs, flags)  # type: ignore[arg-type]


def test_killed_while_holding_the_lock_mid_create() -> None:
    parent = create(("name", "p"), ("children.max", I(5)))
    status = crash_child("do_set", [("name", "p.c"), ("persist", None),
                                    ("securelevel", I(3))], JAIL_CREATE)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    # The lock is usable and the half-made jail is gone.
    r = get(("name", "p.c"), "jid")
    assert (r.ret, r.errno, r.errmsg) == (-1, errno.ENOENT, 'jail "p.c" not found')
    r = get(("jid", I(parent)), "children.cur", "name")
    assert (r.int("children.cur"), r.str("name")) == (0, "p")
    # The jid counter did not move either: the next jail is 2.
    assert create(("name", "p.c")) == 2


def test_killed_while_holding_the_lock_mid_update() -> None:
    a = create(("name", "a"), ("children.max", I(5)))
    b = create(("name", "a.b"))
    status = crash_child("do_set", [("jid", I(a)), ("name", "z"), ("securelevel", I(2))],
                         JAIL_UPDATE)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    ra = get(("jid", I(a)), "name", "securelevel")
    rb = get(("jid", I(b)), "name")
    assert (ra.str("name"), ra.int("securelevel"), rb.str("name")) == ("a", -1, "a.b")
    r = jail_set([("jid", I(a)), ("name", "z")], JAIL_UPDATE)
    assert r.ret == a
    assert get(("jid", I(b)), "name").str("name") == "z.b"


def test_forked_child_shares_the_anonymous_host() -> None:
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            jid = create(("name", "fromchild"))
            os.write(w_fd, str(jid).encode())
        finally:
            os._exit(0)
    os.close(w_fd)
    os.waitpid(pid, 0)
    jid = int(os.read(r_fd, 32))
    os.close(r_fd)
    r = get(("name", "fromchild"), "jid")
    assert r.ret == jid == 1


def test_env_state_file_shared_by_unrelated_processes(tmp_path: Path) -> None:
    env = dict(os.environ, JAILCORE_MODEL_STATE=str(tmp_path / "host"))
    tests = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(
        [str(tests), str(Path(jailcore.model.__file__).resolve().parents[1])])
    code = 'import modelabi as m; print(m.create(("name", "one")))'
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "1"
    code2 = code.replace('"one"', '"two"')
    out = subprocess.run([sys.executable, "-c", code2], env=env, capture_output=True,
                         text=True, timeout=60, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "2"


def test_the_user_who_made_a_host_manages_its_jails_without_root() -> None:
    """The model's superusers are root and the host's creator, so a user's own tests
    run without root; any other uid stays unprivileged on that host."""
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setuid(1000)
            jailcore.model.use_state_file(None)  # a host made by uid 1000
            jid = create(("name", "mine"))
            r = get(("jid", I(jid)), "name", "persist")
            os.write(w_fd, f"{jid} {r.str('name')} {r.int('persist')}".encode())
        finally:
            os._exit(0)
    os.close(w_fd)
    os.waitpid(pid, 0)
    out = os.read(r_fd, 100).decode()
    os.close(r_fd)
    assert out == "1 mine 1"


def test_a_host_made_by_root_refuses_other_uids() -> None:
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setuid(1000)
            ret = jail_set([("name", "x"), ("persist", None)], JAIL_CREATE)
            os.write(w_fd, f"{ret.ret} {ret.errno}".encode())
        finally:
            os._exit(0)
    os.close(w_fd)
    os.waitpid(pid, 0)
    assert os.read(r_fd, 100).decode() == f"-1 {errno.EPERM}"
    os.close(r_fd)


def _host_file_with_jails(path: Path) -> None:
    jailcore.model.use_state_file(path)
    try:
        create(("name", "a"), ("children.max", I(2)))
        create(("name", "a.b"))
    finally:
        jailcore.model.use_state_file(None)


def test_corrupted_state_file_is_refused(tmp_path: Path) -> None:
    """A host whose contents break the model's invariants (here: a name without
    its NUL) is refused with EINVAL, never mapped and trusted."""
    import mmap

    path = tmp_path / "host"
    _host_file_with_jails(path)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as mm:
        i = mm.find(b"a.b\0")
        assert i > 0
        mm[i : i + 256] = b"x" * 256
    before = jailcore.model.state_path()
    with pytest.raises(OSError) as exc:
        jailcore.model.use_state_file(path)
    assert exc.value.errno == errno.EINVAL
    assert "corrupted" in exc.value.strerror
    assert exc.value.filename == str(path)
    assert jailcore.model.state_path() == before


def test_truncated_and_zeroed_state_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "host"
    _host_file_with_jails(path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(OSError) as exc:
        jailcore.model.use_state_file(path)
    assert exc.value.errno == errno.EINVAL
    # A file of a host's size that is not one (its magic wrong) is refused; an
    # all-zero one is what a process killed while making a host in place
    # leaves, and is made again (tests/model/test_host_creation.py).
    foreign = tmp_path / "foreign"
    with open(foreign, "wb") as f:
        f.truncate(size)
        f.write(b"NOTAHOST")
    foreign.chmod(0o600)
    with pytest.raises(OSError) as exc:
        jailcore.model.use_state_file(foreign)
    assert exc.value.errno == errno.EINVAL


def test_intact_state_file_is_accepted_again(tmp_path: Path) -> None:
    path = tmp_path / "host"
    _host_file_with_jails(path)
    jailcore.model.use_state_file(path)
    try:
        assert get(("name", "a.b"), "jid").ret == 2
    finally:
        jailcore.model.use_state_file(None)


def test_the_seam_returns_minus_errno_for_a_failed_call() -> None:
    """jc_* return the call's result, or -errno: errno travels with the result."""
    import errno

    from jailcore._backend import ffi, lib

    assert lib.jc_jail_remove(lib.JC_BACKEND_MODEL, 999999) == -errno.EINVAL
    assert lib.jc_jail_attach(lib.JC_BACKEND_MODEL, 999999) == -errno.EINVAL
    assert lib.jc_kldload(lib.JC_BACKEND_MODEL, b"no-such-module") == -errno.ENOENT
    mib, size = ffi.new("int[]", 24), ffi.new("size_t *", 24)
    assert lib.jc_sysctlnametomib(lib.JC_BACKEND_MODEL, b"no.such", mib, size) == -errno.ENOENT
    if not lib.JC_HAS_KERNEL:
        assert lib.jc_jail_remove(lib.JC_BACKEND_KERNEL, 1) == -errno.ENOSYS
