"""Mounts, as mount(8) and umount(8) make them: nmount(2), unmount(2), getfsstat(2).

jail(8) mounts a jail's file systems with mount(8) (``mount.devfs``,
``mount.fdescfs``, ``mount.procfs``, ``mount``, ``mount.fstab``); for devfs,
fdescfs, procfs and tmpfs mount(8) calls nmount(2) itself, with one option
pair per ``-o`` option, then ``fstype``, ``fspath``, ``from`` and a 255-byte
``errmsg`` buffer.  This module makes the same calls in-process:

>>> from jailcore import mount
>>> mount.mount_devfs("/jails/web/dev")           # doctest: +SKIP
>>> [m.fspath for m in mount.mounts()]            # doctest: +SKIP
['/', '/dev', '/jails/web/dev']

On the kernel model (Linux) the mounts are recorded by the model and nothing
is mounted for real: the directory stays as it was (see :doc:`/mount`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jailcore import _backend
from jailcore._backend import BACKEND, ffi, lib
from jailcore.errors import MountError, host_error

__all__ = [
    "MNT_FLAGS",
    "MNT_KEYWORDS",
    "Mount",
    "devices",
    "mount",
    "mount_devfs",
    "mounts",
    "unmount",
]

# sys/mount.h
MNT_RDONLY = 0x1
MNT_SYNCHRONOUS = 0x2
MNT_NOEXEC = 0x4
MNT_NOSUID = 0x8
MNT_UNION = 0x20
MNT_ASYNC = 0x40
MNT_LOCAL = 0x1000
MNT_QUOTA = 0x2000
MNT_ROOTFS = 0x4000
MNT_USER = 0x8000
MNT_UPDATE = 0x10000
MNT_FORCE = 0x80000
MNT_SUIDDIR = 0x100000
MNT_SOFTDEP = 0x200000
MNT_NOSYMFOLLOW = 0x400000
MNT_MULTILABEL = 0x4000000
MNT_ACLS = 0x8000000
MNT_NOATIME = 0x10000000
MNT_NOCLUSTERR = 0x40000000
MNT_NOCLUSTERW = 0x80000000
MNT_SUJ = 0x100000000
MNT_AUTOMOUNTED = 0x200000000

#: The flags mount(8) prints, in its order, with its names (sbin/mount/mount.c,
#: optnames[]).
MNT_FLAGS: tuple[tuple[int, str], ...] = (
    (MNT_ASYNC, "asynchronous"),
    (MNT_NOEXEC, "noexec"),
    (MNT_NOSUID, "nosuid"),
    (MNT_RDONLY, "read-only"),
    (MNT_SYNCHRONOUS, "synchronous"),
    (MNT_UNION, "union"),
    (MNT_NOATIME, "noatime"),
    (MNT_NOCLUSTERR, "noclusterr"),
    (MNT_NOCLUSTERW, "noclusterw"),
    (MNT_NOSYMFOLLOW, "nosymfollow"),
    (MNT_SUIDDIR, "suiddir"),
    (MNT_SOFTDEP, "soft-updates"),
    (MNT_SUJ, "journaled soft-updates"),
    (MNT_MULTILABEL, "multilabel"),
    (MNT_ACLS, "acls"),
    (MNT_AUTOMOUNTED, "automounted"),
    (MNT_LOCAL, "local"),
    (MNT_QUOTA, "with quotas"),
    (MNT_USER, "mounted by user"),
)

#: The flags as mount options, in the order ``mount -p`` writes them
#: (sbin/mount/mount.c, flags2opts): the keywords fstab(5) takes.
MNT_KEYWORDS: tuple[tuple[int, str], ...] = (
    (MNT_SYNCHRONOUS, "sync"),
    (MNT_NOEXEC, "noexec"),
    (MNT_NOSUID, "nosuid"),
    (MNT_UNION, "union"),
    (MNT_ASYNC, "async"),
    (MNT_NOATIME, "noatime"),
    (MNT_NOCLUSTERR, "noclusterr"),
    (MNT_NOCLUSTERW, "noclusterw"),
    (MNT_NOSYMFOLLOW, "nosymfollow"),
    (MNT_SUIDDIR, "suiddir"),
    (MNT_MULTILABEL, "multilabel"),
    (MNT_ACLS, "acls"),
)

# The standard options mount(8) also turns into MNT_* flags (MOPT_STDOPTS of
# sbin/mount/mntopts.h): name -> (flag, set it?).
_STD_OPTIONS: dict[str, tuple[int, bool]] = {
    "ro": (MNT_RDONLY, True),
    "rdonly": (MNT_RDONLY, True),
    "rw": (MNT_RDONLY, False),
    "noexec": (MNT_NOEXEC, True),
    "nosuid": (MNT_NOSUID, True),
    "sync": (MNT_SYNCHRONOUS, True),
    "async": (MNT_ASYNC, True),
    "noatime": (MNT_NOATIME, True),
    "union": (MNT_UNION, True),
    "nosymfollow": (MNT_NOSYMFOLLOW, True),
    "noclusterr": (MNT_NOCLUSTERR, True),
    "noclusterw": (MNT_NOCLUSTERW, True),
    "suiddir": (MNT_SUIDDIR, True),
}
_ERRMSG_LEN = 255  # mount(8)'s buffer
_MNT_BYFSID = 0x8000000


@dataclass(frozen=True)
class Mount:
    """One mounted file system, as getfsstat(2) reports it: ``fstype``
    (f_fstypename), ``source`` (f_mntfromname), ``fspath`` (f_mntonname, as
    the caller may see it: relative to its jail's root, or "[restricted]"),
    ``flags`` (the MNT_* word) and ``fsid`` (0, 0 for an unprivileged caller)."""

    fstype: str
    source: str
    fspath: str
    flags: int
    fsid: tuple[int, int] = (0, 0)

    @property
    def options(self) -> list[str]:
        """The flags as mount(8) names them, in its order."""
        return [name for bit, name in MNT_FLAGS if self.flags & bit]

    @property
    def fstab_options(self) -> str:
        """The flags as an fstab(5) options field, as ``mount -p`` writes
        it: ``rw`` or ``ro``, then the keywords of :data:`MNT_KEYWORDS`."""
        words = ["ro" if self.flags & MNT_RDONLY else "rw"]
        words += [word for bit, word in MNT_KEYWORDS if self.flags & bit]
        return ",".join(words)

    def to_json(self) -> dict[str, Any]:
        """A dict of plain values, for ``jailcore mount ls --json``."""
        return {
            "fstype": self.fstype,
            "source": self.source,
            "fspath": self.fspath,
            "flags": self.flags,
            "options": self.options,
            "fsid": list(self.fsid),
        }


def _text(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return os.fsencode(os.fspath(value) if isinstance(value, os.PathLike) else str(value))


def _error(err: int, operation: str, target: str, errmsg: bytes = b"") -> MountError:
    """The MountError of a failed call; on the model, a ModelHostError
    instead when the failure is the model's host being unusable."""
    if BACKEND == _backend.BACKEND_MODEL:
        _backend.check_model_host(err)
    text = errmsg.split(b"\0", 1)[0].decode("utf-8", "replace") or None
    exc = host_error(MountError, err, operation, target, text)
    assert isinstance(exc, MountError)
    return exc


def nmount(pairs: list[tuple[str, bytes | None]], flags: int = 0, *, target: str = "") -> None:
    """nmount(2) with these option pairs (a value of ``None`` is a flag
    option, sent with no value) and an ``errmsg`` buffer after them.
    Raises :class:`~jailcore.MountError` with the kernel's errmsg."""
    parts: list[bytes] = []
    lens: list[int] = []
    for name, value in [*pairs, ("errmsg", bytes(_ERRMSG_LEN))]:
        key = name.encode() + b"\0"
        parts += (key, value or b"")
        lens += (len(key), len(value or b""))
    blob = ffi.new("char[]", b"".join(parts))
    n = len(lens)
    iov = ffi.new("struct iovec[]", n)
    lib.jc_iov_pack(iov, n, blob, ffi.new("size_t[]", lens))
    ret = lib.jc_nmount(BACKEND, iov, n, flags)
    if ret < 0:
        errmsg = ffi.unpack(ffi.cast("char *", iov[n - 1].iov_base), _ERRMSG_LEN)
        raise _error(-ret, "nmount", target, errmsg)


def mount(
    fstype: str,
    fspath: str | os.PathLike[str],
    source: str | os.PathLike[str] | None = None,
    *,
    update: bool = False,
    options: Mapping[str, object] | None = None,
    **more: object,
) -> None:
    """Mount a file system as ``mount -t FSTYPE [-o OPTIONS] SOURCE FSPATH``.

    Options come as keywords or in ``options`` (for names that are not
    Python identifiers): ``True`` sends a flag option (``noexec=True`` is
    ``-o noexec``), ``False`` its ``no`` form, anything else ``name=value``.
    The standard ones (ro, noexec, nosuid, sync, noatime, ...) also set their
    MNT_* flag, as mount(8) does.  ``source`` is ``from`` (nullfs: the
    directory to mount; devfs, fdescfs, procfs ignore it, mount(8) passes
    ``.``).  ``update=True`` changes a mounted file system (MNT_UPDATE), as
    ``mount -u``: for devfs, a ``ruleset`` option is set and applied.
    Raises :class:`~jailcore.MountError`: errno, the kernel's errmsg and the
    mount point.
    """
    flags = MNT_UPDATE if update else 0
    pairs: list[tuple[str, bytes | None]] = []
    for name, value in {**(options or {}), **more}.items():
        if value is True or value is None:
            pairs.append((name, None))
            key = name
        elif value is False:
            key = name[2:] if name.startswith("no") else "no" + name
            pairs.append((key, None))
        else:
            pairs.append((name, _text(value) + b"\0"))
            key = ""
        if key in _STD_OPTIONS:
            bit, on = _STD_OPTIONS[key]
            flags = flags | bit if on else flags & ~bit
    path = os.fsdecode(_text(fspath))
    pairs += [
        ("fstype", _text(fstype) + b"\0"),
        ("fspath", _text(fspath) + b"\0"),
        ("from", _text("." if source is None else source) + b"\0"),
    ]
    nmount(pairs, flags, target=path)


def mount_devfs(path: str | os.PathLike[str], ruleset: int | None = 4) -> None:
    """Mount devfs on ``path`` with ``ruleset`` (default 4, devfsrules_jail),
    as jail(8)'s ``mount.devfs`` does: ``mount -t devfs -oruleset=4 . PATH``.
    ``ruleset=None`` mounts it with none.  Ruleset 4 hides what a jail must
    not see only once FreeBSD's default rulesets are loaded (rc.d/devfs at
    boot; see :mod:`jailcore.devfs`): a ruleset that does not exist is made,
    empty, and hides nothing."""
    if ruleset is None:
        mount("devfs", path)
    else:
        mount("devfs", path, ruleset=int(ruleset))


def unmount(fspath: str | os.PathLike[str], force: bool = False) -> None:
    """Unmount the file system mounted on ``fspath`` (the last one mounted
    there), as umount(8); ``force`` is MNT_FORCE (``umount -f``).  Raises
    :class:`~jailcore.MountError`: EINVAL when nothing is mounted there."""
    path = _text(fspath)
    ret = lib.jc_unmount(BACKEND, path, MNT_FORCE if force else 0)
    if ret < 0:
        raise _error(-ret, "unmount", os.fsdecode(path))


def unmount_fsid(fsid: tuple[int, int], force: bool = False) -> None:
    """Unmount by file system id (MNT_BYFSID, ``FSID:V0:V1``), as umount(8)
    tries first.  ENOENT when no mount has that id."""
    text = f"FSID:{int(fsid[0])}:{int(fsid[1])}"
    ret = lib.jc_unmount(BACKEND, text.encode(), _MNT_BYFSID | (MNT_FORCE if force else 0))
    if ret < 0:
        raise _error(-ret, "unmount", text)


def mounts() -> list[Mount]:
    """The mounted file systems the caller may see, in mount order
    (getfsstat(2) with MNT_NOWAIT, as ``mount -p`` lists them).  In a jail,
    ``enforce_statfs`` decides which: 0 all, 1 those below the jail's root
    (shown relative to it), 2 only the one holding its root (shown as "/")."""
    size = 16
    while True:
        rows = ffi.new("struct jc_mount_row[]", size)
        n = lib.jc_getfsstat(BACKEND, rows, size)
        if n < 0:
            raise _error(-n, "getfsstat", "")
        if n <= size:
            return [
                Mount(
                    ffi.string(r.fstype).decode("utf-8", "replace"),
                    os.fsdecode(ffi.string(getattr(r, "from"))),
                    os.fsdecode(ffi.string(r.on)),
                    int(r.flags),
                    (int(r.fsid[0]), int(r.fsid[1])),
                )
                for r in rows[0:n]
            ]
        size = n + 8


def devices(path: str | os.PathLike[str]) -> list[str]:
    """What a devfs mount at ``path`` shows, as ``find PATH`` would list it
    below the mount point (``"null"``, ``"pts/0"``): the devices its
    ruleset left visible.  On FreeBSD the directory is listed; on the model,
    which mounts nothing on Linux, the model's computed nodes are read
    (:func:`jailcore.devfs.nodes`)."""
    top = os.fsdecode(_text(path))
    if BACKEND == _backend.BACKEND_MODEL:
        from jailcore import devfs

        return [n.name for n in devfs.nodes(top)]
    found: list[str] = []
    for where, dirs, files in os.walk(top):
        rel = os.path.relpath(where, top)
        for name in sorted(dirs) + sorted(files):
            found.append(name if rel == "." else f"{rel}/{name}")
        dirs.sort()
    return found
