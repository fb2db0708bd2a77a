"""jailcore.mount's Python side: the option pairs nmount(2) receives (as mount(8)
sends them), the errors' kinds and text, and ``jailcore mount ls`` (text shaped
like ``mount`` and ``mount -p``, and --json)."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

import jailcore.mount as mnt
from jailcore.cli import main
from jailcore.errors import HostError, MountError


class Recorded:
    def __init__(self) -> None:
        self.pairs: list[tuple[str, bytes | None]] = []
        self.flags = -1


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """What mount() hands nmount (the pairs before errmsg, and the flags)."""
    rec = Recorded()
    real = mnt.nmount

    def spy(pairs: list[tuple[str, bytes | None]], flags: int = 0, **kw: Any) -> None:
        rec.pairs, rec.flags = list(pairs), flags
        real(pairs, flags, **kw)

    monkeypatch.setattr(mnt, "nmount", spy)
    return rec


def test_mount_sends_options_then_fstype_fspath_from(sent: Recorded, tmp_path: Path) -> None:
    mnt.mount("tmpfs", tmp_path, "tmpfs", size="1m", noexec=True, options={"nosuid": True})
    assert sent.pairs == [
        ("nosuid", None),
        ("size", b"1m\0"),
        ("noexec", None),
        ("fstype", b"tmpfs\0"),
        ("fspath", str(tmp_path).encode() + b"\0"),
        ("from", b"tmpfs\0"),
    ]
    # The standard options also become MNT_* flags, as mount(8) makes them.
    assert sent.flags == mnt.MNT_NOEXEC | mnt.MNT_NOSUID


def test_false_sends_the_no_form(sent: Recorded, tmp_path: Path) -> None:
    mnt.mount("tmpfs", tmp_path, "tmpfs", exec=False, nosuid=False)
    assert sent.pairs[:2] == [("noexec", None), ("suid", None)]
    assert sent.flags == mnt.MNT_NOEXEC
    assert mnt.mounts()[-1].options == ["noexec", "local"]


def test_positive_forms_are_renamed_before_the_filter(tmp_path: Path) -> None:
    """vfs_donmount turns "atime" into "nonoatime", which vfs_filteropt reads as
    "noatime": not an option of tmpfs (nor a global one), so EINVAL."""
    with pytest.raises(MountError) as info:
        mnt.mount("tmpfs", tmp_path, "tmpfs", atime=True)
    assert (info.value.errno, info.value.errmsg) == (
        errno.EINVAL, "mount option <nonoatime> is unknown")


def test_mount_devfs_is_jails_mount_devfs(sent: Recorded, tmp_path: Path) -> None:
    mnt.mount_devfs(tmp_path)
    assert sent.pairs == [("ruleset", b"4\0"), ("fstype", b"devfs\0"),
                          ("fspath", str(tmp_path).encode() + b"\0"), ("from", b".\0")]
    assert sent.flags == 0


def test_update_sets_mnt_update(sent: Recorded, tmp_path: Path) -> None:
    mnt.mount_devfs(tmp_path, ruleset=None)
    mnt.mount("devfs", tmp_path, update=True, ruleset=3)
    assert sent.flags == mnt.MNT_UPDATE


def test_error_kind_and_text(tmp_path: Path) -> None:
    with pytest.raises(MountError) as info:
        mnt.mount("devfs", tmp_path, ruleset="seven")
    e = info.value
    assert isinstance(e, HostError) and not isinstance(e, PermissionError)
    assert str(e) == f"nmount {tmp_path}: invalid ruleset specification [EINVAL]"
    with pytest.raises(FileNotFoundError) as missing:
        mnt.mount("devfs", tmp_path / "absent")
    assert isinstance(missing.value, MountError)
    assert str(missing.value) == f"nmount {tmp_path}/absent: No such file or directory [ENOENT]"
    with pytest.raises(MountError) as info:
        mnt.unmount(tmp_path)
    assert str(info.value) == f"unmount {tmp_path}: Invalid argument [EINVAL]"
    assert info.value.errno == errno.EINVAL


def test_mount_options_names() -> None:
    m = mnt.Mount("ufs", "/dev/ada0p2", "/", mnt.MNT_LOCAL | mnt.MNT_NOEXEC | mnt.MNT_RDONLY)
    assert m.options == ["noexec", "read-only", "local"]
    assert m.fstab_options == "ro,noexec"
    # mount -p writes keywords only: no "soft-updates" or "with quotas" there.
    root = mnt.Mount("ufs", "/dev/ada0p2", "/", mnt.MNT_LOCAL | mnt.MNT_SOFTDEP | mnt.MNT_SUJ
                     | mnt.MNT_QUOTA | mnt.MNT_ACLS | mnt.MNT_NOATIME)
    assert root.options == ["noatime", "soft-updates", "journaled soft-updates", "acls",
                            "local", "with quotas"]
    assert root.fstab_options == "rw,noatime,acls"


def test_cli_mount_ls(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mnt.mount_devfs(tmp_path)
    assert main(["mount", "ls"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "/dev/ada0p2 on / (ufs, local)",
        "devfs on /dev (devfs)",
        f"devfs on {tmp_path} (devfs)",
    ]
    assert main(["mount", "ls", "-p"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["/dev/ada0p2", "/", "ufs", "rw", "0", "0"]
    assert lines[2].split() == ["devfs", str(tmp_path), "devfs", "rw", "0", "0"]


def test_cli_mount_ls_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mnt.mount("tmpfs", tmp_path, "tmpfs", nosuid=True)
    assert main(["mount", "ls", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1] == {"fstype": "tmpfs", "source": "tmpfs", "fspath": str(tmp_path),
                        "flags": mnt.MNT_LOCAL | mnt.MNT_NOSUID,
                        "options": ["nosuid", "local"], "fsid": rows[-1]["fsid"]}
    assert rows[-1]["fsid"][0] > 0


# ---- the walkthrough's devfs step, and jailcore devfs --------------------------


def test_devfs_with_ruleset_4_shows_only_what_it_unhides(tmp_path: Path) -> None:
    mnt.mount_devfs(tmp_path)
    assert mnt.devices(tmp_path) == [
        "crypto", "fd", "fd/0", "fd/1", "fd/2", "fuse", "null", "ptmx", "pts", "pts/0",
        "random", "stderr", "stdin", "stdout", "urandom", "zero", "zfs"]
    # No ruleset: every device of the model's list.
    other = tmp_path / "all"
    other.mkdir()
    mnt.mount_devfs(other, ruleset=None)
    everything = mnt.devices(other)
    assert {"mem", "kmem", "ada0", "bpf0", "pf"} <= set(everything)
    assert set(mnt.devices(tmp_path)) < set(everything)


def test_cli_devfs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["devfs", "showsets"]) == 0
    assert capsys.readouterr().out.split() == ["1", "2", "3", "4", "5"]
    assert main(["devfs", "show", "-s", "4"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "100 include 1", "200 include 2", "300 include 3",
        "400 path fuse unhide", "500 path zfs unhide"]
    assert main(["devfs", "show", "-s", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[3] == {"number": 400,
                                                      "rule": "400 path fuse unhide"}
    mnt.mount_devfs(tmp_path)
    assert main(["devfs", "-m", str(tmp_path), "ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["crw-rw-rw-", "0", "0", "crypto"]
    assert [ln.split()[-1] for ln in lines][-1] == "zfs"
    assert main(["devfs", "-m", str(tmp_path), "ls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "crypto"


def test_cli_devfs_show_without_s_is_the_mounts_active_ruleset(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """As ``devfs rule show``: ruleset 0 in the request is the mount's own."""
    mnt.mount_devfs(tmp_path, ruleset=3)
    assert main(["devfs", "-m", str(tmp_path), "show"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "100 path ptyp* unhide"
    # The host's /dev has no ruleset: nothing to show.
    assert main(["devfs", "show"]) == 0
    assert capsys.readouterr().out == ""
