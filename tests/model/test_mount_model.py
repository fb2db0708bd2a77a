"""The model's mount table: nmount(2), unmount(2) and getfsstat(2) as FreeBSD's
vfs_mount.c and the file systems' mount routines decide them (spec host §C),
through jailcore.mount and, where the ABI matters, the raw call."""

from __future__ import annotations

import errno
import os
import signal
import struct
from pathlib import Path

import pytest
from forked import in_child, need_root
from modelabi import state_offset, write_state

import jailcore.model
from jailcore import Jail, MountError, devfs
from jailcore import mount as mnt
from jailcore._backend import ffi, lib

MNT_LOCAL = 0x1000
MNT_ROOTFS = 0x4000
MNT_NOEXEC = 0x4
MNT_RDONLY = 0x1
MNT_FORCE = 0x80000
MNT_BYFSID = 0x8000000


def table() -> list[tuple[str, str, str]]:
    return [(m.fstype, m.source, m.fspath) for m in mnt.mounts()]


def failure(fn: object, *args: object, **kw: object) -> MountError:
    with pytest.raises(MountError) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


@pytest.fixture
def jroot(tmp_path: Path) -> Path:
    """A jail root with dev, dev/fd and proc, as jail(8)'s mounts expect."""
    for d in ("dev/fd", "proc", "mnt"):
        (tmp_path / d).mkdir(parents=True)
    return tmp_path


def test_fresh_host_has_root_and_dev() -> None:
    rows = mnt.mounts()
    assert [(m.fstype, m.source, m.fspath) for m in rows] == [
        ("ufs", "/dev/ada0p2", "/"), ("devfs", "devfs", "/dev")]
    assert rows[0].flags == MNT_LOCAL | MNT_ROOTFS
    assert rows[0].options == ["local"]
    assert rows[1].flags == 0


def test_devfs_mount_recorded_with_its_ruleset(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev")
    rows = mnt.mounts()
    assert (rows[-1].fstype, rows[-1].source, rows[-1].fspath) == (
        "devfs", "devfs", str(jroot / "dev"))
    assert rows[-1].fsid[0] > rows[1].fsid[0]
    # Nothing is mounted on Linux: the directory is as it was.
    assert os.listdir(jroot / "dev") == ["fd"]


def test_fdescfs_procfs_tmpfs_and_their_sources(jroot: Path) -> None:
    mnt.mount("fdescfs", jroot / "dev/fd")
    mnt.mount("procfs", jroot / "proc")
    mnt.mount("tmpfs", jroot / "mnt", "tmpfs", size="1m", mode="1777", noexec=True)
    assert table()[2:] == [
        ("fdescfs", "fdescfs", str(jroot / "dev/fd")),
        ("procfs", "procfs", str(jroot / "proc")),
        ("tmpfs", "tmpfs", str(jroot / "mnt")),
    ]
    tmpfs = mnt.mounts()[-1]
    assert tmpfs.flags == MNT_LOCAL | MNT_NOEXEC
    assert tmpfs.options == ["noexec", "local"]


def test_filesystem_module_loaded_on_first_mount(jroot: Path) -> None:
    assert lib.jailmodel_kldfind(b"procfs") == -1
    mnt.mount("procfs", jroot / "proc")
    assert lib.jailmodel_kldfind(b"procfs") > 1


def test_nullfs_needs_a_target_and_not_itself(jroot: Path) -> None:
    e = failure(mnt.nmount, [("fstype", b"nullfs\0"), ("fspath", f"{jroot}/mnt\0".encode())])
    assert e.errno == errno.EINVAL
    e = failure(mnt.mount, "nullfs", jroot / "mnt", jroot / "nonexistent")
    assert e.errno == errno.ENOENT
    e = failure(mnt.mount, "nullfs", jroot / "mnt", jroot / "mnt")
    assert e.errno == errno.EDEADLK
    mnt.mount("nullfs", jroot / "mnt", jroot / "proc")
    assert table()[-1] == ("nullfs", str(jroot / "proc"), str(jroot / "mnt"))


@pytest.mark.parametrize(
    ("options", "err", "errmsg"),
    [
        ({"ruleset": "x"}, errno.EINVAL, "invalid ruleset specification"),
        ({"ruleset": "65536"}, errno.EINVAL, "invalid ruleset specification"),
        ({"ruleset": "-1"}, errno.EINVAL, "invalid ruleset specification"),
        ({"ruleset": True}, errno.EINVAL, "invalid ruleset specification"),
        ({"size": "1m"}, errno.EINVAL, "mount option <size> is unknown"),
        ({"export": True}, errno.EOPNOTSUPP, None),
    ],
)
def test_devfs_option_errors(jroot: Path, options: dict[str, object], err: int,
                             errmsg: str | None) -> None:
    e = failure(mnt.mount, "devfs", jroot / "dev", options=options)
    assert (e.errno, e.errmsg, e.operation, e.target) == (err, errmsg, "nmount",
                                                          str(jroot / "dev"))
    assert len(mnt.mounts()) == 2


def test_devfs_ruleset_scanned_as_an_integer_prefix(jroot: Path) -> None:
    """vfs_scanopt("%d") reads the number at the start of the text."""
    mnt.mount("devfs", jroot / "dev", ruleset="12abc")
    assert len(mnt.mounts()) == 3


def test_mandatory_options_and_their_errmsg(jroot: Path) -> None:
    e = failure(mnt.nmount, [("fspath", f"{jroot}/dev\0".encode()), ("from", b".\0")])
    assert (e.errno, e.errmsg) == (errno.EINVAL, "Invalid fstype")
    e = failure(mnt.nmount, [("fstype", b"devfs\0"), ("from", b".\0")])
    assert (e.errno, e.errmsg) == (errno.EINVAL, "Invalid fspath")
    e = failure(mnt.nmount, [("fstype", b"devfs"), ("fspath", f"{jroot}/dev\0".encode())])
    assert (e.errno, e.errmsg) == (errno.EINVAL, "Invalid fstype")


def test_lookup_and_type_errors(jroot: Path) -> None:
    assert failure(mnt.mount, "nosuchfs", jroot / "dev").errno == errno.ENODEV
    assert failure(mnt.mount, "devfs", jroot / "absent").errno == errno.ENOENT
    (jroot / "file").write_text("")
    assert failure(mnt.mount, "devfs", jroot / "file").errno == errno.ENOTDIR
    assert failure(mnt.mount, "a" * 16, jroot / "dev").errno == errno.ENAMETOOLONG


def test_raw_nmount_needs_an_even_count_of_at_least_four() -> None:
    iov = ffi.new("struct iovec[]", 6)
    names = [ffi.new("char[]", b"fstype"), ffi.new("char[]", b"devfs")]
    for i in range(6):
        iov[i].iov_base = names[i % 2]
        iov[i].iov_len = 7 if i % 2 == 0 else 6
    for n in (0, 2, 3, 5):
        ffi.errno = 0
        assert lib.jailmodel_nmount(iov, n, 0) == -1
        assert ffi.errno == errno.EINVAL


def test_unmount_rules(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev")
    mnt.mount("fdescfs", jroot / "dev/fd")
    # Not a mount point: EINVAL (sys_unmount cannot tell it from a missing path).
    assert failure(mnt.unmount, jroot / "proc").errno == errno.EINVAL
    assert failure(mnt.unmount, jroot / "absent").errno == errno.EINVAL
    assert failure(mnt.unmount, "/").errno == errno.EINVAL  # the root file system
    # A mount with one beneath it is busy, forced or not.
    assert failure(mnt.unmount, jroot / "dev").errno == errno.EBUSY
    assert failure(mnt.unmount, jroot / "dev", force=True).errno == errno.EBUSY
    mnt.unmount(jroot / "dev/fd")
    mnt.unmount(jroot / "dev")
    assert len(mnt.mounts()) == 2


def test_unmount_by_fsid(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev")
    fsid = mnt.mounts()[-1].fsid
    assert failure(mnt.unmount_fsid, (9999, 9)).errno == errno.ENOENT
    ret = lib.jc_unmount(lib.JC_BACKEND_MODEL, b"FSID:junk", MNT_BYFSID)
    assert ret == -errno.EINVAL
    mnt.unmount_fsid(fsid)
    assert len(mnt.mounts()) == 2


def test_stacked_mounts_unmount_the_last(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev", ruleset=4)
    mnt.mount("tmpfs", jroot / "dev")
    assert [m.fstype for m in mnt.mounts()[2:]] == ["devfs", "tmpfs"]
    mnt.unmount(jroot / "dev")
    assert [m.fstype for m in mnt.mounts()[2:]] == ["devfs"]


def test_update_of_a_path_that_is_not_a_mount(jroot: Path) -> None:
    e = failure(mnt.mount, "devfs", jroot / "dev", update=True, ruleset=4)
    assert e.errno == errno.EINVAL


def test_unprivileged_user_cannot_mount_or_unmount(jroot: Path) -> None:
    need_root()
    mnt.mount_devfs(jroot / "dev")
    jroot.chmod(0o755)

    def attempt() -> tuple[int, int, tuple[int, int]]:
        a = failure(mnt.mount, "devfs", jroot / "proc").errno
        b = failure(mnt.unmount, jroot / "dev").errno
        return a, b, mnt.mounts()[-1].fsid

    # The file system id is hidden from the unprivileged (kern_getfsstat).
    assert in_child(attempt, uid=65534) == (errno.EPERM, errno.EPERM, (0, 0))


# ---- from inside a jail ------------------------------------------------------


def _jail(root: Path, **params: object) -> Jail:
    return Jail.create(name="j", path=str(root), persist=True, **params)


def test_jailed_mount_needs_allow_mount_and_enforce_statfs_below_2(jroot: Path) -> None:
    need_root()
    j = _jail(jroot)  # allow.mount off, enforce_statfs 2
    assert in_child(lambda: failure(mnt.mount_devfs, "/dev").errno, attach=j.jid) == errno.EPERM
    j.update(allow__mount=True)
    assert in_child(lambda: failure(mnt.mount_devfs, "/dev").errno, attach=j.jid) == errno.EPERM
    j.update(enforce_statfs=1)
    # allow.mount.devfs is still off.
    assert in_child(lambda: failure(mnt.mount_devfs, "/dev").errno, attach=j.jid) == errno.EPERM
    j.update(allow__mount__devfs=True)
    in_child(lambda: mnt.mount_devfs("/dev", ruleset=None), attach=j.jid)
    assert table()[-1] == ("devfs", "devfs", str(jroot / "dev"))


def test_jailed_devfs_gets_the_jails_ruleset(jroot: Path) -> None:
    need_root()
    j = _jail(jroot, allow__mount=True, allow__mount__devfs=True, enforce_statfs=1,
              devfs_ruleset=5)
    e = in_child(lambda: failure(mnt.mount_devfs, "/dev", ruleset=4).errno, attach=j.jid)
    assert e == errno.EPERM
    in_child(lambda: mnt.mount_devfs("/dev", ruleset=5), attach=j.jid)
    in_child(lambda: mnt.mount_devfs("/proc", ruleset=None), attach=j.jid)
    assert table()[-2:] == [("devfs", "devfs", str(jroot / "dev")),
                            ("devfs", "devfs", str(jroot / "proc"))]


def test_jailed_module_not_loaded_is_enodev(jroot: Path) -> None:
    need_root()
    j = _jail(jroot, allow__mount=True, enforce_statfs=1)
    assert in_child(lambda: failure(mnt.mount, "procfs", "/proc").errno,
                    attach=j.jid) == errno.ENODEV
    assert lib.jailmodel_kldfind(b"procfs") == -1


def test_getfsstat_in_a_jail_follows_enforce_statfs(jroot: Path) -> None:
    need_root()
    mnt.mount_devfs(jroot / "dev")
    mnt.mount("procfs", jroot / "proc")
    j = _jail(jroot, enforce_statfs=2)

    def seen() -> list[tuple[str, str]]:
        return [(m.fstype, m.fspath) for m in mnt.mounts()]

    # 2: only the mount holding the jail's root, shown as "/".
    assert in_child(seen, attach=j.jid) == [("ufs", "/")]
    j.update(enforce_statfs=1)
    assert in_child(seen, attach=j.jid) == [("ufs", "/"), ("devfs", "/dev"), ("procfs", "/proc")]
    j.update(enforce_statfs=0)
    assert in_child(seen, attach=j.jid) == [
        ("ufs", "/"), ("devfs", "/dev"), ("devfs", str(jroot / "dev")),
        ("procfs", str(jroot / "proc"))]


def test_jail_cannot_unmount_what_the_host_mounted(jroot: Path) -> None:
    need_root()
    mnt.mount_devfs(jroot / "dev")
    j = _jail(jroot, allow__mount=True, allow__mount__devfs=True, enforce_statfs=1)
    assert in_child(lambda: failure(mnt.unmount, "/dev").errno, attach=j.jid) == errno.EPERM
    in_child(lambda: mnt.mount("devfs", "/proc"), attach=j.jid)
    in_child(lambda: mnt.unmount("/proc"), attach=j.jid)
    assert table()[-1] == ("devfs", "devfs", str(jroot / "dev"))


def test_mounts_outlive_the_jail_that_made_them(jroot: Path) -> None:
    need_root()
    j = _jail(jroot, allow__mount=True, allow__mount__devfs=True, enforce_statfs=1)
    in_child(lambda: mnt.mount_devfs("/dev", ruleset=None), attach=j.jid)
    j.remove()
    assert table()[-1] == ("devfs", "devfs", str(jroot / "dev"))
    mnt.unmount(jroot / "dev")
    assert len(mnt.mounts()) == 2


def test_reset_forgets_mounts(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev")
    jailcore.model.reset()
    assert len(mnt.mounts()) == 2


# ---- a state file written by another process ----------------------------------


@pytest.mark.parametrize(("field", "entry", "data"), [
    ("mnt.n", None, struct.pack("=I", 100000)),
    ("mount.fstype", 2, b"x" * 16),
    ("mount.fspath", 2, b"relative\0"),
    ("mount.from", 2, b"y" * 1024),
    ("mount.ruleset", 2, struct.pack("=i", 70000)),
    ("mount.prison", 2, struct.pack("=i", -3)),
])
def test_tampered_mount_table_refuses_the_host(tmp_path: Path, field: str, entry: int | None,
                                               data: bytes) -> None:
    """A mount entry (or the count) made malformed between two calls: the next
    call that reads it fails with EINVAL and the host is refused from then on."""
    need_root()
    path = tmp_path / "host"
    (tmp_path / "dev").mkdir()

    def child() -> tuple[int, int]:
        jailcore.model.use_state_file(path)
        mnt.mount_devfs(tmp_path / "dev")
        if entry is None:
            where = state_offset(field)
        else:
            where = state_offset(field, "mnt.m", entry, "sizeof.mount")
        write_state(path, [(where, data)])
        with pytest.raises(jailcore.ModelHostError) as first_exc:
            mnt.mounts()
        first = first_exc.value.errno
        with pytest.raises(jailcore.ModelHostError) as exc:
            jailcore.model.reset()
        return first, exc.value.errno

    assert in_child(child) == (errno.EINVAL, errno.EINVAL)


# ---- a process killed in the middle of a change -----------------------------------


def _killed_at(point: int, fn: object, *args: object) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            lib.jailmodel_test_crash_at(point)
            fn(*args)  # type: ignore[operator]
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return status


def test_killed_mid_nmount_rolls_back(jroot: Path) -> None:
    """SIGKILL with the new mount in the table and procfs loaded for it: the
    next locker puts the host back as it was before the call."""
    status = _killed_at(3, mnt.mount, "procfs", jroot / "proc")
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert len(mnt.mounts()) == 2
    assert lib.jailmodel_kldfind(b"procfs") == -1
    mnt.mount("procfs", jroot / "proc")
    assert table()[-1] == ("procfs", "procfs", str(jroot / "proc"))


def test_killed_mid_unmount_rolls_back(jroot: Path) -> None:
    mnt.mount_devfs(jroot / "dev")
    mnt.mount("procfs", jroot / "proc")
    before = table()
    status = _killed_at(4, mnt.unmount, jroot / "dev")
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert table() == before
    # The ruleset reference the unmount dropped is back: ruleset 4 is whole.
    assert [r.number for r in devfs.show(4)] == [100, 200, 300, 400, 500]
