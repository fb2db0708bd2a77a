"""Mounts against a real FreeBSD kernel, as root: jail(8)'s mount.devfs step on
a scratch directory (ruleset 4, as rc.d/devfs loads it at boot), read back
with getfsstat(2), the errors whose errno and errmsg the model gives, and the
unmount.  Skipped (visibly) elsewhere; tests/model/test_mount_model.py runs the
same steps on the model."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator

import pytest

import jailcore.devfs as devfs
import jailcore.mount as mnt
from jailcore import MountError, _backend

pytestmark = pytest.mark.kernel


@pytest.fixture
def scratch() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="jailcore-mount-") as d:
        path = os.path.realpath(d)
        yield path
        while any(m.fspath == path for m in mnt.mounts()):
            mnt.unmount(path)


def test_backend_is_the_kernel() -> None:
    assert _backend.NAME == "kernel"


def test_devfs_with_ruleset_4_and_back(scratch: str) -> None:
    if 4 not in devfs.rulesets():
        pytest.skip("ruleset 4 is not loaded (devfs_load_rulesets=NO): nothing to hide with")
    mnt.mount_devfs(scratch)
    row = [m for m in mnt.mounts() if m.fspath == scratch]
    assert [(m.fstype, m.source) for m in row] == [("devfs", "devfs")]
    # Ruleset 4 (devfsrules_jail) leaves null and zero visible, hides mem.
    names = set(os.listdir(scratch))
    assert {"null", "zero", "random"} <= names
    assert "mem" not in names
    mnt.unmount(scratch)
    assert not [m for m in mnt.mounts() if m.fspath == scratch]


@pytest.mark.parametrize(
    ("options", "err", "errmsg"),
    [
        ({"ruleset": "x"}, errno.EINVAL, "invalid ruleset specification"),
        ({"ruleset": "65536"}, errno.EINVAL, "invalid ruleset specification"),
        ({"size": "1m"}, errno.EINVAL, "mount option <size> is unknown"),
    ],
)
def test_devfs_option_errors(scratch: str, options: dict[str, object], err: int,
                             errmsg: str) -> None:
    with pytest.raises(MountError) as info:
        mnt.mount("devfs", scratch, options=options)
    assert (info.value.errno, info.value.errmsg) == (err, errmsg)


def test_unmount_of_a_directory_that_is_no_mount_point(scratch: str) -> None:
    with pytest.raises(MountError) as info:
        mnt.unmount(scratch)
    assert info.value.errno == errno.EINVAL
