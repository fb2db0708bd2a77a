"""Users in Jail.spawn / Jail.run on the model, as jexec(8) resolves them (spec 8.1).

``user=`` comes from the jail's own etc/passwd and etc/group (built here under a
temporary jail root that also holds sh, id, env, cat and their libraries),
``host_user=`` from the host's databases; ``login=True`` is jexec -l's clean
environment and home directory.  Every failing step is reported with its errno.
These tests switch identities, so they need root.
"""

from __future__ import annotations

import ctypes
import errno
import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from kernel.forking import Forked
from kernel.spawn_scenarios import populate_root

from jailcore import Jail, JailError, JailNotFoundError, JailPermissionError
from jailcore.process import LOGIN_PATH

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: switching users and creating jails take privilege")

PASSWD = """\
# name:password:uid:gid:gecos:home:shell
root:*:0:0:Charlie &:/root:/bin/sh
alice:*:1001:1001:Alice:/home/alice:/bin/sh
bob:*:1002:1002:Bob:/home/bob:/usr/local/bin/bash
plain:*:1003:1003:No home nor shell::
badgroup:*:1004:4294967295::/:/bin/sh
baduid:*:4294967295:1001::/:/bin/sh
"""

GROUP = """\
# name:password:gid:members
wheel:*:0:root
staff:*:20:bob,alice
alice:*:1001:
bob:*:1002:
video:*:44:carol,alice,dave
operator:*:5:
"""

ALICE_HOME_PATH = LOGIN_PATH.format(home="/home/alice")


@pytest.fixture
def jail(tmp_path: Path) -> Jail:
    """A jail whose root has programs, a user database and the users' homes."""
    root = tmp_path / "root"
    root.mkdir()
    why = populate_root(str(root), ["/bin/sh", "/usr/bin/id", "/usr/bin/env", "/bin/cat"])
    if why is not None:
        pytest.skip(f"cannot build a jail root with programs: {why}")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for name, uid in (("alice", 1001), ("bob", 1002)):
        home = root / "home" / name
        home.mkdir(parents=True)
        os.chown(home, uid, uid)
        home.chmod(0o700)
    (root / "home").chmod(0o755)
    (root / "sub").mkdir(mode=0o755)
    return Jail.create(path=str(root.resolve()))


def lines(jail: Jail, script: str, **kwargs: Any) -> list[str]:
    done = jail.run(["/bin/sh", "-c", script], capture_output=True, **kwargs)
    assert done.returncode == 0, done.stderr
    out: list[str] = done.stdout.decode().splitlines()
    return out


def env_of(jail: Jail, **kwargs: Any) -> dict[str, str]:
    done = jail.run(["env"], capture_output=True, **kwargs)
    assert done.returncode == 0, done.stderr
    return dict(line.split("=", 1) for line in done.stdout.decode().splitlines())


IDS = 'id -u; id -g; id -G; echo "$USER|$HOME|$SHELL"; pwd'


def test_user_of_the_jail(jail: Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JC_KEPT", "yes")
    uid, gid, groups, names, cwd = lines(jail, IDS, user="alice")
    assert (uid, gid) == ("1001", "1001")
    assert groups.split()[0] == "1001"
    assert sorted(int(g) for g in groups.split()) == [20, 44, 1001]
    assert names == "alice|/home/alice|/bin/sh"
    assert cwd == "/"  # no login: the jail's root
    # Without login the rest of the environment is ours, as with jexec -U.
    env = env_of(jail, user="alice")
    assert env["JC_KEPT"] == "yes"
    assert env["PATH"] == os.environ["PATH"]
    assert (env["USER"], env["HOME"], env["SHELL"]) == ("alice", "/home/alice", "/bin/sh")


def test_user_by_uid(jail: Jail) -> None:
    uid, gid, groups, names, _ = lines(jail, IDS, user=1002)
    assert (uid, gid) == ("1002", "1002")
    assert sorted(int(g) for g in groups.split()) == [20, 1002]
    assert names == "bob|/home/bob|/usr/local/bin/bash"


def test_user_with_empty_home_and_shell(jail: Jail) -> None:
    """As jexec: HOME is the entry's home even when empty, SHELL /bin/sh."""
    uid, gid, groups, names, _ = lines(jail, IDS, user="plain")
    assert (uid, gid, groups) == ("1003", "1003", "1003")
    assert names == "plain||/bin/sh"


def test_user_root_of_the_jail(jail: Jail) -> None:
    uid, gid, groups, names, _ = lines(jail, IDS, user="root")
    assert (uid, gid, groups) == ("0", "0", "0")
    assert names == "root|/root|/bin/sh"


def test_unknown_user(jail: Jail) -> None:
    """Looked up inside the jail after attaching, as jexec -U does: not there is
    ENOENT from getpwnam, and the program never runs."""
    for who, shown in (("carol", "carol"), ("ALICE", "ALICE"), (4242, "4242"),
                       ("1001", "1001")):
        with pytest.raises(JailNotFoundError) as info:
            jail.spawn(["/bin/sh", "-c", "true"], user=who)
        assert (info.value.errno, info.value.operation) == (errno.ENOENT, "getpwnam")
        assert info.value.errmsg == f"no such user in the jail: {shown}"
    # The host's users are not the jail's.
    assert pwd.getpwnam("nobody")
    with pytest.raises(JailNotFoundError):
        jail.spawn(["/bin/sh"], user="nobody")
    with pytest.raises(JailNotFoundError) as info:
        jail.spawn(["/bin/sh"], host_user="jc-no-such-host-user")
    assert (info.value.errno, info.value.operation) == (errno.ENOENT, "getpwnam")
    assert info.value.errmsg == "no such user on the host: jc-no-such-host-user"


def test_the_jail_databases_are_read_as_the_jail_sees_them(jail: Jail) -> None:
    """An absolute symbolic link in the jail's etc/ means a file of the jail, as
    it does for a process inside it: the host's file of that name is never read
    (a jailed root could otherwise point the lookup at any file of the host)."""
    etc = Path(jail.path) / "etc"
    (etc / "passwd.real").write_text("inside:*:1234:1234::/:/bin/sh\n")
    (etc / "passwd").unlink()
    (etc / "passwd").symlink_to("/etc/passwd.real")
    assert not Path("/etc/passwd.real").exists()
    assert lines(jail, "id -u", user="inside") == ["1234"]
    # And a link to a host file the jail does not have finds nothing there.
    (etc / "passwd").unlink()
    (etc / "passwd").symlink_to("/etc/host-only-" + os.urandom(4).hex())
    with pytest.raises(JailNotFoundError):
        jail.spawn(["/bin/sh"], user="inside")


def test_jail_without_a_user_database(tmp_path: Path) -> None:
    empty = Jail.create(path=str(tmp_path))
    with pytest.raises(JailNotFoundError) as info:
        empty.spawn(["/bin/sh"], user="alice")
    assert info.value.errno == errno.ENOENT


def test_host_user(jail: Jail) -> None:
    nobody = pwd.getpwnam("nobody")
    uid, gid, groups, names, cwd = lines(jail, IDS, host_user="nobody")
    assert (uid, gid) == (str(nobody.pw_uid), str(nobody.pw_gid))
    assert groups.split()[0] == str(nobody.pw_gid)
    assert sorted(int(g) for g in groups.split()) == sorted(
        set(os.getgrouplist("nobody", nobody.pw_gid)))
    assert names == f"nobody|{nobody.pw_dir}|{nobody.pw_shell}"
    assert cwd == "/"
    assert lines(jail, "id -u", host_user=nobody.pw_uid) == [str(nobody.pw_uid)]


def test_user_and_host_user_exclude_each_other(jail: Jail) -> None:
    with pytest.raises(ValueError):
        jail.spawn(["/bin/sh"], user="alice", host_user="nobody")


@pytest.mark.parametrize("who, error, message", [
    ("#0", ValueError, "not a user name: '#0'"),
    ("a\0b", ValueError, "embedded NUL in user 'a\\x00b'"),
    (-1, ValueError, "uid out of range: -1"),
    (2**32, ValueError, f"uid out of range: {2**32}"),
    (True, TypeError, "a user is a name or a uid, not bool"),
    (1.5, TypeError, "a user is a name or a uid, not float"),
])
def test_bad_users_are_refused_before_any_fork(jail: Jail, who: Any, error: type[Exception],
                                               message: str) -> None:
    for key in ("user", "host_user"):
        with pytest.raises(error) as info:
            jail.spawn(["/bin/sh"], **{key: who})
        assert str(info.value) == message


def test_login_environment(jail: Jail, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-jc")
    monkeypatch.setenv("JC_DROPPED", "1")
    assert env_of(jail, user="alice", login=True) == {
        "TERM": "xterm-jc",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/home/alice/bin",
        "USER": "alice",
        "HOME": "/home/alice",
        "SHELL": "/bin/sh",
    }
    monkeypatch.delenv("TERM")
    assert env_of(jail, user="alice", login=True) == {
        "PATH": ALICE_HOME_PATH, "USER": "alice", "HOME": "/home/alice", "SHELL": "/bin/sh"}


def test_login_starts_in_the_home(jail: Jail) -> None:
    assert lines(jail, "pwd; id -u", user="alice", login=True) == ["/home/alice", "1001"]
    assert lines(jail, "pwd", user="alice", login=True, cwd="/sub") == ["/sub"]
    # jexec -l changes to the home as the entry has it: an empty one is ENOENT.
    with pytest.raises(FileNotFoundError) as info:
        jail.run(["pwd"], user="plain", login=True)
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, "")


def test_login_home_missing(jail: Jail) -> None:
    """Like jexec -l: a home that is not there is an error naming it."""
    with pytest.raises(FileNotFoundError) as info:
        jail.run(["/bin/sh", "-c", "pwd"], user="root", login=True)
    assert (info.value.errno, info.value.filename) == (errno.ENOENT, "/root")
    assert "chdir" in str(info.value)


def test_login_without_a_user_is_the_real_uid_of_the_host(jail: Jail,
                                                          tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid())
    home = tmp_path / "root" / me.pw_dir.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    env = env_of(jail, login=True)
    assert env.pop("TERM", None) == os.environ.get("TERM")
    assert env == {"PATH": LOGIN_PATH.format(home=me.pw_dir), "USER": me.pw_name,
                   "HOME": me.pw_dir, "SHELL": me.pw_shell}
    assert lines(jail, "pwd", login=True) == [me.pw_dir]


def test_explicit_env_wins_over_login(jail: Jail) -> None:
    assert env_of(jail, user="alice", login=True, env={"PATH": "/usr/bin"}) == {
        "PATH": "/usr/bin"}


# ---- failing steps -------------------------------------------------------------------------


def test_setgroups_failure_is_reported(jail: Jail) -> None:
    """A group id the kernel cannot represent: setgroups(2) fails with EINVAL."""
    with pytest.raises(OSError) as info:
        jail.run(["/bin/sh", "-c", "true"], user="badgroup")
    assert type(info.value) is OSError
    assert info.value.errno == errno.EINVAL
    assert str(info.value) == "[Errno 22] setgroups: Invalid argument"


def test_setuid_failure_is_reported(jail: Jail) -> None:
    """setgroups and setgid succeed, setuid(4294967295) fails with EINVAL."""
    with pytest.raises(OSError) as info:
        jail.run(["/bin/sh", "-c", "true"], user="baduid")
    assert type(info.value) is OSError
    assert info.value.errno == errno.EINVAL
    assert str(info.value) == "[Errno 22] setuid: Invalid argument"


CAP_SETGID = 6
CAP_SETUID = 7
# Dropping one privilege of root takes Linux's capabilities (capset(2) in the C library).
needs_capset = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "capset"),
    reason="needs Linux capabilities (capset(2)) to take one privilege from root")


def drop_capability(cap: int) -> None:
    """Remove one capability from this (forked) process's effective and permitted sets."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    # Out of the bounding set too: root regains every capability of that set
    # when it executes a program (jailcore-jexec, here).
    if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    data[cap // 32].effective &= ~(1 << (cap % 32))
    data[cap // 32].permitted &= ~(1 << (cap % 32))
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


def failure_in_child(body: Any) -> dict[str, Any]:
    with Forked(body) as child:
        out = child.report()
        assert child.wait() == 0
    assert "exception" in out, out
    exc: dict[str, Any] = out["exception"]
    return exc


@needs_capset
def test_setuid_denied(jail: Jail) -> None:
    """Root without CAP_SETUID: groups and gid change, setuid fails with EPERM."""

    def body() -> None:
        drop_capability(CAP_SETUID)
        jail.run(["/bin/sh", "-c", "true"], user="alice")

    exc = failure_in_child(body)
    assert (exc["raised"], exc["errno"]) == ("PermissionError", errno.EPERM)
    assert exc["str"] == "[Errno 1] setuid: Operation not permitted"


@needs_capset
def test_setgroups_denied(jail: Jail) -> None:
    """Root without CAP_SETGID: the first identity step, setgroups, fails with EPERM."""

    def body() -> None:
        drop_capability(CAP_SETGID)
        jail.run(["/bin/sh", "-c", "true"], user="alice")

    exc = failure_in_child(body)
    assert (exc["raised"], exc["errno"]) == ("PermissionError", errno.EPERM)
    assert exc["str"] == "[Errno 1] setgroups: Operation not permitted"


def test_non_root_cannot_attach(jail: Jail) -> None:
    """An unprivileged parent cannot enter a jail: jail_attach's EPERM, as a
    JailPermissionError, before the child changes anything."""

    def body() -> None:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        jail.run(["/bin/sh", "-c", "true"])

    exc = failure_in_child(body)
    assert (exc["raised"], exc["errno"]) == ("JailPermissionError", errno.EPERM)
    assert exc["str"] == "jail_attach: Operation not permitted [EPERM]"
    assert issubclass(JailPermissionError, PermissionError)
    assert issubclass(JailPermissionError, JailError)
