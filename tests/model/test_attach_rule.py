"""The attach rule of FreeBSD in the kernel model (spec §6.1, §11 "Open directory
descriptors at attach").

FreeBSD refuses jail_attach(2), jail_attach_jd(2) and the attach of jail_set(2)
with JAIL_ATTACH with EPERM (no errmsg for the first two) while the attaching
process holds any open directory descriptor: do_jail_attach calls
pwd_chroot_chdir (sys/kern/kern_descrip.c), which calls chroot_refuse_vdir_fds,
unconditionally, after the privilege check, the lookup and the dying check.  A
refused process stays where it was.  A jail created by the refused jail_set is
removed ("attach failed").  The directory change is by vnode, so attaching to a
jail whose path lies outside the caller's own root is allowed.

Each in-process attach runs in a forked child (tests/forked.py): attaching is
one-way, and a jail with a path chroots for real, so these need root.
"""

from __future__ import annotations

import ctypes
import errno
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from forked import in_child
from modelabi import (
    JAIL_ATTACH,
    JAIL_CREATE,
    JAIL_GET_DESC,
    JAIL_UPDATE,
    LIB,
    I,
    attach,
    create,
    errno_of,
    get,
    jail_get,
    jail_set,
    remove,
)

LIB.jailmodel_attach_pid.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
LIB.jailmodel_attach_pid.restype = ctypes.c_int


def where() -> tuple[int, str, int]:
    """(model jid, cwd, inode of the root directory) of this process."""
    return LIB.jailmodel_current_jid(), os.getcwd(), os.stat("/").st_ino


def holding(opener: Callable[[], Any], then: Callable[[], Any]) -> tuple[Any, tuple[int, str, int]]:
    """In the calling (child) process: open a directory with `opener`, run `then`,
    and return its result and where the process is afterwards; the directory is
    closed again before returning."""
    held = opener()
    try:
        return then(), where()
    finally:
        if isinstance(held, int):
            os.close(held)
        else:
            held.close()


def dir_fd(path: str = "/") -> Callable[[], int]:
    return lambda: os.open(path, os.O_RDONLY | os.O_DIRECTORY)


OPENERS: dict[str, Callable[[], Any]] = {
    "os.open of a directory": dir_fd(),
    "an inheritable one": lambda: (fd := os.open("/", os.O_RDONLY | os.O_DIRECTORY),
                                   os.set_inheritable(fd, True), fd)[2],
    "O_PATH": lambda: os.open("/tmp", os.O_PATH | os.O_DIRECTORY),
    "a running os.scandir": lambda: (it := os.scandir("/"), next(it), it)[2],
}


@pytest.fixture
def jid(tmp_path: Path) -> int:
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside").write_text("x")
    return create(("name", "j"), ("path", str(root)))


@pytest.mark.parametrize("what", list(OPENERS))
def test_jail_attach_refused_while_a_directory_is_open(jid: int, what: str) -> None:
    before = in_child(where)
    result, after = in_child(lambda: holding(OPENERS[what], lambda: attach(jid)))
    assert result == (-1, errno.EPERM)
    assert after == before  # still on the host, same cwd, same root
    # Closed, the same process attaches.
    done = in_child(lambda: (holding(dir_fd(), lambda: None), attach(jid), os.listdir("/"),
                             LIB.jailmodel_current_jid()))
    assert done[1:] == ((0, 0), ["inside"], jid)


def test_a_file_descriptor_is_no_obstacle(jid: int, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    got = in_child(lambda: holding(lambda: os.open(f, os.O_RDONLY),
                                   lambda: (attach(jid), os.listdir("/"))))
    assert got[0] == ((0, 0), ["inside"])


def test_the_rule_comes_after_lookup_and_privilege(jid: int) -> None:
    # Lookup first: an absent jail is EINVAL even with a directory open.
    got = in_child(lambda: holding(dir_fd(), lambda: attach(jid + 1)))
    assert got[0] == (-1, errno.EINVAL)
    # Privilege first: EPERM for an unprivileged user either way, and a dying jail
    # (kept by a lingering reference) is EINVAL before the rule.
    assert errno_of("jailmodel_hold", jid) == (0, 0)
    assert remove(jid) == (0, 0)
    got = in_child(lambda: holding(dir_fd(), lambda: attach(jid)))
    assert got[0] == (-1, errno.EINVAL)


def test_jail_attach_jd_refused_while_a_directory_is_open(jid: int) -> None:
    r = jail_get([("jid", I(jid)), ("desc", I(-1))], JAIL_GET_DESC)
    assert r.ok, r.errmsg
    desc = r.int("desc")
    result, after = in_child(lambda: holding(dir_fd(), lambda: errno_of(
        "jailmodel_jail_attach_jd", desc)))
    assert result == (-1, errno.EPERM)
    assert after[0] == 0
    assert in_child(lambda: (errno_of("jailmodel_jail_attach_jd", desc), os.listdir("/"))) == (
        (0, 0), ["inside"])
    os.close(desc)


@pytest.mark.parametrize("persist", [False, True])
def test_jail_set_create_attach_refused_removes_the_new_jail(tmp_path: Path, persist: bool) -> None:
    pairs: list[tuple[str, Any]] = [("name", "fresh"), ("path", str(tmp_path))]
    if persist:
        pairs.append(("persist", None))

    def attempt() -> tuple[int, int, str]:
        r = jail_set(pairs, JAIL_CREATE | JAIL_ATTACH)
        return r.ret, r.errno, r.errmsg

    result, after = in_child(lambda: holding(dir_fd(), attempt))
    assert result == (-1, errno.EPERM, "attach failed")
    assert after[0] == 0
    gone = get(("name", "fresh"), "jid")
    assert (gone.ret, gone.errno) == (-1, errno.ENOENT)
    # Without the directory the same call creates and attaches.
    (tmp_path / "mark").write_text("m")
    (jid, err), listing = in_child(lambda: (attempt()[:2], os.listdir("/")))
    assert jid > 0 and err == 0 and listing == ["mark"]


def test_jail_set_update_attach_refused_keeps_the_update(jid: int) -> None:
    def attempt() -> tuple[int, int, str]:
        r = jail_set([("jid", I(jid)), ("host.hostname", "after")], JAIL_UPDATE | JAIL_ATTACH)
        return r.ret, r.errno, r.errmsg

    result, after = in_child(lambda: holding(dir_fd(), attempt))
    assert result == (-1, errno.EPERM, "attach failed")
    assert after[0] == 0
    # An existing jail stays, changed: kern_jail_set applies the parameters before
    # do_jail_attach and undoes nothing when the attach fails.
    r = get(("jid", I(jid)), "host.hostname", "dying")
    assert (r.ret, r.str("host.hostname"), r.int("dying")) == (jid, "after", 0)


def test_jail_set_checks_come_before_the_rule(tmp_path: Path) -> None:
    def attempt() -> tuple[int, int, str]:
        r = jail_set([("name", "x"), ("path", str(tmp_path)), ("nosuch", "1")],
                     JAIL_CREATE | JAIL_ATTACH)
        return r.ret, r.errno, r.errmsg

    assert in_child(lambda: holding(dir_fd(), attempt))[0] == (
        -1, errno.EINVAL, "unknown parameter: nosuch")


# ---- the spawner's registration: jailmodel_attach_pid looks at the child ----------------


def attach_pid(pid: int, jid: int) -> tuple[int, int, bytes]:
    buf = ctypes.create_string_buffer(1024)
    ctypes.set_errno(0)
    ret = LIB.jailmodel_attach_pid(pid, jid, buf, len(buf))
    return ret, (ctypes.get_errno() if ret == -1 else 0), buf.value


HOLDER = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
print("open", flush=True)
sys.stdin.readline()
os.close(fd)
print("closed", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(
    not os.path.isdir(f"/proc/{os.getpid()}/fd"),
    reason="the model sees another process's descriptors only in /proc/PID/fd (Linux's "
           "procfs), and without it lets the attach pass (docs/model.rst)")
def test_attach_pid_applies_the_rule_to_the_child(tmp_path: Path) -> None:
    first = create(("name", "first"), ("path", str(tmp_path)))
    second = create(("name", "second"), ("path", str(tmp_path)))
    with subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as p:
        assert p.stdin is not None and p.stdout is not None
        assert p.stdout.readline() == "open\n"
        # The lookup comes first; then the child's own descriptors decide.
        assert attach_pid(p.pid, 999)[:2] == (-1, errno.EINVAL)
        assert attach_pid(p.pid, first)[:2] == (-1, errno.EPERM)
        # Not registered: removing the jail kills none of its processes.
        assert remove(first) == (0, 0)
        assert p.poll() is None
        p.stdin.write("\n")
        p.stdin.flush()
        assert p.stdout.readline() == "closed\n"
        assert attach_pid(p.pid, second) == (0, 0, str(tmp_path).encode())
        # Registered now: jail_remove kills it.
        assert remove(second) == (0, 0)
        assert p.wait(timeout=10) == -9


# ---- a jail rooted outside the caller's root ----------------------------------------


def test_attach_to_a_jail_outside_the_callers_root(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "in-a").write_text("a")
    (b / "in-b").write_text("b")
    ja = create(("name", "a"), ("path", str(a)))
    # The host makes a child of a whose path is not under a's.
    jb = create(("name", "a.b"), ("path", str(b)))

    def inside_a() -> tuple[Any, ...]:
        first = attach(ja), os.listdir("/")
        # From inside a, the rule still holds (the model reads /proc from the real root).
        refused = holding(dir_fd(), lambda: attach(jb))[0]
        second = attach(jb), os.listdir("/"), os.getcwd(), LIB.jailmodel_current_jid()
        return first, refused, second

    first, refused, second = in_child(inside_a)
    assert first == ((0, 0), ["in-a"])
    assert refused == (-1, errno.EPERM)
    assert second == ((0, 0), ["in-b"], "/", jb)


def test_jail_set_attach_reaches_a_jail_outside_the_callers_root(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "in-b").write_text("b")
    ja = create(("name", "a"), ("path", str(a)))
    jb = create(("name", "a.b"), ("path", str(b)))

    def by_update() -> tuple[Any, ...]:
        assert attach(ja) == (0, 0)
        # From inside a, its child is "b".
        u = jail_set([("name", "b"), ("host.hostname", "seen")], JAIL_UPDATE | JAIL_ATTACH)
        return u.ret, u.errno, os.listdir("/"), LIB.jailmodel_current_jid()

    assert in_child(by_update) == (jb, 0, ["in-b"], jb)
