"""The model's devfs rulesets on a devfs mount: the DEVFSIO_* ioctls with
FreeBSD's semantics and errnos, through jailcore.devfs and, where the ABI
matters, through jailmodel_ioctl with raw struct devfs_rule bytes; the nodes
a mount shows.  Facts: shared/spec/freebsd-jail-host.md C.2-C.4."""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from modelabi import state_offset, write_state

import jailcore.devfs as devfs
import jailcore.model
from jailcore.devfs import Rule, Ruleset
from jailcore.errors import DevfsError

DEVFSIO_RADD = 0xC0EC4400
DEVFSIO_RDEL = 0x80044401
DEVFSIO_RAPPLY = 0x80EC4402
DEVFSIO_RGETNEXT = 0xC0EC4404
DEVFSIO_SUSE = 0x8002440A
DEVFSIO_SAPPLY = 0x8002440B
DEVFSIO_SGETNEXT = 0xC002440C
DEVFS_MAGIC = 0xDB0A087A
RULE = struct.Struct("=IIii200siiIIHH")
assert RULE.size == 236

#: What ruleset 4 (devfsrules_jail) leaves visible of the model's device list.
JAIL_VISIBLE = ["crypto", "fd", "fd/0", "fd/1", "fd/2", "fuse", "null", "ptmx", "pts",
                "pts/0", "random", "stderr", "stdin", "stdout", "urandom", "zero", "zfs"]


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _abi() -> ctypes.CDLL:
    lib = ctypes.CDLL(jailcore.model.library_path(), use_errno=True)
    lib.jailmodel_ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    lib.jailmodel_ioctl.restype = ctypes.c_int
    lib.jailmodel_nmount.argtypes = [ctypes.POINTER(Iovec), ctypes.c_uint, ctypes.c_int]
    lib.jailmodel_nmount.restype = ctypes.c_int
    return lib


@pytest.fixture(scope="module")
def abi() -> ctypes.CDLL:
    return _abi()


def nmount(abi: ctypes.CDLL, path: str, ruleset: int | None) -> int:
    """mount -t devfs [-o ruleset=N] devfs path; 0 or the errno."""
    words = [b"fstype", b"devfs", b"fspath", path.encode(), b"from", b"devfs"]
    if ruleset is not None:
        words += [b"ruleset", str(ruleset).encode()]
    keep = [ctypes.create_string_buffer(w) for w in words]
    keep += [ctypes.create_string_buffer(b"errmsg"), ctypes.create_string_buffer(255)]
    iov = (Iovec * len(keep))()
    for i, b in enumerate(keep):
        iov[i].base = ctypes.cast(b, ctypes.c_void_p)
        iov[i].len = len(b.value) + 1 if i < len(keep) - 1 else 255
    ctypes.set_errno(0)
    return 0 if abi.jailmodel_nmount(iov, len(keep), 0) == 0 else ctypes.get_errno()


def mount(abi: ctypes.CDLL, where: Path, ruleset: int | None = None) -> str:
    where.mkdir()
    assert nmount(abi, str(where), ruleset) == 0
    return str(where)


@pytest.fixture
def dev(abi: ctypes.CDLL, tmp_path: Path) -> str:
    """A devfs mount without a ruleset."""
    return mount(abi, tmp_path / "dev")


@pytest.fixture
def fd(dev: str) -> Iterator[int]:
    d = os.open(dev, os.O_RDONLY | os.O_DIRECTORY)
    yield d
    os.close(d)


def raw_rule(rid: int, *, magic: int = DEVFS_MAGIC, icond: int = 0, path: bytes = b"",
             iacts: int = 0, bacts: int = 0, incset: int = 0) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(
        RULE.pack(magic, rid, icond, 0, path, iacts, bacts, 0, 0, 0, incset), RULE.size)


def ioctl(abi: ctypes.CDLL, fd: int, req: int, buf: ctypes.Array[ctypes.c_char]) -> int:
    ctypes.set_errno(0)
    return 0 if abi.jailmodel_ioctl(fd, req, buf) == 0 else ctypes.get_errno()


def u16(n: int) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(struct.pack("=H", n), 2)


def u32(n: int) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(struct.pack("=I", n), 4)


def errno_of(fn: object, *args: object) -> int:
    with pytest.raises(DevfsError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.errno is not None
    return info.value.errno


def names(dev: str) -> list[str]:
    return [n.name for n in devfs.nodes(dev)]


HIDE = Rule(0, hide=True)


# ---- the default rulesets ---------------------------------------------------------


def test_fresh_host_has_the_default_rulesets(dev: str) -> None:
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5]
    want = devfs.parse_rules(devfs.DEFAULT_RULES)
    got = [devfs.show(n, dev) for n in (1, 2, 3, 4, 5)]
    assert [list(r) for r in got] == [list(r) for r in want]


def test_load_defaults_replaces_their_rules(dev: str) -> None:
    devfs.delete(2, dev)
    devfs.delete_rule(3, 100, dev)
    devfs.load(Ruleset(1, None, (Rule(5000, path="mem", unhide=True),)), dev)
    devfs.load_defaults()
    want = devfs.parse_rules(devfs.DEFAULT_RULES)
    assert [list(devfs.show(n, dev)) for n in (1, 2, 3, 4, 5)] == [list(r) for r in want]


# ---- the nodes a mount shows ---------------------------------------------------------


def test_mount_without_ruleset_shows_everything(dev: str) -> None:
    nodes = {n.name: n for n in devfs.nodes(dev)}
    assert len(nodes) == 56
    null, kmem, ada0, pts0 = nodes["null"], nodes["kmem"], nodes["ada0"], nodes["pts/0"]
    assert stat.S_ISCHR(null.mode) and stat.S_IMODE(null.mode) == 0o666
    assert (null.uid, null.gid) == (0, 0)
    assert stat.S_IMODE(kmem.mode) == 0o640 and kmem.gid == 2
    assert stat.S_IMODE(ada0.mode) == 0o640 and ada0.gid == 5
    assert stat.S_IMODE(pts0.mode) == 0o620 and pts0.gid == 4
    assert stat.S_ISDIR(nodes["pts"].mode) and stat.S_ISLNK(nodes["stdin"].mode)


def test_mount_with_ruleset_4_shows_the_jail_list(abi: ctypes.CDLL, tmp_path: Path) -> None:
    assert names(mount(abi, tmp_path / "j4", 4)) == JAIL_VISIBLE
    assert names(mount(abi, tmp_path / "j5", 5)) == sorted([*JAIL_VISIBLE, "pf"])
    assert names(mount(abi, tmp_path / "j1", 1)) == []


def test_unloaded_ruleset_4_hides_nothing(abi: ctypes.CDLL, tmp_path: Path, dev: str) -> None:
    devfs.delete(4, dev)
    assert 4 in devfs.rulesets(dev)  # still included by ruleset 5, empty
    assert len(devfs.show(4, dev)) == 0
    assert len(names(mount(abi, tmp_path / "j", 4))) == 56


def test_mount_with_a_new_ruleset_creates_it(abi: ctypes.CDLL, tmp_path: Path, dev: str) -> None:
    where = mount(abi, tmp_path / "j", 77)
    assert 77 in devfs.rulesets(dev) and len(names(where)) == 56


def test_types_match_devices_only(dev: str) -> None:
    devfs.apply(HIDE, mount=dev)
    devfs.apply(Rule(0, types=frozenset({"disk"}), unhide=True), mount=dev)
    assert names(dev) == ["ada0", "ada0p1", "ada0p2", "cd0", "md0"]
    devfs.apply(Rule(0, types=frozenset({"tty", "mem"}), unhide=True), mount=dev)
    assert "kmem" in names(dev) and "console" in names(dev) and "pts" not in names(dev)


def test_hidden_directory_hides_its_entries(dev: str) -> None:
    devfs.apply(Rule(0, path="pts", hide=True), mount=dev)
    assert "pts" not in names(dev) and "pts/0" not in names(dev)
    devfs.apply(Rule(0, path="*", hide=True), mount=dev)  # FNM_PATHNAME: not fd/0
    devfs.apply(Rule(0, path="fd", unhide=True), mount=dev)
    assert names(dev) == ["fd", "fd/0", "fd/1", "fd/2"]


def test_owner_and_mode_actions(dev: str) -> None:
    devfs.apply(Rule(0, path="null", user=1001, group=1002, mode=0o600), mount=dev)
    null = next(n for n in devfs.nodes(dev) if n.name == "null")
    assert (null.uid, null.gid, stat.S_IMODE(null.mode)) == (1001, 1002, 0o600)
    assert stat.S_ISCHR(null.mode)


# ---- RADD -------------------------------------------------------------------------


def test_radd_autonumber_and_copyout(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    buf = raw_rule(10 << 16, iacts=1, bacts=1)
    assert ioctl(abi, fd, DEVFSIO_RADD, buf) == 0
    assert RULE.unpack(buf.raw)[1] == 10 << 16  # not the auto-number
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(10 << 16, iacts=1, bacts=2)) == 0
    assert [r.number for r in devfs.show(10, dev)] == [100, 200]
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(10 << 16 | 65500)) == 0
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(10 << 16)) == errno.ERANGE
    assert [r.number for r in devfs.show(10, dev)] == [100, 200, 65500]
    assert devfs.add(Rule(0, path="zero", hide=True), 11, dev) == 11
    assert list(devfs.show(11, dev)) == [Rule(100, path="zero", hide=True)]


def test_radd_erange_in_a_new_ruleset_leaves_nothing(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(12 << 16 | 65535)) == 0
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(12 << 16)) == errno.ERANGE
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5, 12]


def test_radd_errors(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(10 << 16, magic=1)) == devfs.ERPCMISMATCH
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(10 << 16 | 5, iacts=0x10, incset=99)) \
        == errno.ESRCH
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(5)) == errno.EIO  # no active ruleset
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(4 << 16 | 100)) == errno.EEXIST
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5]
    assert errno_of(devfs.load, Ruleset(4, None, (Rule(100, hide=True),)), dev) == errno.EEXIST
    with pytest.raises(FileExistsError):
        devfs.load(Ruleset(4, None, (Rule(100, hide=True),)), dev)


def test_radd_ruleset_0_is_the_active_one(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    devfs.use(20, dev)
    buf = raw_rule(7, iacts=1, bacts=1)
    assert ioctl(abi, fd, DEVFSIO_RADD, buf) == 0
    assert RULE.unpack(buf.raw)[1] == 20 << 16 | 7
    assert [r.number for r in devfs.show(20, dev)] == [7]


def test_radd_enospc(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    for n in range(100, 159):  # 5 default rulesets + 59 = 64
        assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(n << 16 | 1)) == 0
    assert ioctl(abi, fd, DEVFSIO_RADD, raw_rule(200 << 16 | 1)) == errno.ENOSPC
    assert errno_of(devfs.use, 201, dev) == errno.ENOSPC


# ---- RDEL, RGETNEXT, RAPPLY, RAPPLYID -------------------------------------------------


def test_rdel_reaps(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    devfs.load("[x=30]\nadd path null hide\nadd path zero hide\n", dev)
    assert 30 in devfs.rulesets(dev)
    devfs.delete_rule(30, 100, dev)
    assert 30 in devfs.rulesets(dev)
    assert ioctl(abi, fd, DEVFSIO_RDEL, u32(30 << 16 | 100)) == errno.ENOENT
    assert errno_of(devfs.delete_rule, 30, 100, dev) == errno.ENOENT
    devfs.delete(30, dev)
    assert 30 not in devfs.rulesets(dev)


def test_included_ruleset_outlives_its_rules(dev: str) -> None:
    devfs.load("[a=40]\nadd path null hide\n[b=41]\nadd include 40\n", dev)
    devfs.delete(40, dev)
    assert 40 in devfs.rulesets(dev)  # ruleset 41 includes it
    devfs.delete(41, dev)
    assert 40 not in devfs.rulesets(dev) and 41 not in devfs.rulesets(dev)


def test_rgetnext(abi: ctypes.CDLL, fd: int) -> None:
    buf = raw_rule(2 << 16 | 100)
    assert ioctl(abi, fd, DEVFSIO_RGETNEXT, buf) == 0
    magic, rid, icond, _, path, iacts, bacts, *_ = RULE.unpack(buf.raw)
    assert (magic, rid, icond, path.rstrip(b"\0"), iacts, bacts) == \
        (DEVFS_MAGIC, 2 << 16 | 200, 2, b"zero", 1, 2)
    assert ioctl(abi, fd, DEVFSIO_RGETNEXT, raw_rule(2 << 16 | 500)) == errno.ENOENT
    assert ioctl(abi, fd, DEVFSIO_RGETNEXT, raw_rule(99 << 16)) == errno.ENOENT
    assert ioctl(abi, fd, DEVFSIO_RGETNEXT, raw_rule(2 << 16, magic=0)) == devfs.ERPCMISMATCH


def test_rapply_and_rapplyid(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    assert ioctl(abi, fd, DEVFSIO_RAPPLY, raw_rule(0, iacts=0x10, incset=99)) == errno.ESRCH
    devfs.apply(100, 1, dev)  # RAPPLYID: 1's hide-all
    assert names(dev) == []
    # The rule includes 4 at depth 1: 4's own includes are not followed.
    assert ioctl(abi, fd, DEVFSIO_RAPPLY, raw_rule(0, iacts=0x10, incset=4)) == 0
    assert names(dev) == ["fuse", "zfs"]
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5]  # RAPPLY stores nothing
    assert errno_of(devfs.apply, 300, 1, dev) == errno.ENOENT


# ---- SUSE, SAPPLY, SGETNEXT ---------------------------------------------------------


def test_suse_then_sapply(dev: str) -> None:
    devfs.use(4, dev)
    assert len(names(dev)) == 56  # SUSE does not re-apply
    devfs.applyset(mount=dev)
    assert names(dev) == JAIL_VISIBLE


def test_suse_creates_and_reaps(dev: str) -> None:
    devfs.use(50, dev)
    assert 50 in devfs.rulesets(dev)
    devfs.use(51, dev)
    assert 50 not in devfs.rulesets(dev) and 51 in devfs.rulesets(dev)
    devfs.use(0, dev)
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5]


def test_sapply_errors(abi: ctypes.CDLL, fd: int, dev: str) -> None:
    assert ioctl(abi, fd, DEVFSIO_SAPPLY, u16(0)) == errno.ESRCH  # no active ruleset
    assert ioctl(abi, fd, DEVFSIO_SAPPLY, u16(60)) == errno.ESRCH
    assert errno_of(devfs.applyset, 60, dev) == errno.ESRCH
    assert ioctl(abi, fd, DEVFSIO_SAPPLY, u16(2)) == 0
    assert len(names(dev)) == 56  # only unhides


def test_sgetnext(abi: ctypes.CDLL, fd: int) -> None:
    buf = u16(3)
    assert ioctl(abi, fd, DEVFSIO_SGETNEXT, buf) == 0 and buf.raw == struct.pack("=H", 4)
    buf = u16(5)
    assert ioctl(abi, fd, DEVFSIO_SGETNEXT, buf) == errno.ENOENT
    assert buf.raw == struct.pack("=H", 5)


def test_other_request_is_enotty(abi: ctypes.CDLL, fd: int) -> None:
    assert ioctl(abi, fd, 0xC0044499, ctypes.create_string_buffer(4)) == errno.ENOTTY



# ---- a state file written by another process ----------------------------------


def _offset(field: str, entry: int | None = None, size: str = "") -> int:
    """Where a registry field is in the state file (the model's test offsets)."""
    if entry is None:
        return state_offset(field)
    table = "devfs." + field.split(".", 1)[0].removeprefix("devfs_")
    return state_offset(field, table, entry, size)


@pytest.mark.parametrize(("field", "entry", "size", "data"), [
    ("devfs.nsets", None, "", struct.pack("=i", 100000)),
    ("devfs.nrules", None, "", struct.pack("=i", -1)),
    ("devfs_set.num", 0, "sizeof.devfs_set", struct.pack("=H", 0)),
    ("devfs_set.refs", 3, "sizeof.devfs_set", struct.pack("=i", -5)),
    ("devfs_rule.set", 0, "sizeof.devfs_rule", struct.pack("=H", 999)),
    ("devfs_rule.pathptrn", 1, "sizeof.devfs_rule", b"x" * 200),
])
def test_tampered_registry_refuses_the_host(tmp_path: Path, field: str, entry: int | None,
                                            size: str, data: bytes) -> None:
    """The registry made malformed in a state file: a process mapping the
    file refuses it (the full check), with the reason."""
    from forked import in_child

    import jailcore

    path = tmp_path / "host"

    def child() -> str:
        jailcore.model.use_state_file(path)
        devfs.load_defaults()
        jailcore.model.use_state_file(None)
        write_state(path, [(_offset(field, entry, size), data)])
        with pytest.raises(jailcore.ModelHostError) as info:
            jailcore.model.use_state_file(path)
        return type(info.value).__name__

    assert in_child(child) == "ModelHostError"


def test_untampered_registry_is_accepted(tmp_path: Path) -> None:
    """The control of the test above: the same steps, the count rewritten
    with its own value, and the file is mapped again."""
    from forked import in_child

    import jailcore

    path = tmp_path / "host"

    def child() -> list[int]:
        jailcore.model.use_state_file(path)
        devfs.load_defaults()
        jailcore.model.use_state_file(None)
        write_state(path, [(_offset("devfs.nsets"), struct.pack("=i", 5))])
        jailcore.model.use_state_file(path)
        where = tmp_path / "dev"
        where.mkdir()
        assert nmount(_abi(), str(where), None) == 0
        return devfs.rulesets(str(where))

    assert in_child(child) == [1, 2, 3, 4, 5]


def test_unmount_drops_the_reference_suse_took(abi: ctypes.CDLL, tmp_path: Path,
                                                dev: str) -> None:
    from jailcore import mount as mnt

    other = mount(abi, tmp_path / "other", 60)
    assert 60 in devfs.rulesets(dev)
    devfs.use(61, other)
    assert 60 not in devfs.rulesets(dev) and 61 in devfs.rulesets(dev)
    mnt.unmount(other)
    assert devfs.rulesets(dev) == [1, 2, 3, 4, 5]


def test_nodes_of_many(abi: ctypes.CDLL, tmp_path: Path) -> None:
    """Each mount has its own nodes: applying to one leaves the others."""
    a = mount(abi, tmp_path / "a")
    b = mount(abi, tmp_path / "b", 4)
    devfs.apply(HIDE, mount=a)
    assert names(a) == [] and names(b) == JAIL_VISIBLE


def test_self_include_runs_once_more(abi: ctypes.CDLL, tmp_path: Path, dev: str) -> None:
    """A ruleset that includes itself: at depth 1 its rules run once more,
    its includes are not followed again (no loop)."""
    devfs.load("[s=70]\nadd path null hide\nadd path zero hide\n", dev)
    devfs.add(Rule(50, include=70), 70, dev)
    assert len(devfs.show(70, dev)) == 3
    shown = names(mount(abi, tmp_path / "j", 70))
    assert "null" not in shown and "zero" not in shown and len(shown) == 54


def test_load_replace_gives_the_same_rulesets_again() -> None:
    """Loading a rules file over rulesets that exist: EEXIST at the first
    taken rule, unless replace=True deletes each ruleset first, as rc.d/devfs
    does (devfs rule -s N delset) before it adds a file's rules."""
    text = "[mine=77]\nadd path 'bpf*' unhide\nadd path null hide\n"
    devfs.load(text)
    with pytest.raises(DevfsError) as info:
        devfs.load(text)
    assert info.value.errno == errno.EEXIST
    devfs.load("[mine=77]\nadd path zero unhide\n", replace=True)
    assert [str(r) for r in devfs.show(77)] == ["100 path zero unhide"]
