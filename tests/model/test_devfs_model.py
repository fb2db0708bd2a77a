"""The model's devfs rulesets without a mount: the control call that loads
FreeBSD's defaults, and the DEVFSIO_* ioctls' checks that come before the
mount is looked at (privilege, then ENOTTY for a directory that is not a
devfs mount).  Facts: shared/spec/freebsd-jail-host.md C.3, C.4.
The tests with a devfs mount are in test_devfs_mount_model.py."""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from forked import in_child, need_root

import jailcore.devfs as devfs
import jailcore.model
import jailcore.mount
from jailcore import Jail
from jailcore.errors import DevfsError

NOBODY = 65534
DEVFSIO_SUSE = 0x8002440A
DEVFSIO_SGETNEXT = 0xC002440C
DEVFSIO_OTHER = 0xC0044499  # a 'D' request devfs does not have


@pytest.fixture(scope="module")
def abi() -> ctypes.CDLL:
    lib = ctypes.CDLL(jailcore.model.library_path(), use_errno=True)
    lib.jailmodel_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    lib.jailmodel_ioctl.restype = ctypes.c_int
    lib.jailmodel_devfs_load_defaults.argtypes = []
    lib.jailmodel_devfs_load_defaults.restype = ctypes.c_int
    return lib


@pytest.fixture
def dirfd(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def ioctl(abi: ctypes.CDLL, fd: int, req: int, buf: ctypes.Array[ctypes.c_char]) -> int:
    ctypes.set_errno(0)
    return 0 if abi.jailmodel_ioctl(fd, req, buf) == 0 else ctypes.get_errno()


def test_load_defaults_again(abi: ctypes.CDLL) -> None:
    devfs.load_defaults()
    devfs.load_defaults()
    assert abi.jailmodel_devfs_load_defaults() == 0


def test_load_defaults_needs_host_superuser(abi: ctypes.CDLL) -> None:
    need_root()

    def load() -> int:
        ctypes.set_errno(0)
        return 0 if abi.jailmodel_devfs_load_defaults() == 0 else ctypes.get_errno()

    assert in_child(load, uid=NOBODY) == errno.EPERM
    j = Jail.create(name="plain", persist=True)
    assert in_child(load, attach=j.jid) == errno.EPERM


def test_not_a_devfs_mount_is_enotty(abi: ctypes.CDLL, dirfd: int) -> None:
    buf = ctypes.create_string_buffer(b"\x04\x00", 2)
    assert ioctl(abi, dirfd, DEVFSIO_SUSE, buf) == errno.ENOTTY
    assert ioctl(abi, dirfd, DEVFSIO_SGETNEXT, buf) == errno.ENOTTY
    assert ioctl(abi, dirfd, DEVFSIO_OTHER, ctypes.create_string_buffer(4)) == errno.ENOTTY


def test_not_a_devfs_mount_through_jailcore(tmp_path: Path) -> None:
    with pytest.raises(DevfsError) as info:
        devfs.rulesets(str(tmp_path))
    assert info.value.errno == errno.ENOTTY
    assert info.value.operation == "DEVFSIO_SGETNEXT"
    assert str(tmp_path) in info.value.target
    with pytest.raises(DevfsError) as info:
        devfs.use(4, str(tmp_path))
    assert info.value.errno == errno.ENOTTY and info.value.target == f"{tmp_path} ruleset 4"
    with pytest.raises(DevfsError) as info:
        devfs.nodes(str(tmp_path))
    assert info.value.errno == errno.ENOTTY


def test_descriptor_then_privilege(abi: ctypes.CDLL, tmp_path: Path) -> None:
    """DEVFSIO reaches devfs_rules_ioctl, and its PRIV_DEVFS_RULE check, only
    through a devfs directory (devfs_rioctl): elsewhere ENOTTY, whoever asks;
    on a devfs mount an unprivileged user or a jailed root gets EPERM."""
    need_root()
    devdir = tmp_path / "dev"
    devdir.mkdir()
    jailcore.mount.mount_devfs(devdir)

    def suse(where: Path) -> int:
        # Opened here: a process holding a directory descriptor cannot attach.
        fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return ioctl(abi, fd, DEVFSIO_SUSE, ctypes.create_string_buffer(b"\x04\x00", 2))
        finally:
            os.close(fd)

    # The unprivileged user inherits descriptors (the directories above
    # tmp_path are closed to it).
    plain_fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    dev_fd = os.open(devdir, os.O_RDONLY | os.O_DIRECTORY)
    buf = ctypes.create_string_buffer(b"\x04\x00", 2)
    try:
        assert in_child(lambda: ioctl(abi, plain_fd, DEVFSIO_SUSE, buf),
                        uid=NOBODY) == errno.ENOTTY
        assert in_child(lambda: ioctl(abi, dev_fd, DEVFSIO_SUSE, buf),
                        uid=NOBODY) == errno.EPERM
    finally:
        os.close(plain_fd)
        os.close(dev_fd)
    j = Jail.create(name="plain", persist=True)
    assert in_child(lambda: suse(tmp_path), attach=j.jid) == errno.ENOTTY
    assert in_child(lambda: suse(devdir), attach=j.jid) == errno.EPERM
    assert suse(tmp_path) == errno.ENOTTY
    assert suse(devdir) == 0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        devfs.use(65536)
    with pytest.raises(ValueError):
        devfs.show(0)
    with pytest.raises(TypeError):
        devfs.applyset(True)
